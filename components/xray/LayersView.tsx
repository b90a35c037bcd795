// View 5, filesystem layers: lower, upper and merged stacked; upper-layer changes appear live; pointing at a name says its layer.
'use client';
import { useState } from 'react';
import { formatBytes } from '../playground/format';
import { CHANGE_CHIP, LayersPicture, SOURCE_CHIP, type Chip } from './LayersPicture';
import { MountTable } from './MountTable';
import { TRY_COMMANDS } from './claims';
import { Empty, SampleNote, TextTable, ViewHeader } from './ui';
import { mergedTop, type XrayState } from './xray-state';

const BADGE: Record<string, string> = {
  created: 'bg-ok/15 text-ok',
  modified: 'bg-warn/15 text-warn',
  deleted: 'bg-bad/15 text-bad',
  opaque: 'bg-role-child/15 text-role-child',
};

export function LayersView({ state, running }: { state: XrayState; running: boolean }) {
  const [pointed, setPointed] = useState<string | null>(null);
  const meta = state.fsMeta;
  const files = [...state.files.values()].sort(
    (a, b) => (state.touched.get(b.path) ?? 0) - (state.touched.get(a.path) ?? 0) || a.path.localeCompare(b.path),
  );
  if (!meta) {
    return (
      <section aria-labelledby="layers-title">
        <ViewHeader id="layers-title" title="Filesystem layers" lesson="overlayfs" />
        <Empty>{running ? 'Walking the upper layer…' : 'Start a sandbox to see its overlay.'}</Empty>
      </section>
    );
  }
  const recent = (p: string) => (state.touched.get(p) ?? 0) > state.at - 3000;
  const merged: Chip[] = mergedTop(state.lowerTop, state.files).map((e) => ({
    key: e.name,
    label: `/${e.name}`,
    cls: SOURCE_CHIP[e.source].cls,
    info: SOURCE_CHIP[e.source].words,
    strike: e.source === 'deleted',
  }));
  const upper: Chip[] = files.map((f) => ({
    key: f.path,
    label: f.path,
    cls: CHANGE_CHIP[f.change].cls,
    info: CHANGE_CHIP[f.change].words,
    strike: f.change === 'deleted',
  }));
  const lower: Chip[] = state.lowerTop.map((e) => ({
    key: e.name,
    label: `/${e.name}`,
    cls: SOURCE_CHIP.image.cls,
    info: 'in the image, the read-only lower layer',
  }));
  const note = `writable tmpfs · ${formatBytes(meta.usedBytes)} of ${formatBytes(meta.sizeBytes)}`;
  return (
    <section aria-labelledby="layers-title" className="flex min-h-0 flex-col">
      <ViewHeader
        id="layers-title"
        title="Filesystem layers"
        lesson="overlayfs"
        aside={
          <span
            className="text-xs text-muted"
            data-testid="upper-count"
            title={`${meta.total} entries in the upper directory, directories included`}
          >
            {files.length} change{files.length === 1 ? '' : 's'}
          </span>
        }
      >
        overlayfs shows the read-only image (lower) with your changes on top (upper). Try{' '}
        <code className="font-mono">{TRY_COMMANDS.layers[0]}</code> or <code className="font-mono">{TRY_COMMANDS.layers[1]}</code>.
      </ViewHeader>
      <div className="px-3 pt-3">
        <LayersPicture merged={merged} upper={upper} lower={lower} upperNote={note} onPoint={setPointed} />
      </div>
      <p aria-live="polite" className="mx-4 mt-1 min-h-8 rounded-md bg-raised px-2.5 py-1.5 text-xs text-muted" data-testid="layer-pointer">
        {pointed ?? 'Point at a name to see which layer it comes from.'}
      </p>
      <h3 className="px-4 pt-3 text-sm font-semibold">Upper layer changes</h3>
      {files.length === 0 ? (
        <p className="px-4 py-2 text-xs text-muted">Nothing written yet: the box still looks exactly like the image.</p>
      ) : (
        <ul className="scroll-thin mx-4 mt-1.5 max-h-72 overflow-y-auto rounded-lg border border-line text-xs" data-testid="upper-list">
          {files.map((f) => (
            <li
              key={f.path}
              tabIndex={0}
              data-testid="upper-file"
              data-path={f.path}
              data-change={f.change}
              data-kind={f.kind}
              onMouseEnter={() => setPointed(`${f.path}: ${CHANGE_CHIP[f.change].words}`)}
              onFocus={() => setPointed(`${f.path}: ${CHANGE_CHIP[f.change].words}`)}
              onMouseLeave={() => setPointed(null)}
              onBlur={() => setPointed(null)}
              className={`flex items-center gap-2 border-t border-line/60 px-2 py-1 first:border-t-0 ${recent(f.path) ? 'bx-row-in bg-accent/10' : ''}`}
            >
              <span className={`w-16 shrink-0 rounded px-1.5 text-center text-[0.6875rem] font-medium ${BADGE[f.change]}`}>{f.change}</span>
              <span className={`min-w-0 flex-1 truncate font-mono ${f.change === 'deleted' ? 'line-through text-muted' : 'text-fg'}`}>
                {f.path}
                {f.kind === 'dir' ? '/' : ''}
                {f.target ? <span className="text-muted"> → {f.target}</span> : null}
              </span>
              <span className="shrink-0 font-mono tabular-nums text-faint">{f.kind === 'file' ? formatBytes(f.size) : f.kind}</span>
            </li>
          ))}
        </ul>
      )}
      {meta.truncated && (
        <p className="px-4 pt-1 text-xs text-warn">
          The upper layer is big: only the first {files.length} of {meta.total} entries are listed.
        </p>
      )}
      {state.mounts && <MountTable mounts={state.mounts} />}
      <TextTable
        summary="Upper layer as a table"
        head={['path', 'change', 'kind', 'size', 'link target']}
        rows={files.map((f) => [f.path, f.change, f.kind, f.kind === 'file' ? f.size : '', f.target ?? ''])}
      />
      <SampleNote costMs={state.costMs} at={state.at} />
    </section>
  );
}
