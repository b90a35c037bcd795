// The box's mount table from /proc/<PID 1>/mountinfo, after pivot_root, or as it stood just before (reconstructed).
'use client';
import { useState } from 'react';
import type { XrayState } from './xray-state';
import { LessonLink } from './ui';

export function MountTable({ mounts }: { mounts: NonNullable<XrayState['mounts']> }) {
  const [before, setBefore] = useState(false);
  const at = (p: string) => (before ? (p === '/' ? mounts.mergedPath : `${mounts.mergedPath}${p}`) : p);
  const tab = (on: boolean) =>
    `rounded-md px-2 py-0.5 text-xs font-medium ${on ? 'bg-raised text-fg ring-1 ring-line' : 'text-muted hover:text-fg'}`;
  return (
    <div className="px-4 py-3" data-testid="mount-table">
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">Mount table</h3>
        <LessonLink slug="chroot-vs-pivot-root" />
      </div>
      <div className="mt-1.5 flex gap-1" role="tablist" aria-label="Mount table moment">
        <button type="button" role="tab" aria-selected={before} className={tab(before)} onClick={() => setBefore(true)}>
          before pivot_root
        </button>
        <button type="button" role="tab" aria-selected={!before} className={tab(!before)} onClick={() => setBefore(false)}>
          after pivot_root
        </button>
      </div>
      <p className="mt-1.5 text-xs leading-relaxed text-muted">
        {before
          ? `Reconstructed: the box's mounts sat under the host path of the merged root, beside a copy of the host's ${mounts.hostCount} mounts, all reachable.`
          : `Live from /proc/1/mountinfo: pivot_root made the overlay "/" and the old root was detached, so the host's ${mounts.hostCount} mounts are gone.`}
      </p>
      <div className="scroll-thin mt-2 max-h-72 overflow-auto rounded-lg border border-line">
        <table className="w-full border-collapse text-left text-xs">
          <caption className="sr-only">Mounts of the box {before ? 'before' : 'after'} pivot_root</caption>
          <thead className="sticky top-0 bg-raised">
            <tr>
              <th scope="col" className="px-2 py-1 font-medium text-faint">
                mount point
              </th>
              <th scope="col" className="px-2 py-1 font-medium text-faint">
                type
              </th>
              <th scope="col" className="px-2 py-1 font-medium text-faint">
                options
              </th>
            </tr>
          </thead>
          <tbody className="font-mono">
            {before && (
              <tr className="text-faint">
                <td className="px-2 py-1" colSpan={3}>
                  / /proc /sys /dev … the host’s {mounts.hostCount} mounts, copied by unshare(CLONE_NEWNS)
                </td>
              </tr>
            )}
            {mounts.list.map((m) => (
              <tr key={m.id} className="border-t border-line/60 align-top" data-mount={m.mountPoint}>
                <td className="px-2 py-1 break-all text-fg" title={`source ${m.source}, root ${m.root}`}>
                  {at(m.mountPoint)}
                </td>
                <td className="px-2 py-1 text-muted">{m.fsType}</td>
                <td className="px-2 py-1 break-all text-muted" title={m.superOptions}>
                  {m.options}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {mounts.truncated && <p className="pt-1 text-xs text-warn">Only the first 200 mounts are shown.</p>}
      {mounts.nested?.map((n) => (
        <div key={n.ino} className="pt-2 text-xs" data-testid={`nested-mnt-${n.ino}`}>
          <p className="text-fg">
            Your mount namespace mnt:[{n.ino}] (read through pid {n.pid}): {n.list.length} mount(s) the box does not have
          </p>
          <ul className="font-mono text-muted">
            {n.list.map((m) => (
              <li key={m.id} data-mount={m.mountPoint}>
                {m.mountPoint} {m.fsType} {m.source}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
