// The instructor's HTTP calls (Authorization: Bearer <token>) and where the token is kept (this tab only).
import { API_CLASSES_PATH, type ClassDetail, type ClassListResponse, type CreateClassRequest } from '../../server/protocol/classes';
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
    method: 'POST',
    headers: { ...auth(token), 'Content-Type': 'application/json' },
    body: JSON.stringify(action),
  });
  const body = (await r.json().catch(() => ({}))) as { affected?: number; message?: string };
  return { ok: r.ok, ...body };
}

// ---- classes (server/classroom/class-api.ts) ----

async function call<T>(token: string, path: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(path, {
    ...init,
    cache: 'no-store',
    headers: { ...auth(token), 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) },
  });
  const body = (await r.json().catch(() => ({}))) as T & { message?: string };
  if (!r.ok) throw new Error(body.message ?? `HTTP ${r.status}`);
  return body;
}
export const listClasses = (token: string) => call<ClassListResponse>(token, API_CLASSES_PATH);
export const getClass = (token: string, id: string) => call<ClassDetail>(token, `${API_CLASSES_PATH}/${id}`);
export const createClass = (token: string, c: CreateClassRequest) =>
  call<ClassDetail>(token, API_CLASSES_PATH, { method: 'POST', body: JSON.stringify(c) });
export const setClassCap = (token: string, id: string, cap: number) =>
  call<{ cap: number }>(token, `${API_CLASSES_PATH}/${id}/cap`, { method: 'POST', body: JSON.stringify({ cap }) });
export const endClass = (token: string, id: string) =>
  call<{ affected: number }>(token, `${API_CLASSES_PATH}/${id}/end`, { method: 'POST', body: '{}' });

/** The CSV through fetch (the token is a header, so a plain link cannot carry it), saved as a download. */
export async function downloadCsv(token: string, id: string): Promise<void> {
  const r = await fetch(`${API_CLASSES_PATH}/${id}/export.csv`, { headers: auth(token), cache: 'no-store' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') ?? '')?.[1] ?? 'class.csv';
  const url = URL.createObjectURL(await r.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
