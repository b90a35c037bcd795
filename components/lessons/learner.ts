// The learner's identity in this browser: a long-lived random id (localStorage, apart from the session token) and a chosen name.
import { B64URL32_RE } from '../../server/protocol/lessons';
const ID_KEY = 'boxlab.learner.v1';
const NAME_KEY = 'boxlab.learner.name';

function store(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** 32 random bytes, base64url: whoever holds it sees this learner's progress, so it is never shown or sent in a URL. */
export function learnerId(): string {
  const s = store();
  const old = s?.getItem(ID_KEY);
  if (old && B64URL32_RE.test(old)) return old;
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const id = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  try {
    s?.setItem(ID_KEY, id);
  } catch {
    /* private mode: progress lasts for this page only */
  }
  return id;
}

export function learnerName(): string {
  return store()?.getItem(NAME_KEY) ?? '';
}

export function setLearnerName(name: string): void {
  try {
    store()?.setItem(NAME_KEY, name.trim().slice(0, 64));
  } catch {
    /* see learnerId */
  }
}
