/**
 * CorpusMetrics: one streaming accumulator per group (a source or a kind).
 *
 * Two parts, both of fixed memory:
 *
 * 1. Exact streaming counters over every document: documents, tokens, chars,
 *    words, a log-spaced length histogram (length.ts) and a hashed unigram
 *    sketch (unigram.ts). These merge exactly by addition.
 *
 * 2. A fixed-size token sample for the diversity metrics (distinct-n, MATTR,
 *    hapax share, compression ratio, top 3-gram concentration). Each document is
 *    cut into windows of `windowWords` consecutive words (the last one shorter);
 *    every window gets a pseudo-random key = hash(seed, document words, window
 *    index), and the sample is the set of windows with the smallest keys whose
 *    words just reach `sampleTokens` (bottom-k / priority sampling). This is a
 *    uniform sample of windows, i.e. every word of the corpus has the same chance,
 *    so a few long documents do not dominate and two groups of different sizes are
 *    measured on samples of the same size. Because the key depends only on the
 *    seed and the content (not on arrival order or on an RNG stream), the sample
 *    of a merged accumulator equals the sample of one accumulator that saw all
 *    documents: the sample merges exactly too. Identical documents get identical
 *    keys, so exact duplicates enter the sample together (their duplication stays
 *    visible, as it should).
 *
 * The diversity metrics are computed in `result()` on the sample and also on its
 * prefixes of 1k, 2k, 5k, 10k, ... words (`curve`), so groups with different
 * sample sizes can be compared at the largest size they share (compare.ts).
 */
import { deflateRawSync } from 'node:zlib';
import { InputError, Rng, UsageError } from '@curate/core';
import { LENGTH_BUCKETS, type LengthStats, lengthBucket, lengthStats } from './length.js';
import { UnigramSketch } from './unigram.js';
import { fmix32, scanWords, WordBuffer } from './words.js';

export interface MetricsOptions {
  /** Seed of the sample (default 0). Same seed, same data: same result, in any order or split. */
  seed?: number | string;
  /** Words in the diversity sample (default 50,000). */
  sampleTokens?: number;
  /** Words per sampled window (default 100). */
  windowWords?: number;
  /** MATTR window in words (default 50, Covington & McFall 2010). */
  mattrWindow?: number;
  /** How many of the most frequent 3-grams `topNgramConcentration` sums (default 100). */
  topK?: number;
  /** Buckets of the unigram sketch, a power of two (default 65,536). */
  unigramBuckets?: number;
}

/** Diversity metrics measured on a sample of `tokens` words. */
export interface SampleMetrics {
  /** Words in the sample these figures were measured on. */
  tokens: number;
  /** distinct-n: distinct n-grams / n-gram occurrences (n-grams do not cross window or document boundaries). */
  distinct: { 1: number; 2: number; 3: number; 4: number };
  /** Moving-average type-token ratio over the sample read as one stream. */
  mattr: number;
  /** Word types seen exactly once / word types. */
  hapaxShare: number;
  /** UTF-8 bytes / raw-deflate bytes (level 6) of the sampled windows' text joined by newlines. Higher = more redundant. */
  compressionRatio: number;
  /** Occurrences of the `topK` most frequent 3-grams / all 3-gram occurrences. */
  topNgramConcentration: number;
}

export interface MetricsResult {
  documents: number;
  /** Sum of the token counts given to `add()`, words where none was given. */
  tokens: number;
  /** Words as the metrics tokenise them (see words.ts). */
  words: number;
  /** UTF-16 code units (JavaScript string length). */
  chars: number;
  /** Document length in words. */
  length: LengthStats;
  /** Words in the diversity sample (all words when the group has fewer than `sampleTokens`). */
  sampleTokens: number;
  distinct: SampleMetrics['distinct'];
  mattr: number;
  hapaxShare: number;
  compressionRatio: number;
  topNgramConcentration: number;
  /** The same metrics on sample prefixes of 1k, 2k, 5k, 10k, ... words, ending with the whole sample. */
  curve: SampleMetrics[];
  /** Unigram counts over all words, for `jensenShannon`. */
  unigram: UnigramSketch;
  /** The options the group was measured with (for comparisons). */
  options: Required<MetricsOptions>;
}

