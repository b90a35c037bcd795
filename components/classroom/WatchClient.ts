// A read-only watch socket (spectate a learner, or follow the instructor's broadcast): snapshot, then live output and events.
import { WATCH_PATH } from '../../server/protocol/lessons';
import { parseServerMessage, type ServerMessage } from '../../server/protocol/messages';
import type { SandboxStats, StageEvent } from '../../server/protocol/box';

export interface WatchSink {
  write(data: Uint8Array | string): void;
  reset(): void;
  resize(rows: number, cols: number): void;
}

export interface WatchView {
  status: 'connecting' | 'live' | 'closed';
  sessionId: string | null;
  name: string;
  kind: 'spectate' | 'broadcast' | null;
  state: string;
  stages: readonly StageEvent[];
  stats: SandboxStats | null;
  closed: { code: number; reason: string } | null;
}

const INITIAL: WatchView = {
  status: 'connecting',
  sessionId: null,
  name: '',
  kind: null,
  state: 'creating',
  stages: [],
  stats: null,
  closed: null,
};

export class WatchClient {
  private view: WatchView = INITIAL;
  private ws: WebSocket | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly control = new Set<(m: ServerMessage) => void>();
  private disposed = false;
  private retries = 0;

  /** protocols: ['boxlab.v1', 'boxlab.instructor.<token>'] or ['boxlab.v1', 'boxlab.token.<session token>']. */
  constructor(
    private readonly sink: WatchSink,
    private readonly protocols: string[],
    private readonly query = '',
  ) {
    this.connect();
  }

  getView = (): WatchView => this.view;
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  /** Every control message (the x-ray panel reads the learner's x-ray through this). */
  onControl(fn: (m: ServerMessage) => void): () => void {
    this.control.add(fn);
    return () => this.control.delete(fn);
  }

  dispose(): void {
    this.disposed = true;
    this.ws?.close(1000);
    this.ws = null;
    this.listeners.clear();
    this.control.clear();
  }

  private connect(): void {
    const url = `${window.location.origin.replace(/^http/, 'ws')}${WATCH_PATH}${this.query ? `?${this.query}` : ''}`;
    const ws = new WebSocket(url, this.protocols);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      if (typeof ev.data !== 'string') return this.sink.write(new Uint8Array(ev.data as ArrayBuffer));
      const r = parseServerMessage(ev.data);
      if (r.ok) this.handle(r.msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.disposed) return;
      this.ws = null;
      // 1013: this viewer fell behind a flood and was dropped; 1006: the network. A fresh snapshot puts it right.
      if ((ev.code === 1013 || ev.code === 1006) && this.retries++ < 5 && this.view.status === 'live') {
        this.update({ status: 'connecting' });
        setTimeout(() => !this.disposed && this.connect(), 500 * this.retries);
        return;
      }
      this.update({ status: 'closed', closed: { code: ev.code, reason: ev.reason || (ev.code === 1006 ? 'refused or lost' : '') } });
    };
  }

  private handle(m: ServerMessage): void {
    switch (m.type) {
      case 'watch':
        this.retries = 0;
        this.update({ status: 'live', sessionId: m.sessionId, name: m.name, kind: m.kind, state: m.state, stages: [] });
        break;
      case 'snapshot':
        this.sink.reset();
        this.sink.resize(m.rows, m.cols);
        this.sink.write(m.data);
        break;
      case 'viewport':
        this.sink.resize(m.rows, m.cols);
        break;
      case 'stage':
        this.update({ stages: m.event.stage === 'prepare_state' ? [m.event] : [...this.view.stages, m.event] });
        break;
      case 'state':
        this.update({ state: m.state });
        break;
      case 'exit':
        this.update({ state: 'exited' });
        break;
      case 'stats':
        this.update({ stats: m.stats });
        break;
    }
    for (const fn of this.control) fn(m);
  }

  private update(patch: Partial<WatchView>): void {
    if (this.disposed) return;
    this.view = { ...this.view, ...patch };
    for (const fn of this.listeners) fn();
  }
}
