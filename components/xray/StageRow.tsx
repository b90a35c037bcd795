// One row of the stage list: an arrived stage (click for details) or a pending one drawn faint.
'use client';
import type { ProcessRole, StageEvent, StageName } from '../../server/protocol/box';
import { ROLE_HELP, ROLE_LABEL, STAGE_HELP, formatMs } from './stage-info';

const ROLE_CLASS: Record<ProcessRole, string> = {
  outer: 'bg-role-outer/12 text-role-outer ring-role-outer/30',
  namespaced_parent: 'bg-role-parent/12 text-role-parent ring-role-parent/30',
  inner_child: 'bg-role-child/12 text-role-child ring-role-child/30',
};

export function RoleBadge({ role, faint }: { role: ProcessRole; faint?: boolean }) {
  return (
    <span
      title={ROLE_HELP[role]}
      className={`inline-flex shrink-0 items-center rounded-full px-2 py-px text-[0.6875rem] font-medium leading-4 ring-1 ring-inset ${ROLE_CLASS[role]} ${faint ? 'opacity-45' : ''}`}
    >
      {ROLE_LABEL[role]}
    </span>
  );
}

export function PendingRow({ stage, role, index }: { stage: StageName; role: ProcessRole; index: number }) {
  return (
    <li data-pending={stage} className="flex items-center gap-2 px-4 py-1 text-faint" title={STAGE_HELP[stage]}>
      <span className="w-5 shrink-0 text-right font-mono text-[0.6875rem] tabular-nums opacity-70">{index}</span>
      <span role="img" className="w-3 shrink-0 text-center text-xs" aria-label="pending">
        ·
      </span>
      <span className="min-w-0 truncate font-mono text-[0.8125rem]">{stage}</span>
      <RoleBadge role={role} faint />
    </li>
  );
}

export function StageRow(props: { event: StageEvent; index: number; max: number; t0: number; open: boolean; onToggle: () => void }) {
  const { event: s, index, max } = props;
  // Log scale: stages span 0.01 ms to hundreds of ms; a linear bar would only show the slowest.
  const share = Math.log10(1 + s.durationMs * 100) / Math.log10(1 + max * 100);
  const ns = s.namespaces ? Object.entries(s.namespaces) : [];
  return (
    <li data-stage={s.stage} data-ok={s.ok} className={`bx-row-in border-l-2 ${s.ok ? 'border-transparent' : 'border-bad bg-bad/5'}`}>
      <button
        type="button"
        aria-expanded={props.open}
        onClick={props.onToggle}
        className="block w-full px-4 py-1 text-left hover:bg-raised/70 focus-visible:bg-raised focus-visible:outline-none"
      >
        <span className="flex items-center gap-2">
          <span className="w-5 shrink-0 text-right font-mono text-[0.6875rem] tabular-nums text-faint">{index}</span>
          <span
            role="img"
            aria-label={s.ok ? 'ok' : 'failed'}
            className={`w-3 shrink-0 text-center text-xs ${s.ok ? 'text-ok' : 'text-bad'}`}
          >
            {s.ok ? '✓' : '✕'}
          </span>
          <span className="min-w-0 truncate font-mono text-[0.8125rem] text-fg">{s.stage}</span>
          <RoleBadge role={s.role} />
          <span className="ml-auto h-1 w-10 shrink-0 overflow-hidden rounded-full bg-line/70" aria-hidden="true">
            <span
              className={`block h-full rounded-full ${s.ok ? 'bg-accent' : 'bg-bad'}`}
              style={{ width: `${Math.max(6, share * 100)}%` }}
            />
          </span>
          <span className="w-16 shrink-0 text-right font-mono text-xs tabular-nums text-muted">{formatMs(s.durationMs)}</span>
        </span>
        <span className="ml-10 flex items-center gap-3">
          <span className="min-w-0 flex-1 truncate text-xs text-muted">{STAGE_HELP[s.stage] ?? s.detail}</span>
          <span className="shrink-0 font-mono text-[0.6875rem] tabular-nums text-faint" title="pid on the host / pid inside the box">
            pid {s.hostPid ?? '—'}
            <span className="px-0.5 opacity-60">/</span>
            {s.boxPid ?? '—'}
          </span>
        </span>
      </button>
      {props.open && (
        <dl className="mx-4 mb-2 ml-14 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 rounded-md bg-raised px-3 py-2 text-xs">
          <Item k="role" v={ROLE_HELP[s.role]} />
          <Item k="host pid" v={s.hostPid ?? 'not known'} />
          <Item k="box pid" v={s.boxPid ?? 'outside the box'} />
          <Item k="at" v={`+${formatMs(s.t - props.t0)}`} />
          {s.detail && <Item k="detail" v={s.detail} />}
          {ns.length > 0 && <Item k="namespaces" v={ns.map(([k, v]) => `${k}:[${v}]`).join(' ')} />}
        </dl>
      )}
      {s.error && (
        <p role="alert" className="mx-4 mb-2 ml-14 rounded-md bg-bad/10 px-2 py-1 font-mono text-xs text-bad">
          {s.error.message}
          <span className="block text-[0.6875rem] opacity-80">
            {s.error.syscall} → {s.error.code} (errno {s.error.errno}){s.error.path ? ` on ${s.error.path}` : ''}
          </span>
        </p>
      )}
    </li>
  );
}

function Item({ k, v }: { k: string; v: string | number }) {
  return (
    <>
      <dt className="text-faint">{k}</dt>
      <dd className="min-w-0 break-words font-mono text-fg">{v}</dd>
    </>
  );
}
