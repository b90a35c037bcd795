// This browser's class membership (localStorage): which class, under which name, and the resume code that brings it back.
const KEY = 'boxlab.class.v1';

export interface Membership {
  classId: string;
  className: string;
  code: string;
  memberId: string;
  name: string;
  /** XXXXX-XXXXX: with it the learner gets their box and progress back (a new session once this one is gone). */
  resume: string;
}

function store(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function loadMembership(): Membership | null {
  try {
    const raw = store()?.getItem(KEY);
    const m = raw ? (JSON.parse(raw) as Partial<Membership>) : null;
    return m && typeof m.resume === 'string' && typeof m.classId === 'string' && typeof m.name === 'string' ? (m as Membership) : null;
  } catch {
    return null;
  }
}

export function saveMembership(m: Membership | null): void {
  try {
    if (m) store()?.setItem(KEY, JSON.stringify(m));
    else store()?.removeItem(KEY);
  } catch {
    /* storage disabled: the learner keeps the resume code shown on the join page */
  }
}
