// Token buckets, one per connection and rate class: `burst` at once, refilled at `perSecond`.
export interface BucketSpec {
  burst: number;
  perSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly spec: BucketSpec,
    private readonly now: () => number,
  ) {
    this.tokens = spec.burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    // A clock that goes backwards must not mint tokens.
    const elapsed = Math.max(0, t - this.last);
    this.last = Math.max(this.last, t);
    this.tokens = Math.min(this.spec.burst, this.tokens + (elapsed / 1000) * this.spec.perSecond);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
