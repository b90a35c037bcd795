// What a learner sees of class actions on any page: the instructor's reset notice, and the "Class over" dialog.
'use client';

export function ResetNotice({ text, onDismiss }: { text: string | null; onDismiss(): void }) {
  if (!text) return null;
  return (
    <div
      role="status"
      data-testid="class-notice"
      className="flex items-center gap-3 rounded-xl border border-warn/50 bg-warn/10 px-4 py-2 text-sm text-fg"
    >
      <span className="flex-1">{text}</span>
      <button type="button" onClick={onDismiss} className="h-7 rounded-md border border-line px-3 text-muted hover:bg-raised hover:text-fg">
        OK
      </button>
    </div>
  );
}

export function ClassOver({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <div
      role="dialog"
      aria-modal="true"
      data-testid="class-ended"
      className="fixed inset-0 z-50 grid place-items-center bg-bg/80 p-6 backdrop-blur-sm"
    >
      <div className="max-w-md rounded-2xl border border-line bg-panel p-6 text-center shadow-2xl">
        <h2 className="text-xl font-semibold text-fg">Class over</h2>
        <p className="mt-2 text-muted">{text}</p>
        <a href="/lessons" className="mt-5 inline-flex h-10 items-center rounded-lg bg-accent px-5 text-sm font-semibold text-accent-fg">
          All lessons
        </a>
      </div>
    </div>
  );
}