/** Plain-data form of a CorpusMetrics (see `toState`). */
export interface CorpusMetricsState {
  options: Required<MetricsOptions>;
  documents: number;
  tokens: number;
  words: number;
  chars: number;
  lengthCounts: Float64Array;
  unigramCounts: Float64Array;
  unigramTotal: number;
  sample: { key: number; hashes: Uint32Array; text: Uint8Array }[];
}

interface Unit {
  key: number;
  hashes: Uint32Array;
  text: Buffer;
}

const DEFAULTS: Required<MetricsOptions> = {
  seed: 0,
  sampleTokens: 50_000,
  windowWords: 100,
  mattrWindow: 50,
  topK: 100,
  unigramBuckets: 65536,
};

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new UsageError(`metrics option ${name} must be an integer >= ${min}, got ${v}`, {
      code: 'E_METRICS_OPTIONS',
    });
  }
}

/** Max-heap of sampled windows by key. */
class UnitHeap {
  readonly items: Unit[] = [];
  tokens = 0;
  /**
   * Keys at or above this cannot enter a sample of `budget` tokens (+Infinity until it is full).
   * A field read on every window, so the hot loop has no branch that runs only once the sample is
   * full: V8 optimised that loop on the first long document and then deoptimised at such a branch
   * ~1,000 times per `curate mix` run (measured with --trace-deopt).
   */
  limit = Number.POSITIVE_INFINITY;

  /** Add `u` to a sample of `budget` tokens, evicting the highest keys it no longer needs. */
  offer(u: Unit, budget: number): void {
    this.push(u);
    while (this.tokens - this.items[0].hashes.length >= budget) this.pop();
    this.setLimit(budget);
  }

  setLimit(budget: number): void {
    this.limit = this.tokens >= budget ? this.items[0].key : Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.items.length;
  }

