// Renders lesson content (plain data from the server, never HTML): paragraphs, lists, code, click-to-type commands, v1/v2 parts.
'use client';
import type { Block, Inline } from '../../server/protocol/lessons';

export function Inlines({ c }: { c: Inline[] }) {
  return (
    <>
      {c.map((x, i) => {
        switch (x.t) {
          case 'text':
            return <span key={i}>{x.v}</span>;
          case 'code':
            return <code key={i} className="rounded bg-raised px-1 py-px font-mono text-[0.85em] text-fg">{x.v}</code>;
          case 'strong':
            return <strong key={i} className="font-semibold text-fg">{x.v}</strong>;
          case 'em':
            return <em key={i}>{x.v}</em>;
          case 'link':
            return <a key={i} href={x.href} className="text-accent underline underline-offset-2 hover:brightness-110">{x.v}</a>;
        }
      })}
    </>
  );
}

/** One command the learner clicks to type it (with Enter) into the terminal. */
export function CommandButton({ cmd, onRun, disabled }: { cmd: string; onRun: (cmd: string) => void; disabled?: boolean }) {
  return (
    <button
      type="button" data-testid="cmd" data-cmd={cmd} disabled={disabled} onClick={() => onRun(cmd)}
      title={disabled ? 'The terminal is not ready' : 'Type this into the terminal'}
      className="group flex w-full items-start gap-2 rounded-md border border-line bg-term px-2.5 py-1.5 text-left font-mono text-[0.8125rem] text-fg hover:border-accent/60 disabled:opacity-60"
    >
      <span aria-hidden="true" className="mt-px select-none text-accent group-hover:brightness-125">▶</span>
      <span className="min-w-0 flex-1 whitespace-pre-wrap break-all">{cmd}</span>
    </button>
  );
}

export function Blocks({ blocks, cgroup, onRun, ready }: { blocks: Block[]; cgroup: 1 | 2 | null; onRun: (cmd: string) => void; ready: boolean }) {
  return (
    <>
      {blocks.map((b, i) => {
        switch (b.t) {
          case 'p':
            return <p key={i} className="leading-relaxed"><Inlines c={b.c} /></p>;
          case 'h':
            return <h3 key={i} className="pt-1 text-base font-semibold text-fg"><Inlines c={b.c} /></h3>;
          case 'ul':
          case 'ol': {
            const L = b.t;
            return (
              <L key={i} className={`space-y-1 pl-5 ${b.t === 'ul' ? 'list-disc' : 'list-decimal'}`}>
                {b.items.map((it, j) => <li key={j}><Inlines c={it} /></li>)}
              </L>
            );
          }
          case 'quote':
            return <blockquote key={i} className="border-l-2 border-accent/50 pl-3 text-muted"><Inlines c={b.c} /></blockquote>;
          case 'code':
            return <pre key={i} className="overflow-x-auto rounded-md bg-term p-2.5 font-mono text-[0.8125rem]">{b.v}</pre>;
          case 'cmd':
            return (
              <div key={i} className="space-y-1.5">
                {b.v.map((c, j) => <CommandButton key={j} cmd={c} onRun={onRun} disabled={!ready} />)}
              </div>
            );
          case 'only':
            if (cgroup !== null && cgroup !== b.cgroup) return null;
            return (
              <div key={i} data-testid={`cgroup-v${b.cgroup}`} className="space-y-2 rounded-md border border-line bg-raised/60 px-3 py-2 text-sm">
                <p className="font-mono text-[0.6875rem] uppercase tracking-wider text-accent">{b.cgroup === 1 ? 'cgroup v1 host' : 'cgroup v2 host'}</p>
                <Blocks blocks={b.blocks} cgroup={cgroup} onRun={onRun} ready={ready} />
              </div>
            );
        }
      })}
    </>
  );
}
