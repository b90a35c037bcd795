// The instructor's classes: create one (name, lessons, box limits, cap), its code/link/QR (and a projector view), roster, CSV, end.
'use client';
import { useCallback, useEffect, useState } from 'react';
import type { ClassDetail, ClassListResponse, ClassSummary } from '../../server/protocol/classes';
import type { LessonSummary } from '../../server/protocol/lessons';
import { createClass, downloadCsv, endClass, getClass, listClasses, setClassCap } from './classroom-api';
import { Projector } from './Projector';
import { Roster } from './Roster';

export function ClassesPanel({ token, lessons, notify }: { token: string; lessons: LessonSummary[]; notify(msg: string): void }) {
  const [list, setList] = useState<ClassListResponse | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [detail, setDetail] = useState<ClassDetail | null>(null);
  const [creating, setCreating] = useState(false);
  const [projector, setProjector] = useState(false);

  const refresh = useCallback(async () => {
    const l = await listClasses(token).catch(() => null);
    if (l) setList(l);
    if (open) setDetail(await getClass(token, open).catch(() => null));
  }, [token, open]);

  useEffect(() => {
    void refresh();
    const id = setInterval(() => void refresh(), 2000);
    return () => clearInterval(id);
  }, [refresh]);

  const select = async (id: string) => {
    setOpen(id);
    setDetail(await getClass(token, id).catch(() => null));
  };

  return (
    <div className="border-b border-line p-3" data-testid="classes">
      <div className="flex flex-wrap items-center gap-2">
        <h2 className="text-sm font-semibold">Classes</h2>
        {list?.active.map((c) => (
          <ClassChip key={c.id} c={c} selected={open === c.id} onClick={() => void select(c.id)} />
        ))}
        <button
          type="button"
          data-testid="new-class"
          onClick={() => setCreating((v) => !v)}
          className="h-7 rounded-md border border-line px-2 text-sm text-muted hover:bg-raised hover:text-fg"
        >
          {creating ? 'Cancel' : 'New class'}
        </button>
        {!!list?.archived.length && (
          <select
            value=""
            onChange={(e) => e.target.value && void select(e.target.value)}
            data-testid="archived"
            className="h-7 rounded-md border border-line bg-bg px-1 text-sm text-muted"
          >
            <option value="">Archived ({list.archived.length})…</option>
            {list.archived.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} · {new Date(c.createdAt).toLocaleDateString()}
              </option>
            ))}
          </select>
        )}
      </div>
      {creating && (
        <CreateForm
          lessons={lessons}
          onCreate={async (body) => {
            try {
              const c = await createClass(token, body);
              setCreating(false);
              setOpen(c.id);
              setDetail(c);
              setProjector(true);
              void refresh();
            } catch (e) {
              notify(`Class not created: ${(e as Error).message}`);
            }
          }}
        />
      )}
      {detail && (
        <div className="mt-3 space-y-2" data-testid="class-detail">
          <div className="flex flex-wrap items-center gap-3">
            <h3 className="text-base font-semibold">
              {detail.name}
              {detail.endedAt !== null && (
                <span className="ml-2 text-xs font-normal text-faint">archived {new Date(detail.endedAt).toLocaleString()}</span>
              )}
            </h3>
            {detail.endedAt === null && (
              <span className="font-mono text-lg tracking-widest" data-testid="class-code">
                {detail.code}
              </span>
            )}
            <span className="text-xs text-muted">
              {detail.members}/{detail.cap} learners · {detail.online} online · {detail.limits.memory}, {detail.limits.cpuLimit} CPU,{' '}
              {detail.limits.pids} pids
            </span>
            <div className="ml-auto flex gap-2 text-sm">
              {detail.endedAt === null && (
                <button
                  type="button"
                  data-testid="raise-cap"
                  title="Change the most learners this class takes"
                  onClick={async () => {
                    const v = Number(prompt('Most learners in this class:', String(detail.cap)));
                    if (!Number.isInteger(v) || v < 1) return;
                    const r = await setClassCap(token, detail.id, v).catch((e: Error) => {
                      notify(e.message);
                      return null;
                    });
                    if (r) notify(`Class takes up to ${r.cap} learners`);
                    void refresh();
                  }}
                  className="h-7 rounded-md border border-line px-3 text-muted hover:text-fg"
                >
                  Cap…
                </button>
              )}
              {detail.endedAt === null && (
                <button
                  type="button"
                  data-testid="projector"
                  onClick={() => setProjector(true)}
                  className="h-7 rounded-md bg-accent px-3 font-semibold text-accent-fg"
                >
                  Projector
                </button>
              )}
              <button
                type="button"
                data-testid="export-csv"
                onClick={() => downloadCsv(token, detail.id).catch((e: Error) => notify(`Export failed: ${e.message}`))}
                className="h-7 rounded-md border border-line px-3 text-muted hover:text-fg"
              >
                Export CSV
              </button>
              {detail.endedAt === null && (
                <button
                  type="button"
                  data-testid="end-this-class"
                  onClick={async () => {
                    if (!confirm(`End "${detail.name}"? Its boxes close; roster and progress are kept (archived).`)) return;
                    const r = await endClass(token, detail.id).catch((e: Error) => {
                      notify(e.message);
                      return null;
                    });
                    if (r) notify(`Class ended: ${r.affected} box(es) closed`);
                    void refresh();
                  }}
                  className="h-7 rounded-md bg-bad px-3 font-semibold text-white"
                >
                  End class
                </button>
              )}
            </div>
          </div>
          {detail.endedAt === null && (
            <p className="text-xs text-muted">
              Join at{' '}
              <a className="font-mono text-accent" href={detail.link}>
                {detail.link}
              </a>
            </p>
          )}
          <Roster detail={detail} lessons={lessons} />
        </div>
      )}
      {projector && detail && <Projector detail={detail} onClose={() => setProjector(false)} />}
    </div>
  );
}

