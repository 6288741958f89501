/**
 * A small seeded pseudo-random generator (xorshift32) for everything that must be reproducible
 * from a seed: the JIT's differential tester, the scheduler simulator, property tests. Not for
 * secrets or guest entropy (that is crypto.getRandomValues or the board's seeded bytes).
 */
export class Xorshift32 {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  /** The next 32-bit unsigned value. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** A number in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }

  /** A number in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  pick<X>(a: readonly X[]): X {
    return a[this.int(a.length)]!;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }
}
