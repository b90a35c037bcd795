// Lab mode: the learner's own namespaces as a tree under the box's, with inodes, their user namespace and NSpid levels.
'use client';
import type { XrayState } from './xray-state';
import { nestedTree } from './nested-ns';

export function NestedNamespaces({ state }: { state: XrayState }) {
  const tree = nestedTree(state.procs.values());
  if (!tree.length) return null;
  const boxUser = state.ns?.find((r) => r.kind === 'user')?.box ?? null;
  return (
    <div className="px-4 pt-2 text-xs" data-testid="nested-ns">
      <p className="font-semibold text-fg">Built inside the box (lab mode)</p>
      <ul className="font-mono">
        <li>
          user:[{boxUser ?? '?'}] <span className="text-muted">the box’s user namespace</span>
          <ul className="ml-4 border-l border-line pl-2">
            {tree.map((g) => (
              <li key={String(g.userns)} data-testid={`nested-user-${g.userns ?? 'box'}`}>
                {g.userns === null ? <span className="text-muted">in the box’s user namespace:</span> : <>user:[{g.userns}] <span className="text-muted">yours</span></>}
                <ul className="ml-4">
                  {g.spaces.map((s) => (
                    <li key={`${s.kind}:${s.ino}`}>
                      {s.kind}:[{s.ino}] <span className="text-muted">pids {s.pids.join(', ')}</span>
                    </li>
                  ))}
                  {g.levels.map((l) => (
                    <li key={l} className="text-muted">NSpid {l}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </li>
      </ul>
    </div>
  );
}