  push(u: Unit): void {
    const a = this.items;
    a.push(u);
    this.tokens += u.hashes.length;
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].key >= u.key) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = u;
  }

  pop(): Unit {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as Unit;
    this.tokens -= top.hashes.length;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r].key > a[l].key ? r : l;
        if (a[c].key <= last.key) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export class CorpusMetrics {
  readonly options: Required<MetricsOptions>;
  private documents = 0;
  private tokens = 0;
  private words = 0;
  private chars = 0;
  private readonly lengthCounts = new Float64Array(LENGTH_BUCKETS);
  private readonly unigram: UnigramSketch;
  private readonly sample = new UnitHeap();
  private readonly saltA: number;
  private readonly saltB: number;
  private readonly buf = new WordBuffer();

  constructor(options: MetricsOptions = {}) {
    const o = { ...DEFAULTS, ...options };
    checkInt('sampleTokens', o.sampleTokens, 1);
    checkInt('windowWords', o.windowWords, 4);
    checkInt('mattrWindow', o.mattrWindow, 1);
    checkInt('topK', o.topK, 1);
    this.options = o;
    this.unigram = new UnigramSketch(o.unigramBuckets);
    const rng = new Rng(`metrics/${o.seed}`);
    this.saltA = rng.uint32();
    this.saltB = rng.uint32();
  }

  /**
   * Add one document. `tokens` is its token count when the caller has one (e.g.
   * from the mix tokenizer); otherwise its word count is used for `tokens`.
   */
  add(text: string, tokens?: number): void {
    if (typeof text !== 'string') {
      throw new InputError(`metrics: document text must be a string, got ${text === null ? 'null' : typeof text}`, {
        code: 'E_METRICS_TEXT',
      });
    }
    const buf = this.buf;
    const n = scanWords(text, buf);
    const hashes = buf.hashes;
    this.documents++;
    this.words += n;
    this.tokens += tokens ?? n;
    this.chars += text.length;
    this.lengthCounts[lengthBucket(n)]++;

    const uni = this.unigram.counts;
    const mask = uni.length - 1;
    let doc = 0x9e3779b9 ^ n;
    for (let i = 0; i < n; i++) {
      const h = hashes[i];
      uni[h & mask]++;
      doc = Math.imul(doc ^ h, 0x01000193) + i;
    }
    this.unigram.total += n;
    if (n === 0) return;

    // Sample windows: key = hash(seed, document, window index), 52 bits.
    const w = this.options.windowWords;
    const budget = this.options.sampleTokens;
    const heap = this.sample;
    doc = fmix32(doc);
    for (let s = 0, wi = 0; s < n; s += w, wi++) {
      const k1 = fmix32(doc ^ this.saltA ^ Math.imul(wi + 1, 0x9e3779b1));
      const k2 = fmix32(Math.imul(doc, 0x85ebca6b) ^ this.saltB ^ Math.imul(wi + 1, 0xc2b2ae35));
      const key = k1 * 1048576 + (k2 >>> 12);
      if (key >= heap.limit) continue; // heap.tokens >= budget && key >= the top key
      const e = Math.min(n, s + w);
      // Copy the words and the text (a copy, so the sample never pins the whole document).
      heap.offer(
        {
          key,
          hashes: hashes.slice(s, e),
          text: Buffer.from(text.slice(buf.starts[s], buf.ends[e - 1]), 'utf8'),
        },
        budget,
      );
    }
  }

  /**
   * Fold another accumulator into this one. Exact (identical to one accumulator
   * that saw both streams): documents, tokens, words, chars, length histogram and
   * mean, unigram sketch, and the diversity sample (hence every sample metric).
   * Approximate, by construction and not by merging: length quantiles (read from
   * 1/4-octave buckets). Both accumulators must use the same options.
   */
  merge(other: CorpusMetrics): void {
    if (other === this) throw new UsageError('cannot merge metrics into themselves', { code: 'E_METRICS_MERGE' });
    const a = this.options;
    const b = other.options;
    for (const k of Object.keys(a) as (keyof MetricsOptions)[]) {
      if (String(a[k]) !== String(b[k])) {
        throw new UsageError(`cannot merge metrics with different ${k} (${a[k]} vs ${b[k]})`, {
          code: 'E_METRICS_MERGE',
        });
      }
    }
    this.documents += other.documents;
    this.tokens += other.tokens;
    this.words += other.words;
    this.chars += other.chars;
    for (let i = 0; i < LENGTH_BUCKETS; i++) this.lengthCounts[i] += other.lengthCounts[i];
    this.unigram.merge(other.unigram);
    const budget = a.sampleTokens;
    const heap = this.sample;
    for (const u of other.sample.items) {
      if (u.key >= heap.limit) continue;
      heap.offer(u, budget);
    }
  }

  /**
   * The accumulator as plain data (numbers, typed arrays, arrays), for `postMessage` or
   * `v8.serialize` to another thread; `CorpusMetrics.fromState` rebuilds an identical one.
   * The sample's texts are shared, not copied: the state is a view of this accumulator.
   */
  toState(): CorpusMetricsState {
    return {
      options: { ...this.options },
      documents: this.documents,
      tokens: this.tokens,
      words: this.words,
      chars: this.chars,
      lengthCounts: this.lengthCounts,
      unigramCounts: this.unigram.counts,
      unigramTotal: this.unigram.total,
      sample: this.sample.items.map((u) => ({ key: u.key, hashes: u.hashes, text: u.text })),
    };
  }

  /** An accumulator equal to the one `state` was taken from (merges and results are identical). */
  static fromState(state: CorpusMetricsState): CorpusMetrics {
    const m = new CorpusMetrics(state.options);
    m.documents = state.documents;
    m.tokens = state.tokens;
    m.words = state.words;
    m.chars = state.chars;
    m.lengthCounts.set(state.lengthCounts);
    if (state.unigramCounts.length !== m.unigram.counts.length) {
      throw new UsageError('metrics state: unigram sketch size does not match its options', {
        code: 'E_METRICS_MERGE',
      });
    }
    m.unigram.counts.set(state.unigramCounts);
    m.unigram.total = state.unigramTotal;
    // the items keep their heap order; texts become Buffers again (a structured clone makes them Uint8Arrays)
    const heap = m.sample;
    for (const u of state.sample) {
      const t = u.text;
      heap.items.push({ key: u.key, hashes: u.hashes, text: Buffer.from(t.buffer, t.byteOffset, t.byteLength) });
      heap.tokens += u.hashes.length;
    }
    heap.setLimit(m.options.sampleTokens);
    return m;
  }

  /** Approximate heap memory held by this accumulator, in bytes. */
  memoryBytes(): number {
    let s = 0;
    for (const u of this.sample.items) s += u.hashes.byteLength + u.text.byteLength + 160;
    return s + this.unigram.counts.byteLength + this.lengthCounts.byteLength + this.buf.hashes.byteLength * 3 + 512;
  }

  result(): MetricsResult {
    const units = [...this.sample.items].sort((x, y) => x.key - y.key);
    const curve = sampleCurve(units, this.options);
    const full = curve[curve.length - 1];
    return {
      documents: this.documents,
      tokens: this.tokens,
      words: this.words,
      chars: this.chars,
      length: lengthStats(this.lengthCounts, this.words, this.documents),
      sampleTokens: full.tokens,
      distinct: full.distinct,
      mattr: full.mattr,
      hapaxShare: full.hapaxShare,
      compressionRatio: full.compressionRatio,
      topNgramConcentration: full.topNgramConcentration,
      curve,
      unigram: this.unigram.clone(),
      options: { ...this.options },
    };
  }
}

