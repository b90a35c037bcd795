// Renders lesson content (a typed tree from the server, never HTML) with React elements: text, lists, tables, images, code, commands, v1/v2 parts.
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
            return (
              <code key={i} className="rounded bg-raised px-1 py-px font-mono text-[0.85em] text-fg">
                {x.v}
              </code>
            );
          case 'strong':
            return (
              <strong key={i} className="font-semibold text-fg">
                <Inlines c={x.c} />
              </strong>
            );
          case 'em':
            return (
              <em key={i}>
                <Inlines c={x.c} />
              </em>
            );
          case 'del':
            return (
              <del key={i}>
                <Inlines c={x.c} />
              </del>
            );
          case 'br':
            return <br key={i} />;
          case 'link':
            return (
              <a key={i} href={x.href} rel="noopener noreferrer" className="text-accent underline underline-offset-2 hover:brightness-110">
                <Inlines c={x.c} />
              </a>
            );
          case 'lesson':
            return (
              <a
                key={i}
                href={`/lessons/${x.slug}`}
                data-testid="lesson-link"
                className="text-accent underline underline-offset-2 hover:brightness-110"
              >
                <Inlines c={x.c} />
              </a>
            );
          case 'img':
            return (
              // biome-ignore lint/performance/noImgElement: a pack's own file, served by the server, not optimised
              <img
                key={i}
                src={x.src}
                alt={x.alt}
                loading="lazy"
                className="my-1 inline-block max-h-96 max-w-full rounded-md border border-line"
              />
            );
        }
      })}
    </>
  );
}

function Table({ b }: { b: Extract<Block, { t: 'table' }> }) {
  const align = (j: number) => (b.align[j] === 'center' ? 'text-center' : b.align[j] === 'right' ? 'text-right' : 'text-left');
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-sm">
        <thead>
          <tr>
            {b.head.map((c, j) => (
              <th key={j} className={`border-b border-line px-2 py-1 font-semibold text-fg ${align(j)}`}>
                <Inlines c={c} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {b.rows.map((r, k) => (
            <tr key={k}>
              {r.map((c, j) => (
                <td key={j} className={`border-b border-line/60 px-2 py-1 ${align(j)}`}>
                  <Inlines c={c} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One command the learner clicks to type it (with Enter) into the terminal. */
export function CommandButton({ cmd, onRun, disabled }: { cmd: string; onRun: (cmd: string) => void; disabled?: boolean }) {
  return (
    <button
      type="button"
      data-testid="cmd"
      data-cmd={cmd}
      disabled={disabled}
      onClick={() => onRun(cmd)}
      title={disabled ? 'The terminal is not ready' : 'Type this into the terminal'}
      className="group flex w-full items-start gap-2 rounded-md border border-line bg-term px-2.5 py-1.5 text-left font-mono text-[0.8125rem] text-fg hover:border-accent/60 disabled:opacity-60"
    >
      <span aria-hidden="true" className="mt-px select-none text-accent group-hover:brightness-125">
        ▶
      </span>
      <span className="min-w-0 flex-1 whitespace-pre-wrap break-all">{cmd}</span>
    </button>
  );
}

export function Blocks({
  blocks,
  cgroup,
  onRun,
  ready,
}: {
  blocks: Block[];
  cgroup: 1 | 2 | null;
  onRun: (cmd: string) => void;
  ready: boolean;
}) {
  return (
    <>
      {blocks.map((b, i) => {
        switch (b.t) {
          case 'p':
            return (
              <p key={i} className="leading-relaxed">
                <Inlines c={b.c} />
              </p>
            );
          case 'h':
            return b.level <= 2 ? (
              <h3 key={i} className="pt-1 text-base font-semibold text-fg">
                <Inlines c={b.c} />
              </h3>
            ) : (
              <h4 key={i} className="pt-1 text-sm font-semibold text-fg">
                <Inlines c={b.c} />
              </h4>
            );
          case 'ul':
          case 'ol': {
            const L = b.t;
            return (
              <L
                key={i}
                start={b.t === 'ol' ? b.start : undefined}
                className={`space-y-1 pl-5 ${b.t === 'ul' ? 'list-disc' : 'list-decimal'}`}
              >
                {b.items.map((it, j) => (
                  <li key={j} className="space-y-1">
                    {/* A tight item is one paragraph: render it inline so bullets keep their text on the same line. */}
                    {it.length === 1 && it[0]?.t === 'p' ? (
                      <Inlines c={it[0].c} />
                    ) : (
                      <Blocks blocks={it} cgroup={cgroup} onRun={onRun} ready={ready} />
                    )}
                  </li>
                ))}
              </L>
            );
          }
          case 'quote':
            return (
              <blockquote key={i} className="space-y-1 border-l-2 border-accent/50 pl-3 text-muted">
                <Blocks blocks={b.blocks} cgroup={cgroup} onRun={onRun} ready={ready} />
              </blockquote>
            );
          case 'table':
            return <Table key={i} b={b} />;
          case 'hr':
            return <hr key={i} className="border-line" />;
          case 'code':
            return (
              <pre key={i} className="overflow-x-auto rounded-md bg-term p-2.5 font-mono text-[0.8125rem]">
                {b.v}
              </pre>
            );
          case 'cmd':
            return (
              <div key={i} className="space-y-1.5">
                {b.v.map((c, j) => (
                  <CommandButton key={j} cmd={c} onRun={onRun} disabled={!ready} />
                ))}
              </div>
            );
          case 'only':
            if (cgroup !== null && cgroup !== b.cgroup) return null;
            return (
              <div
                key={i}
                data-testid={`cgroup-v${b.cgroup}`}
                className="space-y-2 rounded-md border border-line bg-raised/60 px-3 py-2 text-sm"
              >
                <p className="font-mono text-[0.6875rem] uppercase tracking-wider text-accent">
                  {b.cgroup === 1 ? 'cgroup v1 host' : 'cgroup v2 host'}
                </p>
                <Blocks blocks={b.blocks} cgroup={cgroup} onRun={onRun} ready={ready} />
              </div>
            );
        }
      })}
    </>
  );
}
