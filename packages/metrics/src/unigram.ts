/**
 * A fixed-size unigram count sketch: word hash -> one of `buckets` counters
 * (a power of two; default 65,536 = 512 KiB of Float64 counts). It counts every
 * word of every document, merges exactly by addition, and is comparable across
 * groups because the word hash is fixed (not seeded).
 *
 * Jensen-Shannon divergence on bucketed counts is a lower bound of the true
 * word-level JSD (merging outcomes never increases a divergence); with 65,536
 * buckets and natural-language vocabularies the frequent words that dominate JSD
 * rarely share a bucket.
 */
import { UsageError } from '@curate/core';

export class UnigramSketch {
  readonly counts: Float64Array;
  total = 0;

  constructor(buckets = 65536) {
    if (!Number.isInteger(buckets) || buckets < 16 || (buckets & (buckets - 1)) !== 0 || buckets > 1 << 24) {
      throw new UsageError(`unigram buckets must be a power of two in [16, 2^24], got ${buckets}`, {
        code: 'E_METRICS_OPTIONS',
      });
    }
    this.counts = new Float64Array(buckets);
  }

  get buckets(): number {
    return this.counts.length;
  }

  /** Count one word hash (see words.ts). */
  addHash(hash: number, n = 1): void {
    this.counts[hash & (this.counts.length - 1)] += n;
    this.total += n;
  }

  merge(other: UnigramSketch): void {
    if (other.counts.length !== this.counts.length) {
      throw new UsageError(`cannot merge unigram sketches of ${other.buckets} and ${this.buckets} buckets`, {
        code: 'E_METRICS_MERGE',
      });
    }
    const a = this.counts;
    const b = other.counts;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
    this.total += other.total;
  }

  clone(): UnigramSketch {
    const s = new UnigramSketch(this.counts.length);
    s.counts.set(this.counts);
    s.total = this.total;
    return s;
  }

  /** Sparse, lossless JSON form: `{ buckets, total, index: [...], count: [...] }`. */
  toJSON(): { buckets: number; total: number; index: number[]; count: number[] } {
    const index: number[] = [];
    const count: number[] = [];
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] !== 0) {
        index.push(i);
        count.push(this.counts[i]);
      }
    }
    return { buckets: this.counts.length, total: this.total, index, count };
  }

  static fromJSON(json: { buckets: number; total: number; index: number[]; count: number[] }): UnigramSketch {
    const s = new UnigramSketch(json.buckets);
    for (let i = 0; i < json.index.length; i++) s.counts[json.index[i]] = json.count[i];
    s.total = json.total;
    return s;
  }
}

function sketchOf(x: UnigramSketch | { unigram: UnigramSketch }): UnigramSketch {
  return x instanceof UnigramSketch ? x : x.unigram;
}

/**
 * Jensen-Shannon divergence (base 2, in [0, 1]) between the unigram
 * distributions of two groups: 0 for identical distributions, 1 for disjoint
 * vocabularies. Both sketches must have the same number of buckets.
 */
export function jensenShannon(
  a: UnigramSketch | { unigram: UnigramSketch },
  b: UnigramSketch | { unigram: UnigramSketch },
): number {
  const sa = sketchOf(a);
  const sb = sketchOf(b);
  if (sa.buckets !== sb.buckets) {
    throw new UsageError(`cannot compare unigram sketches of ${sa.buckets} and ${sb.buckets} buckets`, {
      code: 'E_METRICS_MERGE',
    });
  }
  if (sa.total === 0 || sb.total === 0) return sa.total === sb.total ? 0 : 1;
  const ca = sa.counts;
  const cb = sb.counts;
  const ia = 1 / sa.total;
  const ib = 1 / sb.total;
  let d = 0;
  for (let i = 0; i < ca.length; i++) {
    const p = ca[i] * ia;
    const q = cb[i] * ib;
    if (p === 0 && q === 0) continue;
    const m = (p + q) / 2;
    if (p > 0) d += p * Math.log2(p / m);
    if (q > 0) d += q * Math.log2(q / m);
  }
  const jsd = d / 2;
  return Math.max(0, Math.min(1, jsd));
}
