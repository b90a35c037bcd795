// A session's x-ray feed: one sampler for the current sandbox while a client watches at least one view.
import type { XrayMsg, XrayView } from '../protocol/xray.ts';
import { XraySampler, type SamplerOptions, type XraySource } from './sampler.ts';

export class XrayFeed {
  private views: XrayView[] = [];
  private source: XraySource | null = null;
  private sampler: XraySampler | null = null;

  constructor(
    private readonly send: (msg: XrayMsg) => void,
    private readonly opts: SamplerOptions = {},
  ) {}

  /** The client's subscription ([] = none: the sampler is dropped, nothing runs). */
  watch(views: readonly XrayView[]): void {
    this.views = [...views];
    this.sync();
  }

  /** The running sandbox, or null while none runs (creating, exited, destroyed). */
  setSource(source: XraySource | null): void {
    if (source === this.source) return;
    this.source = source;
    this.sampler?.stop();
    this.sampler = null;
    this.sync();
  }

  /** True while a sampler exists (for tests: no sampler, no timer). */
  get active(): boolean {
    return this.sampler?.active ?? false;
  }

  /** The sampler lives as long as its sandbox (it remembers when it last sampled); with no views it has no timer. */
  private sync(): void {
    if (!this.source) {
      this.sampler?.stop();
      this.sampler = null;
      return;
    }
    if (!this.views.length && !this.sampler) return;
    this.sampler ??= new XraySampler(this.source, this.send, this.opts);
    this.sampler.watch(this.views);
  }
}
