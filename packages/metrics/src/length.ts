/**
 * Document lengths (in words, see words.ts) on fixed log-spaced buckets, so the
 * histograms of any two groups line up and merge by addition.
 *
 * Bucket 0 holds empty documents; bucket i >= 1 holds lengths in
 * [2^((i-1)/4), 2^(i/4)): four buckets per doubling, up to 2^24 words; longer
 * documents go to the last bucket. Quantiles are read from the histogram with
 * geometric interpolation inside a bucket (error < 19%, one bucket width);
 * the mean is exact.
 */

export const BUCKETS_PER_OCTAVE = 4;
const MAX_OCTAVES = 24;
export const LENGTH_BUCKETS = 1 + BUCKETS_PER_OCTAVE * MAX_OCTAVES;

/** Lower edges of the buckets (edges[0] = 0 for empty documents, then 1, 2^0.25, ...). */
export const LENGTH_EDGES: readonly number[] = Object.freeze(
  Array.from({ length: LENGTH_BUCKETS + 1 }, (_, i) => (i === 0 ? 0 : 2 ** ((i - 1) / BUCKETS_PER_OCTAVE))),
);

export function lengthBucket(words: number): number {
  if (words <= 0) return 0;
  // Small integers are common: compute exactly, guarding float rounding at the edges.
  let b = Math.floor(Math.log2(words) * BUCKETS_PER_OCTAVE) + 1;
  if (b < 1) b = 1;
  if (LENGTH_EDGES[b] > words) b--;
  else if (b + 1 < LENGTH_EDGES.length && LENGTH_EDGES[b + 1] <= words) b++;
  return b >= LENGTH_BUCKETS ? LENGTH_BUCKETS - 1 : b;
}

export interface LengthHistogram {
  /** `counts.length + 1` bucket edges in words: bucket i is [edges[i], edges[i+1]). */
  edges: number[];
  counts: number[];
}

export interface LengthStats {
  /** Exact mean length in words. */
  mean: number;
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  histogram: LengthHistogram;
}

/** Quantile q in [0, 1] from bucket counts (geometric interpolation inside the bucket). */
export function histogramQuantile(counts: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return 0;
  const target = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c > 0 && cum + c >= target) {
      if (i === 0) return 0;
      const lo = LENGTH_EDGES[i];
      const hi = LENGTH_EDGES[i + 1];
      const f = c === 0 ? 0 : Math.min(1, Math.max(0, (target - cum) / c));
      return lo * (hi / lo) ** f;
    }
    cum += c;
  }
  return LENGTH_EDGES[counts.length];
}

export function lengthStats(counts: ArrayLike<number>, totalWords: number, documents: number): LengthStats {
  // Trim trailing empty buckets for a compact result; edges stay the fixed ones.
  let last = counts.length - 1;
  while (last > 0 && counts[last] === 0) last--;
  const kept = Array.from({ length: last + 1 }, (_, i) => counts[i]);
  return {
    mean: documents === 0 ? 0 : totalWords / documents,
    p10: histogramQuantile(counts, 0.1),
    p50: histogramQuantile(counts, 0.5),
    p90: histogramQuantile(counts, 0.9),
    p99: histogramQuantile(counts, 0.99),
    histogram: { edges: LENGTH_EDGES.slice(0, kept.length + 1), counts: kept },
  };
}

/** Position of a bucket on the log2 axis (its centre; empty documents sit one bucket below length 1). */
function bucketPosition(i: number): number {
  if (i === 0) return -1 / BUCKETS_PER_OCTAVE;
  return (i - 0.5) / BUCKETS_PER_OCTAVE;
}

type HasLength = { length: LengthStats } | LengthStats | LengthHistogram;

function histogramOf(x: HasLength): LengthHistogram {
  if ('histogram' in x) return x.histogram;
  if ('length' in x && typeof x.length === 'object') return x.length.histogram;
  return x as LengthHistogram;
}

/**
 * Wasserstein-1 (earth mover's) distance between two length distributions on the
 * log2 axis, in octaves: 1.0 means lengths differ by about a factor of two on
 * average; 0 means identical histograms. Computed on the fixed buckets
 * (resolution 1/4 octave) as the integral of |CDF_a - CDF_b|.
 */
export function lengthDistance(a: HasLength, b: HasLength): number {
  const ca = histogramOf(a).counts;
  const cb = histogramOf(b).counts;
  const n = Math.max(ca.length, cb.length);
  let ta = 0;
  let tb = 0;
  for (const v of ca) ta += v;
  for (const v of cb) tb += v;
  if (ta === 0 || tb === 0) return ta === tb ? 0 : Number.NaN;
  let fa = 0;
  let fb = 0;
  let d = 0;
  for (let i = 0; i < n - 1; i++) {
    fa += (ca[i] ?? 0) / ta;
    fb += (cb[i] ?? 0) / tb;
    d += Math.abs(fa - fb) * (bucketPosition(i + 1) - bucketPosition(i));
  }
  return d;
}
