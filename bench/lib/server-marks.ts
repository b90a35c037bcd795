// server-marks.ts: wall-clock marks of one Start inside the bench's server process (BOXLAB_BENCH_MARKS=1), to set
// beside the page's own marks: POST in/out, manager.create, the upgrade, the socket handed over, hello, running, the
// first output frame. Wraps library prototypes in the bench child only; the server's code is not changed for it.
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import type { SessionManager } from '../../server/sessions/manager.ts';

/** Epoch milliseconds with sub-millisecond resolution (the page reports performance.timeOrigin + now the same way). */
const now = (): number => performance.timeOrigin + performance.now();
let marks: Record<string, number> = {};
const mark = (k: string): void => {
  if (!(k in marks)) marks[k] = now();
};

export function takeMarks(): Record<string, number> {
  const m = marks;
  marks = {};
  return m;
}

export function installServerMarks(manager: SessionManager): void {
  diagnostics.subscribe('http.server.request.start', (msg) => {
    const { request, response } = msg as { request: IncomingMessage; response: ServerResponse };
    if (request.method !== 'POST' || !/^\/api\/(session|join)/.test(request.url ?? '')) return;
    mark('srvPostIn');
    response.once('finish', () => mark('srvPostOut'));
  });
  const create = manager.create.bind(manager);
  manager.create = (...a: Parameters<SessionManager['create']>) => {
    mark('srvCreate0');
    const r = create(...a);
    mark('srvCreate1');
    return r;
  };
  const attach = manager.attach.bind(manager);
  manager.attach = (...a: Parameters<SessionManager['attach']>) => {
    mark('srvAttach');
    return attach(...a);
  };
  const upgrade = WebSocketServer.prototype.handleUpgrade;
  WebSocketServer.prototype.handleUpgrade = function (this: WebSocketServer, ...a: Parameters<WebSocketServer['handleUpgrade']>) {
    mark('srvUpgradeIn');
    return upgrade.apply(this, a);
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    if (typeof data === 'string') {
      if (data.startsWith('{"type":"hello"')) mark('srvHello');
      else if (data.startsWith('{"type":"state","state":"running"')) mark('srvRunning');
    } else mark('srvFirstBin');
    return (send as (...x: unknown[]) => void).call(this, data, ...rest);
  } as typeof WebSocket.prototype.send;
}
