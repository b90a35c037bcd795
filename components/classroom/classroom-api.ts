// The instructor's HTTP calls (Authorization: Bearer <token>) and where the token is kept (this tab only).
import { API_CLASSROOM_PATH, type ClassAction, type DashboardResponse } from '../../server/protocol/lessons';

const KEY = 'boxlab.instructor.token';

/** The token from the URL fragment (#token=..., never sent to the server in a request line) or this tab's storage. */
export function takeToken(): string | null {
  try {
    const token = /(?:^|[#&])token=([A-Za-z0-9_-]+)/.exec(window.location.hash)?.[1];
    if (token) {
      window.sessionStorage.setItem(KEY, token);
      history.replaceState(null, '', window.location.pathname + window.location.search);
      return token;
    }
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) window.sessionStorage.setItem(KEY, token);
    else window.sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: signed in for this page only */
  }
}

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

export async function checkToken(token: string): Promise<'ok' | 'bad' | 'down'> {
  try {
    const r = await fetch(`${API_CLASSROOM_PATH}/auth`, { headers: auth(token), cache: 'no-store' });
    return r.ok ? 'ok' : 'bad';
  } catch {
    return 'down';
  }
}

export async function getDashboard(token: string): Promise<DashboardResponse> {
  const r = await fetch(API_CLASSROOM_PATH, { headers: auth(token), cache: 'no-store' });
  if (!r.ok) throw new Error(r.status === 401 || r.status === 403 ? 'signed out' : `HTTP ${r.status}`);
  return (await r.json()) as DashboardResponse;
}

export async function classAction(token: string, action: ClassAction): Promise<{ ok: boolean; affected?: number; message?: string }> {
  const r = await fetch(`${API_CLASSROOM_PATH}/action`, {
    method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(action),
  });
  const body = (await r.json().catch(() => ({}))) as { affected?: number; message?: string };
  return { ok: r.ok, ...body };
}
