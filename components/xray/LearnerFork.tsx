// Lab mode: the learner's own runtime drawn beside the engine's double fork (namespaced parent, inner child, NSpid).
'use client';
import { learnerFork } from './learner-fork';
import type { XrayState } from './xray-state';

const ROLE = {
  'namespaced-parent': { label: 'your namespaced parent', cls: 'text-role-parent' },
  'inner-child': { label: 'your inner child: PID 1 of your namespace', cls: 'text-role-child' },
  process: { label: '', cls: 'text-fg' },
} as const;

export function LearnerFork({ state }: { state: XrayState }) {
  const rows = learnerFork(state.procs.values());
  if (!rows.length) return null;
  return (
    <div className="mx-4 mt-3 rounded-lg border border-line px-3 py-2 text-xs" data-testid="learner-fork">
      <p className="font-semibold">Your runtime (lab mode)</p>
      <p className="mb-1 text-muted">
        The processes you started that made namespaces, as the kernel sees them now: the same shape as the engine&apos;s fork above.
      </p>
      <ul className="font-mono">
        {rows.map((r) => (
          <li key={r.pid} style={{ paddingLeft: `${r.depth * 1.1}rem` }} data-testid={`learner-fork-${r.role}`} data-pid={r.pid}>
            <span className={ROLE[r.role].cls}>{r.name}</span> <span className="text-faint">pid {r.pid}</span>
            {r.nspid ? <span className="text-muted"> · NSpid {r.nspid.join(' → ')}</span> : null}
            {r.own.length ? <span className="text-muted"> · own {r.own.join(', ')}</span> : null}
            {ROLE[r.role].label ? <span className={`ml-1 ${ROLE[r.role].cls}`}>({ROLE[r.role].label})</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}