/** Checkpoints 1k, 2k, 5k, 10k, ... below `total`, then `total`. */
export function checkpoints(total: number): number[] {
  const out: number[] = [];
  for (let base = 1000; base < total; base *= 10) {
    for (const m of [1, 2, 5]) if (base * m < total) out.push(base * m);
  }
  out.push(total);
  return out;
}

/**
 * Counts of 53-bit keys given as (hi, lo) = (a, b >>> 11) (the n-gram keys of `sampleCurve`): open
 * addressing in typed arrays, growing at half full. Same keys, same counts as a Map of the numbers
 * `(a >>> 0) * 2^21 + (b >>> 11)`, without boxing a double per key.
 */
class PairCounter {
  private mask: number;
  private hi: Int32Array;
  private lo: Int32Array;
  private cnt: Int32Array;
  size = 0;

  /**
   * `expected`: the most keys it will hold. The table starts at twice that (a power of two, at most
   * 2^20 slots), so a default sample's counters never grow: growing from 1,024 slots cost ~75 ms of a re-mix's 3 s (profiled).
   */
  constructor(expected = 512) {
    let cap = 1024;
    while (cap < expected * 2 && cap < 1 << 20) cap *= 2; // past 2^20 slots it grows as it fills
    this.mask = cap - 1;
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.cnt = new Int32Array(cap);
  }

  /** Add one occurrence of (a, b >>> 11); returns its new count. */
  add(a: number, b: number): number {
    const hi = a | 0;
    const lo = b >>> 11;
    let h = Math.imul(hi ^ Math.imul(lo, 0x85ebca6b), 0x7feb352d);
    h ^= h >>> 15;
    let i = h & this.mask;
    for (;;) {
      const c = this.cnt[i];
      if (c === 0) break;
      if (this.hi[i] === hi && this.lo[i] === lo) return ++this.cnt[i];
      i = (i + 1) & this.mask;
    }
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.cnt[i] = 1;
    if (++this.size * 2 > this.mask) this.grow();
    return 1;
  }

  private grow(): void {
    const { hi, lo, cnt } = this;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.cnt = new Int32Array(cap);
    for (let j = 0; j < cnt.length; j++) {
      if (cnt[j] === 0) continue;
      let h = Math.imul(hi[j] ^ Math.imul(lo[j], 0x85ebca6b), 0x7feb352d);
      h ^= h >>> 15;
      let i = h & this.mask;
      while (this.cnt[i] !== 0) i = (i + 1) & this.mask;
      this.hi[i] = hi[j];
      this.lo[i] = lo[j];
      this.cnt[i] = cnt[j];
    }
  }

