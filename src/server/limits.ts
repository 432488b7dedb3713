import { GatewayError } from '../errors.js';

/**
 * Requests per minute per principal, as a token bucket: a burst of up to the whole minute's
 * allowance, refilled evenly. Buckets of principals that stopped calling are dropped once
 * full again, so the map stays as small as the set of active callers.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes one request from the principal's allowance, or throws GW_RATE_LIMITED. */
  take(principal: string): void {
    const t = this.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(principal) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * rate);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(principal, b);
      const retryS = Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
      throw Object.assign(new GatewayError('GW_RATE_LIMITED',
        `more than ${this.perMinute} requests per minute; retry in ${retryS} s`), { retryS });
    }
    b.tokens -= 1;
    this.buckets.set(principal, b);
    this.sweep(t, rate);
  }

  private sweep(t: number, rate: number): void {
    if (this.buckets.size < 1024) return;
    for (const [k, b] of this.buckets) {
      if (b.tokens + (t - b.at) * rate >= this.perMinute) this.buckets.delete(k);
    }
  }
}

/** Open streams per principal; `acquire` returns the release function. */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  acquire(principal: string): () => void {
    const n = this.open.get(principal) ?? 0;
    if (n >= this.max) {
      throw new GatewayError('GW_STREAMS_LIMITED', `at most ${this.max} open streams`);
    }
    this.open.set(principal, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(principal) ?? 1) - 1;
      if (left <= 0) this.open.delete(principal);
      else this.open.set(principal, left);
    };
  }

  count(principal: string): number {
    return this.open.get(principal) ?? 0;
  }

  get total(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }
}