function ClassChip({ c, selected, onClick }: { c: ClassSummary; selected: boolean; onClick(): void }) {
  return (
    <button
      type="button"
      onClick={onClick}
      data-testid="class-chip"
      className={`h-7 rounded-md px-2 text-sm ${selected ? 'bg-raised text-fg' : 'text-muted hover:text-fg'}`}
    >
      {c.name} <span className="font-mono text-xs">{c.code}</span>{' '}
      <span className="text-xs text-faint">
        {c.online}/{c.members}
      </span>
    </button>
  );
}

function CreateForm({
  lessons,
  onCreate,
}: {
  lessons: LessonSummary[];
  onCreate(body: { name: string; lessons: string[]; limits: { memory?: string; cpus?: string; pids?: number }; cap: number }): void;
}) {
  const [name, setName] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [memory, setMemory] = useState('');
  const [cpus, setCpus] = useState('');
  const [pids, setPids] = useState('');
  const [cap, setCap] = useState('30');
  const field = 'h-8 rounded-md border border-line bg-bg px-2 text-sm text-fg outline-none focus:border-accent';
  return (
    <form
      className="mt-3 grid gap-2 rounded-lg border border-line bg-bg/40 p-3 text-sm"
      data-testid="create-class"
      onSubmit={(e) => {
        e.preventDefault();
        onCreate({
          name,
          lessons: picked,
          cap: Number(cap) || 30,
          limits: {
            ...(memory.trim() ? { memory: memory.trim() } : {}),
            ...(cpus.trim() ? { cpus: cpus.trim() } : {}),
            ...(pids.trim() ? { pids: Number(pids) } : {}),
          },
        });
      }}
    >
      <input
        required
        value={name}
        onChange={(e) => setName(e.target.value)}
        placeholder="Class name"
        data-testid="class-name"
        className={field}
        maxLength={80}
      />
      <fieldset className="max-h-40 overflow-auto rounded-md border border-line p-2">
        <legend className="px-1 text-xs text-muted">Lessons (in order)</legend>
        {lessons.map((l) => (
          <label key={l.slug} className="mr-4 inline-flex items-center gap-1.5">
            <input
              type="checkbox"
              checked={picked.includes(l.slug)}
              data-testid={`class-lesson-${l.slug}`}
              onChange={(e) => setPicked((p) => (e.target.checked ? [...p, l.slug] : p.filter((s) => s !== l.slug)))}
            />
            {l.title}
          </label>
        ))}
      </fieldset>
      <div className="flex flex-wrap gap-2">
        <input
          value={memory}
          onChange={(e) => setMemory(e.target.value)}
          placeholder="memory (e.g. 128M)"
          className={`${field} w-40`}
          data-testid="class-memory"
        />
        <input
          value={cpus}
          onChange={(e) => setCpus(e.target.value)}
          placeholder="cpus (e.g. 0.25)"
          className={`${field} w-36`}
          data-testid="class-cpus"
        />
        <input
          value={pids}
          onChange={(e) => setPids(e.target.value)}
          placeholder="pids (e.g. 64)"
          inputMode="numeric"
          className={`${field} w-32`}
          data-testid="class-pids"
        />
        <label className="flex items-center gap-1.5 text-muted">
          learners{' '}
          <input
            value={cap}
            onChange={(e) => setCap(e.target.value)}
            inputMode="numeric"
            className={`${field} w-16`}
            data-testid="class-cap"
          />
        </label>
        <button
          type="submit"
          data-testid="create-class-submit"
          className="ml-auto h-8 rounded-md bg-accent px-4 font-semibold text-accent-fg"
        >
          Create
        </button>
      </div>
      <p className="text-xs text-faint">Empty limits: the server&apos;s own. A class can lower them, not raise them.</p>
    </form>
  );
}
