// Keyed diffs between two samples: only what changed goes over the WebSocket.

/** Entries of `next` that are new or differ from `prev` (by JSON), and keys of `prev` gone from `next`. */
export function diffKeyed<K, V>(prev: Map<K, V> | null, next: Map<K, V>): { set: V[]; del: K[] } {
  const set: V[] = [];
  const del: K[] = [];
  for (const [k, v] of next) {
    const old = prev?.get(k);
    if (old === undefined || !same(old, v)) set.push(v);
  }
  if (prev) for (const k of prev.keys()) if (!next.has(k)) del.push(k);
  return { set, del };
}

export function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export function byKey<K, V>(list: readonly V[], key: (v: V) => K): Map<K, V> {
  const m = new Map<K, V>();
  for (const v of list) m.set(key(v), v);
  return m;
}
