// Placeholder for the lessons (a later issue): keeps the header link honest.
import type { Metadata } from 'next';
import { Header } from '../../components/playground/Header';

export const metadata: Metadata = { title: 'Lessons · Boxlab' };

export default function Lessons() {
  return (
    <div className="flex min-h-dvh flex-col">
      <Header current="lessons" />
      <main className="mx-auto grid w-full max-w-2xl flex-1 place-items-center p-8 text-center">
        <div>
          <p className="font-mono text-xs uppercase tracking-[0.2em] text-accent">coming soon</p>
          <h1 className="mt-3 text-3xl font-semibold tracking-tight">Lessons</h1>
          <p className="mt-3 leading-relaxed text-muted">
            Guided tours of namespaces, cgroups, overlayfs and seccomp, each run in your own sandbox. Until then, the
            playground is open.
          </p>
          <a href="/" className="mt-6 inline-flex h-10 items-center rounded-lg bg-accent px-5 text-sm font-semibold text-accent-fg hover:brightness-110">
            Open the playground
          </a>
        </div>
      </main>
    </div>
  );
}
