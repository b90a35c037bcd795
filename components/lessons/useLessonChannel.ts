// The lesson's side of the session socket: tells the server which step the learner is on, and reads the checks.
'use client';
import { useEffect, useRef, useState } from 'react';
import type { BoxlabClient } from '../terminal/BoxlabClient';
import { learnerId, learnerName } from './learner';
import type { CheckInfo } from './StepCard';

/** Class actions (broadcast, move, reset notice, class over) are followed by components/classroom/useClassActions.ts. */
export interface ClassState {
  checks: Record<number, CheckInfo>;
}

export function useLessonChannel(
  client: BoxlabClient | null,
  slug: string,
  step: number | null,
  onPassed: (step: number) => void,
): ClassState {
  const [checks, setChecks] = useState<Record<number, CheckInfo>>({});
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
      }
    });
  }, [client, slug, step]);

  return { checks };
}
