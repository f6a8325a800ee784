import type { Rng } from '@curate/core';
import { PlanError } from './errors.js';
import type { MixPlan, SourceQuota } from './plan.js';

/** The rows one source gives to the mix. */
export interface SampleSelection {
  source: string;
  /**
   * Row indices into the source's available rows (0-based, in the order pass 1 saw them).
   * Whole epochs first (every row, ascending, once per epoch), then the fractional
   * subset in ascending order, so pass 2 can read each epoch's rows in source order.
   */
  rows: Uint32Array;
  /** Epoch number (0-based) of each selected row. */
  epochs: Uint16Array;
  /** Selected documents (= rows.length). */
  documents: number;
  /** Tokens of the selected rows; 0 when `tokensPerRow` was not given. */
  tokens: number;
}

const MAX_EPOCH_NUMBER = 0xffff;

/**
 * Choose the rows for one source's quota.
 *
 * Whole epochs first: every row once per whole epoch. Then the fractional part: rows taken
 * in a seeded random order (a lazily drawn Fisher-Yates permutation) until the quota is met.
 *
 * - documents: exactly `quota` rows.
 * - tokens: rows are taken while the running total is below the remaining quota; the next
 *   row is taken only if that brings the total no farther from the quota than stopping would
 *   (`acc + t - R <= R - acc`). Hence the achieved total is within half of the largest
 *   document of the quota, never more than `maxEpochs * available + maxRow / 2`, and a row is
 *   used at most ceil(maxEpochs) times. Taking a prefix of a random order (rather than skipping
 *   rows that do not fit) keeps the subset unbiased with respect to document length.
 *
 * Randomness comes from `rng.fork('sample/' + quota.name)`, so each source's sample depends
 * only on the seed and its own name: adding a source never changes another's sample.
 */
export function sampleSource(quota: SourceQuota, tokensPerRow: Uint32Array | undefined, rng: Rng): SampleSelection {
  const n = quota.rows;
  if (tokensPerRow !== undefined && tokensPerRow.length !== n) {
    throw new RangeError(
      `sampleSource("${quota.name}"): tokensPerRow has ${tokensPerRow.length} entries, expected ${n}`,
    );
  }
  if (quota.unit === 'tokens' && tokensPerRow === undefined) {
    throw new RangeError(`sampleSource("${quota.name}"): a plan in tokens needs tokensPerRow`);
  }
  const empty: SampleSelection = {
    source: quota.name,
    rows: new Uint32Array(0),
    epochs: new Uint16Array(0),
    documents: 0,
    tokens: 0,
  };
  if (quota.quota <= 0 || n === 0) return empty;

  let totalUnits: number;
  if (quota.unit === 'tokens') {
    totalUnits = 0;
    for (let i = 0; i < n; i++) totalUnits += (tokensPerRow as Uint32Array)[i];
    if (totalUnits !== quota.available) {
      throw new RangeError(
        `sampleSource("${quota.name}"): tokensPerRow sums to ${totalUnits}, but the plan counted ${quota.available} tokens`,
      );
    }
    if (totalUnits === 0) return empty;
  } else {
    totalUnits = n;
  }
  const whole = Math.floor(quota.quota / totalUnits);
  const remaining = quota.quota - whole * totalUnits;
  if (whole + (remaining > 0 ? 1 : 0) > MAX_EPOCH_NUMBER + 1) {
    throw new PlanError(`source "${quota.name}" would need more than ${MAX_EPOCH_NUMBER + 1} epochs`, {
      code: 'E_MIX_INFEASIBLE',
    });
  }

  // Fractional part: a lazily drawn permutation; stop as soon as the quota is met.
  const r = rng.fork(`sample/${quota.name}`);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let taken = 0;
  if (quota.unit === 'documents') {
    taken = remaining;
    for (let i = 0; i < taken; i++) swap(perm, i, i + r.int(n - i));
  } else {
    const tpr = tokensPerRow as Uint32Array;
    let acc = 0;
    while (acc < remaining && taken < n) {
      swap(perm, taken, taken + r.int(n - taken));
      const t = tpr[perm[taken]];
      if (acc + t - remaining > remaining - acc) break;
      acc += t;
      taken++;
    }
  }
  const frac = perm.subarray(0, taken).sort();

  const total = whole * n + taken;
  const rows = new Uint32Array(total);
  const epochs = new Uint16Array(total);
  let k = 0;
  for (let e = 0; e < whole; e++) {
    for (let i = 0; i < n; i++) {
      rows[k] = i;
      epochs[k++] = e;
    }
  }
  rows.set(frac, k);
  epochs.fill(whole, k);

  let tokens = 0;
  if (tokensPerRow !== undefined) {
    let all = 0;
    for (let i = 0; i < n; i++) all += tokensPerRow[i];
    tokens = whole * all;
    for (let i = 0; i < taken; i++) tokens += tokensPerRow[frac[i]];
  }
  return { source: quota.name, rows, epochs, documents: total, tokens };
}

/**
 * Sample every source of a plan. `tokensPerRow(name)` returns the source's per-row token
 * counts (required for plans in tokens; optional for documents, to report tokens).
 */
export function sampleMix(
  plan: MixPlan,
  tokensPerRow: (source: string) => Uint32Array | undefined,
  rng: Rng,
): SampleSelection[] {
  return plan.quotas.map((q) => sampleSource(q, tokensPerRow(q.name), rng));
}

function swap(a: Uint32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
