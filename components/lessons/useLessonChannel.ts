// The lesson's side of the session socket: tells the server which step the learner is on, and reads checks and class messages.
'use client';
import { useEffect, useRef, useState } from 'react';
import type { BoxlabClient } from '../terminal/BoxlabClient';
import { learnerId, learnerName } from './learner';
import type { CheckInfo } from './StepCard';

export interface ClassState {
  checks: Record<number, CheckInfo>;
  /** Name of whoever broadcasts, or null. */
  broadcast: string | null;
  ended: string | null;
}

export function useLessonChannel(client: BoxlabClient | null, slug: string, step: number | null, onPassed: (step: number) => void): ClassState {
  const [checks, setChecks] = useState<Record<number, CheckInfo>>({});
  const [broadcast, setBroadcast] = useState<string | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  const passed = useRef(onPassed);
  passed.current = onPassed;

  useEffect(() => {
    if (!client || step === null) return;
    // Sent now and after every hello: a new socket (reload, reconnect) starts with no lesson on the server side.
    const send = () => client.control({ type: 'lesson', slug, step, learner: learnerId(), name: learnerName() || undefined });
    send();
    return client.onControl((m) => {
      if (m.type === 'hello') send();
      else if (m.type === 'check' && m.slug === slug) {
        setChecks((c) => ({ ...c, [m.step]: { ok: m.ok, message: m.message } }));
        if (m.passed) passed.current(m.step);
      } else if (m.type === 'broadcast') setBroadcast(m.active ? (m.name ?? 'Instructor') : null);
      else if (m.type === 'goto') {
        if (m.slug !== slug) window.location.assign(`/lessons/${encodeURIComponent(m.slug)}`);
      } else if (m.type === 'class_ended') setEnded(m.message);
    });
  }, [client, slug, step]);

  return { checks, broadcast, ended };
}
