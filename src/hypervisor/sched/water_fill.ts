/**
 * Proportional sharing with ceilings ("water filling"), the arithmetic behind credit handed out
 * by weight. Pure; the credit scheduler calls it once per accounting period.
 */

/** Below this, what is left to share is rounding noise, not time (ms). */
const NOISE = 1e-9;

/**
 * Splits `total` between claimants in proportion to `weights`, giving none more than its
 * `ceilings` entry; what a claimant cannot take is split among the others the same way. What
 * nobody can take is left over (the sum of the result may be less than `total`).
 */
export function waterFill(total: number, weights: number[], ceilings: number[]): number[] {
  const out = weights.map(() => 0);
  const open = new Set(weights.keys());
  let left = total;
  while (open.size > 0 && left > NOISE) {
    let weightSum = 0;
    for (const i of open) weightSum += weights[i] ?? 0;
    if (weightSum <= 0) break;
    // Claimants whose proportional part would overflow their ceiling are filled and leave; the
    // rest is split again among those still open.
    const full = [...open].filter(
      (i) => (left * (weights[i] ?? 0)) / weightSum >= (ceilings[i] ?? 0) - (out[i] ?? 0),
    );
    if (full.length === 0) {
      for (const i of open) out[i] = (out[i] ?? 0) + (left * (weights[i] ?? 0)) / weightSum;
      break;
    }
    for (const i of full) {
      left -= (ceilings[i] ?? 0) - (out[i] ?? 0);
      out[i] = ceilings[i] ?? 0;
      open.delete(i);
    }
  }
  return out;
}
