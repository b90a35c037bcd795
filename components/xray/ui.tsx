// Shared pieces of the x-ray views: the view header with its lesson link, the text alternative, and empty states.
'use client';
import type { ReactNode } from 'react';

/** Slugs of the lessons (app/lessons) each view links to. */
export type LessonSlug =
  | 'xray-tour'
  | 'double-fork'
  | 'pid-namespace'
  | 'uts-namespace'
  | 'mount-namespace'
  | 'overlayfs'
  | 'chroot-vs-pivot-root'
  | 'user-namespace'
  | 'network-namespace'
  | 'ipc-namespace'
  | 'cgroup-memory'
  | 'cgroup-cpu'
  | 'cgroup-pids'
  | 'capabilities-seccomp';

export const lessonHref = (slug: LessonSlug): string => `/lessons#${slug}`;

export function LessonLink({ slug, children }: { slug: LessonSlug; children?: ReactNode }) {
  return (
    <a
      href={lessonHref(slug)}
      data-lesson={slug}
      className="inline-flex shrink-0 items-center gap-1 rounded-md px-1.5 py-0.5 text-xs font-medium text-accent hover:bg-accent/10 hover:underline"
    >
      {children ?? 'Lesson'}
      <span aria-hidden="true">→</span>
    </a>
  );
}

export function ViewHeader(props: { id: string; title: string; lesson: LessonSlug; children?: ReactNode; aside?: ReactNode }) {
  return (
    <header className="border-b border-line px-4 pb-2.5 pt-3">
      <div className="flex items-baseline justify-between gap-3">
        <h2 id={props.id} className="text-[0.9375rem] font-semibold tracking-tight">
          {props.title}
        </h2>
        <div className="flex items-baseline gap-2">
          {props.aside}
          <LessonLink slug={props.lesson} />
        </div>
      </div>
      {props.children && <p className="mt-0.5 text-xs leading-relaxed text-muted">{props.children}</p>}
    </header>
  );
}

/** The text alternative of a diagram: a plain table inside <details>, readable by screen readers and in print. */
export function TextTable(props: { summary: string; head: string[]; rows: Array<Array<ReactNode>>; testId?: string }) {
  return (
    <details className="mx-4 my-3 rounded-lg border border-line bg-raised/40 text-xs" data-testid={props.testId}>
      <summary className="cursor-pointer select-none px-3 py-2 font-medium text-muted hover:text-fg">{props.summary}</summary>
      <div className="scroll-thin overflow-x-auto px-3 pb-3">
        <table className="w-full border-collapse text-left">
          <thead>
            <tr>
              {props.head.map((h) => (
                <th key={h} scope="col" className="border-b border-line py-1 pr-3 font-medium text-faint">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="font-mono">
            {props.rows.map((r, i) => (
              <tr key={i} className="align-top">
                {r.map((c, j) => (
                  <td key={j} className="border-b border-line/50 py-1 pr-3 break-all">
                    {c}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="px-4 py-8 text-center text-sm text-muted">{children}</p>;
}

/** A tag for the bottom of a view: what the sample cost and when it was taken. */
export function SampleNote({ costMs, at }: { costMs: number; at: number }) {
  if (!at) return null;
  return (
    <p className="px-4 pb-3 font-mono text-[0.6875rem] text-faint" title="server-side cost of the last sample that changed something">
      sampled {new Date(at).toLocaleTimeString()} · {costMs.toFixed(1)} ms
    </p>
  );
}
