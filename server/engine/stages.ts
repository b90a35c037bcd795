// stages.ts: times each stage and turns it into a StageEvent (and a failure into a SandboxError naming stage and call).
import type { ChildEvent } from './syscalls.ts';
import { errnoName, SyscallError } from '../../native-bindings/errors.ts';
import { SandboxError, STAGES, type NamespaceKind, type StageEvent, type StageName } from './types.ts';

export const errnoCode = errnoName;

interface OuterExtra {
  detail?: string;
  namespaces?: Partial<Record<NamespaceKind, number>>;
  hostPidOverride?: number;
  boxPid?: number;
}

export class StageClock {
  readonly events: StageEvent[] = [];
  private readonly t0 = process.hrtime.bigint();
  constructor(private readonly emit: (e: StageEvent) => void) {}

  /** ms since creation began, from a CLOCK_MONOTONIC ns value (process.hrtime's clock, and the C helper's). */
  ms(ns: bigint): number {
    return Number(ns - this.t0) / 1e6;
  }

  private push(e: StageEvent): void {
    this.events.push(e);
    this.emit(e);
  }

  async outer<T>(stage: StageName, inject: boolean, fn: () => T | Promise<T>, extra?: (r: T) => OuterExtra): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      if (inject) throw new SandboxError(stage, new SyscallError('injected', 1), `${stage}: fault injected by test`);
      const r = await fn();
      const x = extra?.(r) ?? {};
      this.push({
        type: 'stage',
        stage,
        role: 'outer',
        hostPid: x.hostPidOverride ?? process.pid,
        boxPid: x.boxPid ?? null,
        t: this.ms(start),
        durationMs: this.ms(process.hrtime.bigint()) - this.ms(start),
        ok: true,
        ...(x.namespaces ? { namespaces: x.namespaces } : {}),
        ...(x.detail ? { detail: x.detail } : {}),
      });
      return r;
    } catch (err) {
      const se = toSandboxError(stage, err);
      this.push({
        type: 'stage',
        stage,
        role: 'outer',
        hostPid: process.pid,
        boxPid: null,
        t: this.ms(start),
        durationMs: this.ms(process.hrtime.bigint()) - this.ms(start),
        ok: false,
        error: se.info,
      });
      throw se;
    }
  }

  /** An event reported by the namespaced parent or the inner child over the status pipe. */
  child(e: ChildEvent, initPid: number | null, namespaces?: Partial<Record<NamespaceKind, number>>): StageEvent {
    const stage = (STAGES[e.stage] ?? 'exec') as StageName;
    const inner = e.role === 'inner_child';
    const ev: StageEvent = {
      type: 'stage',
      stage,
      role: e.role,
      hostPid: inner ? initPid : e.pid,
      boxPid: inner ? e.pid : null,
      t: this.ms(e.tStart),
      durationMs: Number(e.tEnd - e.tStart) / 1e6,
      ok: e.ok,
      ...(namespaces && Object.keys(namespaces).length ? { namespaces } : {}),
      ...(e.ok && e.detail ? { detail: e.detail } : {}),
      ...(e.ok ? {} : { error: this.childError(e).info }),
    };
    this.push(ev);
    return ev;
  }

  childError(e: ChildEvent): SandboxError {
    const stage = (STAGES[e.stage] ?? 'exec') as StageName;
    const code = errnoCode(e.errno);
    const injected = e.syscall === 'injected';
    const path = injected ? undefined : e.detail || undefined;
    return new SandboxError(
      stage,
      new SyscallError(e.syscall, e.errno, path),
      injected ? `${stage}: fault injected by test` : `${stage}: ${e.syscall}${e.detail ? ` ${e.detail}` : ''} failed: ${code}`,
    );
  }
}

export function toSandboxError(stage: StageName, err: unknown): SandboxError {
  if (err instanceof SandboxError) return err;
  const e = err as { syscall?: string; errno?: number; code?: string; path?: string; message?: string };
  const message = `${stage}: ${e.message ?? String(err)}`;
  if (err instanceof SyscallError) return new SandboxError(stage, err, message);
  const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : 0;
  const code = e.code ?? (errno ? errnoCode(errno) : 'EUNKNOWN');
  return new SandboxError(stage, SyscallError.of({ syscall: e.syscall ?? 'unknown', errno, code, path: e.path, cause: err }), message);
}
