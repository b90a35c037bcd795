// queue.ts: an async queue of child events, so the outer parent can await "the next stage" in order.
export class AsyncQueue<T> {
  private items: T[] = [];
  private waiters: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  private closed: Error | null = null;

  push(item: T): void {
    const w = this.waiters.shift();
    if (w) w.resolve(item);
    else this.items.push(item);
  }

  /** Ends the queue: pending and later next() calls reject with err once buffered items are consumed. */
  close(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  next(timeoutMs = 0): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift() as T);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      const w = { resolve, reject };
      this.waiters.push(w);
      if (timeoutMs > 0) {
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for the sandbox's next stage`));
        }, timeoutMs);
        const settle =
          <A>(fn: (a: A) => void) =>
          (a: A) => {
            clearTimeout(timer);
            fn(a);
          };
        w.resolve = settle(resolve);
        w.reject = settle(reject);
      }
    });
  }
}
