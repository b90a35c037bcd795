// Lab mode: the learner's own namespaces as the kernel's ownership tree under the box's user namespace, with inodes and NSpid levels.
'use client';
import type { XrayState } from './xray-state';
import { isEmpty, nestedTree, type NestedUserNs } from './nested-ns';

function UserNode({ node, boxUser }: { node: NestedUserNs; boxUser: number | null }) {
  return (
    <li data-testid={`nested-user-${node.userns ?? 'box'}`}>
      {node.userns === null ? (
        <>
          user:[{boxUser ?? '?'}] <span className="text-muted">the box’s user namespace</span>
        </>
      ) : (
        <>
          user:[{node.userns}] <span className="text-muted">yours, made inside its parent</span>
        </>
      )}
      <ul className="ml-4 border-l border-line pl-2">
        {node.spaces.map((s) => (
          <li key={`${s.kind}:${s.ino}`} data-testid={`nested-ns-${s.kind}`}>
            {s.kind}:[{s.ino}] <span className="text-muted">owned by this user ns · pids {s.pids.join(', ')}</span>
          </li>
        ))}
        {node.levels.map((l) => (
          <li key={l} className="text-muted">
            NSpid {l}
          </li>
        ))}
        {node.children.map((c) => (
          <UserNode key={String(c.userns)} node={c} boxUser={boxUser} />
        ))}
      </ul>
    </li>
  );
}

export function NestedNamespaces({ state }: { state: XrayState }) {
  const tree = nestedTree(state.procs.values());
  if (isEmpty(tree)) return null;
  const boxUser = state.ns?.find((r) => r.kind === 'user')?.box ?? null;
  return (
    <div className="px-4 pt-2 text-xs" data-testid="nested-ns">
      <p className="font-semibold text-fg">Built inside the box (lab mode)</p>
      <ul className="font-mono">
        <UserNode node={tree} boxUser={boxUser} />
      </ul>
    </div>
  );
}
