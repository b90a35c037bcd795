// The x-ray panel beside the terminal: tabs for the stage list and the five views; only the open view is sampled by the server.
'use client';
import { useEffect, useState, type KeyboardEvent } from 'react';
import type { XrayView } from '../../server/protocol/xray';
import type { BoxlabClient } from '../terminal/BoxlabClient';
import type { ClientView } from '../terminal/client-types';
import { CgroupsView } from './CgroupsView';
import { ForkView } from './ForkView';
import { LayersView } from './LayersView';
import { NamespacesView } from './NamespacesView';
import { ProcessesView } from './ProcessesView';
import { StageList } from './StageList';
import { useXray } from './useXray';

export const TABS = [
  { id: 'stages', label: 'Stages', views: [] },
  // procs: the learner's own runtime (lab mode) is drawn beside the engine's fork from the process rows.
  { id: 'fork', label: 'Fork', views: ['procs'] },
  // procs too: the learner's nested namespaces (lab mode) are read per process.
  { id: 'ns', label: 'Namespaces', views: ['ns', 'procs'] },
  { id: 'procs', label: 'Procs', views: ['procs'] },
  { id: 'cgroup', label: 'cgroups', views: ['cgroup'] },
  { id: 'layers', label: 'Layers', views: ['fs', 'mounts'] },
] as const satisfies ReadonlyArray<{ id: string; label: string; views: readonly XrayView[] }>;
export type TabId = (typeof TABS)[number]['id'];

const KEY = 'boxlab.xray.tab';

export function XrayPanel(props: { view: ClientView; client: BoxlabClient | null; wide: boolean; onWide: (w: boolean) => void }) {
  const { view } = props;
  const [tab, setTab] = useState<TabId>('stages');
  useEffect(() => {
    try {
      const saved = localStorage.getItem(KEY);
      if (saved && TABS.some((t) => t.id === saved)) setTab(saved as TabId);
    } catch {
      /* storage disabled */
    }
  }, []);
  const choose = (id: TabId) => {
    setTab(id);
    try {
      localStorage.setItem(KEY, id);
    } catch {
      /* storage disabled */
    }
  };
  const current = TABS.find((t) => t.id === tab)!;
  const running = view.phase === 'running';
  // Only a running box is sampled; the subscription follows the open tab.
  const state = useXray(props.client, running ? current.views : []);
  const pending = view.phase === 'idle' || view.phase === 'creating' || view.phase === 'full';
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === tab);
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const t = TABS[(next + TABS.length) % TABS.length];
    if (!t) return;
    choose(t.id);
    document.getElementById(`xray-tab-${t.id}`)?.focus();
  };
  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="xray">
      <div className="flex items-center gap-1 border-b border-line px-2 pt-2">
        <div role="tablist" aria-label="X-ray views" className="scroll-thin flex min-w-0 flex-1 gap-0.5 overflow-x-auto" onKeyDown={onKey}>
          {TABS.map((t) => (
            <button
              key={t.id}
              id={`xray-tab-${t.id}`}
              type="button"
              role="tab"
              aria-selected={t.id === tab}
              aria-controls="xray-panel"
              tabIndex={t.id === tab ? 0 : -1}
              data-testid={`xray-tab-${t.id}`}
              onClick={() => choose(t.id)}
              className={`-mb-px shrink-0 rounded-t-md border-b-2 px-2 pb-1.5 pt-1 text-xs font-medium ${t.id === tab ? 'border-accent text-fg' : 'border-transparent text-muted hover:text-fg'}`}
            >
              {t.label}
            </button>
          ))}
        </div>
        <button
          type="button"
          aria-pressed={props.wide}
          data-testid="xray-wide"
          onClick={() => props.onWide(!props.wide)}
          title={props.wide ? 'Narrow x-ray' : 'Wide x-ray (for a projector)'}
          aria-label="Wide x-ray"
          className="mb-1 hidden h-7 w-7 shrink-0 rounded-md text-sm text-muted hover:bg-raised hover:text-fg lg:block"
        >
          <span aria-hidden="true">{props.wide ? '⇥' : '⇤'}</span>
        </button>
      </div>
      <div
        id="xray-panel"
        role="tabpanel"
        aria-labelledby={`xray-tab-${tab}`}
        className="scroll-thin min-h-0 flex-1 overflow-y-auto"
        data-view={tab}
      >
        {tab === 'stages' && <StageList stages={view.stages} pending={pending} />}
        {tab === 'fork' && <ForkView stages={view.stages} creating={view.phase === 'creating'} xray={state} />}
        {tab === 'ns' && <NamespacesView state={state} running={running} />}
        {tab === 'procs' && <ProcessesView state={state} running={running} />}
        {tab === 'cgroup' && <CgroupsView state={state} running={running} fallback={view.stats} />}
        {tab === 'layers' && <LayersView state={state} running={running} />}
      </div>
    </div>
  );
}