  /** The counts of all keys (any order). */
  counts(): Float64Array {
    const out = new Float64Array(this.size);
    let k = 0;
    for (let j = 0; j < this.cnt.length; j++) if (this.cnt[j] !== 0) out[k++] = this.cnt[j];
    return out;
  }
}

function sampleCurve(units: Unit[], o: Required<MetricsOptions>): SampleMetrics[] {
  let total = 0;
  for (const u of units) total += u.hashes.length;
  const cps = checkpoints(total);
  const out: SampleMetrics[] = [];
  // at most `total` keys each (the table size does not change any count)
  const uni = new PairCounter(total);
  let hapax = 0;
  const bi = new PairCounter(total);
  const tri = new PairCounter(total);
  const four = new PairCounter(total);
  const occ = [0, 0, 0, 0, 0];
  // MATTR over the sample as one stream.
  const W = o.mattrWindow;
  const ring = new Uint32Array(W);
  const win = new Map<number, number>();
  let streamPos = 0;
  let ttrSum = 0;
  let ttrWindows = 0;

  let seen = 0;
  let ci = 0;
  const texts: Buffer[] = [];
  const nl = Buffer.from('\n');
  const record = (): void => {
    const types = uni.size;
    let top = 0;
    if (tri.size > 0) {
      const counts = tri.counts().sort();
      for (let i = counts.length - 1, k = 0; i >= 0 && k < o.topK; i--, k++) top += counts[i];
    }
    const joined = Buffer.concat(texts.flatMap((t, i) => (i === 0 ? [t] : [nl, t])));
    const packed = joined.length === 0 ? 0 : deflateRawSync(joined, { level: 6 }).length;
    out.push({
      tokens: seen,
      distinct: {
        1: occ[1] ? uni.size / occ[1] : 0,
        2: occ[2] ? bi.size / occ[2] : 0,
        3: occ[3] ? tri.size / occ[3] : 0,
        4: occ[4] ? four.size / occ[4] : 0,
      },
      mattr: ttrWindows > 0 ? ttrSum / ttrWindows : seen > 0 ? win.size / seen : 0,
      hapaxShare: types ? hapax / types : 0,
      compressionRatio: packed ? joined.length / packed : 0,
      topNgramConcentration: occ[3] ? top / occ[3] : 0,
    });
  };

  for (const u of units) {
    if (ci >= cps.length) break;
    texts.push(u.text);
    const h = u.hashes;
    for (let i = 0; i < h.length; i++) {
      const x = h[i];
      // unigrams and hapax
      const c = uni.add(x, 0);
      if (c === 1) hapax++;
      else if (c === 2) hapax--;
      occ[1]++;
      if (i >= 1) {
        bi.add(h[i - 1], Math.imul(x, 0x9e3779b1));
        occ[2]++;
      }
      if (i >= 2) {
        const a = fmix32(Math.imul(h[i - 2], 0x85ebca6b) ^ h[i - 1]);
        tri.add(a ^ x, Math.imul(h[i - 2] ^ Math.imul(h[i - 1], 0xc2b2ae35), 0x27d4eb2f) ^ x);
        occ[3]++;
      }
      if (i >= 3) {
        const a = fmix32(fmix32(Math.imul(h[i - 3], 0x85ebca6b) ^ h[i - 2]) ^ h[i - 1]) ^ x;
        const b = fmix32(Math.imul(h[i - 3] ^ Math.imul(h[i - 2], 0x27d4eb2f), 0x165667b1) ^ h[i - 1]) + x;
        four.add(a, b);
        occ[4]++;
      }
      // MATTR
      if (streamPos >= W) {
        const old = ring[streamPos % W];
        const oc = win.get(old) as number;
        if (oc === 1) win.delete(old);
        else win.set(old, oc - 1);
      }
      ring[streamPos % W] = x;
      win.set(x, (win.get(x) ?? 0) + 1);
      streamPos++;
      if (streamPos >= W) {
        ttrSum += win.size / W;
        ttrWindows++;
      }
      seen++;
      if (seen === cps[ci]) {
        record();
        ci++;
        if (ci >= cps.length) break;
      }
    }
  }
  if (out.length === 0) record();
  return out;
}
