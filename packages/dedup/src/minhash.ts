/**
 * MinHash signatures over word or character n-gram shingles.
 *
 * Every shingle is hashed once to 32 bits (words hashed while scanning, n
 * words combined, then MurmurHash3's finaliser). Two kernels:
 * - `oph` (default): one-permutation hashing with optimal densification
 *   (Li, Owen & Zhang 2012; Shrivastava 2017): the seeded shingle hash picks
 *   one of `numPerm` bins by its top bits and each bin keeps its minimum;
 *   empty bins borrow the value of the first non-empty bin on a seeded probe
 *   sequence that depends only on (bin, attempt), so two documents probe
 *   alike. One hash per shingle instead of `numPerm`.
 * - `classic`: `numPerm` independent permutations, each the bijection
 *   `x -> a_i * x + b_i; x ^= x >>> 15` on 32-bit integers (odd `a_i`), in
 *   int32 arithmetic.
 * Both estimate Jaccard as the share of equal positions; the accuracy tests
 * run on both. A signature holds minima in signed int32 order.
 */
import { scriptLanguage, UsageError } from '@curate/core';
import { fmix32, splitmix32 } from './hash.js';
import { normalizePrepared, prepareWords, wordClasses, wordHashes } from './normalize.js';

/** One MinHash signature: `numPerm` int32 minima. */
export type Signature = Int32Array;

export type ShingleKind = 'word' | 'char';
export type MinHashAlgorithm = 'oph' | 'classic';

export interface MinHashOptions {
  /** Permutations (signature length). Default 128. */
  numPerm?: number;
  /** Shingle size in words (or characters for `shingle: 'char'`). Default 5. */
  ngram?: number;
  /** Word n-grams (default) or character n-grams of the normalised text. */
  shingle?: ShingleKind;
  /**
   * With `shingle: 'word'`, how documents whose main script is Han, kana, Hangul, Thai, Lao, Khmer
   * or Myanmar (@curate/core `scriptLanguage`) are shingled: `char` (default) n-grams of `ngram`
   * characters of the normalised text, or `word` n-grams over ICU words (@curate/core
   * `WordSegmenter`). Measured on planted near-duplicates (README): both meet the recall and
   * false-removal bars; characters give half the Jaccard spread at a given edit rate and are
   * 20-45x faster (no ICU).
   */
  cjk?: ShingleKind;
  /** Seed of the permutations; signatures are comparable only with the same seed, numPerm, ngram, shingle and algorithm. */
  seed?: number;
  /** Kernel: one-permutation hashing with densification (default) or `numPerm` permutations. */
  algorithm?: MinHashAlgorithm;
}

export interface ResolvedMinHashOptions {
  numPerm: number;
  ngram: number;
  shingle: ShingleKind;
  cjk: ShingleKind;
  seed: number;
  algorithm: MinHashAlgorithm;
}

export function resolveMinHashOptions(o: MinHashOptions = {}): ResolvedMinHashOptions {
  const numPerm = o.numPerm ?? 128;
  const ngram = o.ngram ?? 5;
  if (!Number.isInteger(numPerm) || numPerm < 2 || numPerm > 4096) {
    throw new UsageError(`num_perm must be an integer in [2, 4096], got ${numPerm}`, { code: 'E_DEDUP_NUM_PERM' });
  }
  if (!Number.isInteger(ngram) || ngram < 1 || ngram > 64) {
    throw new UsageError(`ngram must be an integer in [1, 64], got ${ngram}`, { code: 'E_DEDUP_NGRAM' });
  }
  const shingle = o.shingle ?? 'word';
  if (shingle !== 'word' && shingle !== 'char') {
    throw new UsageError(`shingle must be "word" or "char", got ${String(shingle)}`, { code: 'E_DEDUP_SHINGLE' });
  }
  const algorithm = o.algorithm ?? 'oph';
  if (algorithm !== 'oph' && algorithm !== 'classic') {
    throw new UsageError(`algorithm must be "oph" or "classic", got ${String(algorithm)}`, {
      code: 'E_DEDUP_ALGORITHM',
    });
  }
  const cjk = o.cjk ?? 'char';
  if (cjk !== 'word' && cjk !== 'char') {
    throw new UsageError(`cjk must be "word" or "char", got ${String(cjk)}`, { code: 'E_DEDUP_SHINGLE' });
  }
  return { numPerm, ngram, shingle, cjk, seed: (o.seed ?? 1) >>> 0, algorithm };
}

export class MinHasher {
  readonly options: ResolvedMinHashOptions;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly ophSeed: number;
  /** Densification probe sequence: probes[bin * PROBES + attempt]. */
  private readonly probes: Int32Array;
  private readonly filled: Uint8Array;
  private words: Uint32Array = new Uint32Array(1024);
  private shingles: Int32Array = new Int32Array(1024);

  constructor(options: MinHashOptions = {}) {
    this.options = resolveMinHashOptions(options);
    const next = splitmix32(this.options.seed ^ 0x6d696e68);
    const k = this.options.numPerm;
    this.a = new Int32Array(k);
    this.b = new Int32Array(k);
    for (let i = 0; i < k; i++) {
      this.a[i] = next() | 1;
      this.b[i] = next() | 0;
    }
    this.ophSeed = next() | 0;
    this.probes = new Int32Array(k * PROBES);
    for (let i = 0; i < k * PROBES; i++) this.probes[i] = next() % k;
    this.filled = new Uint8Array(k);
  }

  get numPerm(): number {
    return this.options.numPerm;
  }

  /**
   * Shingle hashes of a text (32-bit). A text with at least one word but fewer
   * than `ngram` words is one shingle of all its words; a text without words
   * has none.
   */
  shingleHashes(text: string): { hashes: Int32Array; count: number } {
    return this.shingleHashesPrepared(prepareWords(text));
  }

  /** `shingleHashes` of text already through `prepareWords` (NFKC + lower case). */
  shingleHashesPrepared(prepared: string): { hashes: Int32Array; count: number } {
    if (this.options.shingle === 'char') return this.charShingles(normalizePrepared(prepared));
    const w = wordHashes(prepared, this.words);
    this.words = w.hashes;
    if (this.charShingled(prepared)) return this.charShingles(normalizePrepared(prepared));
    return this.shinglesOfWords(w.hashes, w.count);
  }

  /** Word n-gram shingle hashes from the first `count` word hashes (as `wordHashes` gives them). */
  shinglesOfWords(words: Uint32Array, count: number): { hashes: Int32Array; count: number } {
    const n = this.options.ngram;
    if (count === 0) return { hashes: this.shingles, count: 0 };
    const m = count < n ? 1 : count - n + 1;
    const span = Math.min(count, n);
    if (this.shingles.length < m) this.shingles = new Int32Array(Math.max(m, this.shingles.length * 2));
    const out = this.shingles;
    for (let i = 0; i < m; i++) {
      let h = 0x9747b28c ^ span;
      for (let j = 0; j < span; j++) {
        h = Math.imul(h ^ words[i + j], 0x9e3779b1);
        h = (h << 15) | (h >>> 17);
      }
      out[i] = fmix32(h) | 0;
    }
    return { hashes: out, count: m };
  }

  private charShingles(t: string): { hashes: Int32Array; count: number } {
    const n = this.options.ngram;
    const len = t.length;
    if (len === 0) return { hashes: this.shingles, count: 0 };
    const m = len < n ? 1 : len - n + 1;
    const span = Math.min(len, n);
    if (this.shingles.length < m) this.shingles = new Int32Array(Math.max(m, this.shingles.length * 2));
    const out = this.shingles;
    for (let i = 0; i < m; i++) {
      let h = 0x3c6ef372 ^ span;
      for (let j = 0; j < span; j++) h = Math.imul(h ^ t.charCodeAt(i + j), 0x01000193);
      out[i] = fmix32(h) | 0;
    }
    return { hashes: out, count: m };
  }

  /** The signature of `text`, or null when it has no shingle (no word at all). */
  signature(text: string, into?: Signature): Signature | null {
    return this.signaturePrepared(prepareWords(text), into);
  }

  /** `signature` of text already through `prepareWords`. */
  signaturePrepared(prepared: string, into?: Signature): Signature | null {
    if (this.options.shingle === 'word') {
      const w = wordHashes(prepared, this.words);
      this.words = w.hashes;
      if (!this.charShingled(prepared)) return this.signatureOfWords(w.hashes, w.count, into);
    }
    const { hashes, count } = this.shingleHashesPrepared(prepared);
    if (count === 0) return null;
    return this.signatureOfShingles(hashes, count, into);
  }

  /**
   * Whether a document shingled by words takes character n-grams instead (see `MinHashOptions.cjk`);
   * called right after `wordHashes` of the same text, whose `wordClasses` say whether it holds a
   * character of those scripts at all (English text: no further scan).
   */
  private charShingled(prepared: string): boolean {
    return this.options.cjk === 'char' && (wordClasses & 6) !== 0 && scriptLanguage(prepared) !== null;
  }

  /** The signature of a set of 32-bit shingle hashes (first `count` entries). */
  signatureOfShingles(hashes: Int32Array, count: number, into?: Signature): Signature {
    const k = this.options.numPerm;
    const sig = into ?? new Int32Array(k);
    if (this.options.algorithm === 'oph') return this.oph(hashes, count, sig);
    sig.fill(0x7fffffff);
    const a = this.a;
    const b = this.b;
    for (let s = 0; s < count; s++) {
      const x = hashes[s];
      for (let i = 0; i < k; i++) {
        let v = (Math.imul(x, a[i]) + b[i]) | 0;
        v ^= v >>> 15;
        if (v < sig[i]) sig[i] = v;
      }
    }
    return sig;
  }

  /**
   * The signature of a text from its word hashes (as `wordHashes` gives them), or null without words:
   * the same as `shinglesOfWords` + `signatureOfShingles`, fused for the OPH kernel.
   */
  signatureOfWords(words: Uint32Array, count: number, into?: Signature): Signature | null {
    if (count === 0) return null;
    const n = this.options.ngram;
    if (this.options.algorithm !== 'oph' || count < n) {
      const sh = this.shinglesOfWords(words, count);
      return this.signatureOfShingles(sh.hashes, sh.count, into);
    }
    const k = this.options.numPerm;
    const sig = into ?? new Int32Array(k);
    // the shingle loop in a function of its own: it runs long and V8 optimises it mid-loop; with the
    // rare densification inlined after it, that code deoptimised ~1,000 times per mix run
    const nonEmpty = this.ophOfWords(words, count, n, sig);
    return nonEmpty < k ? this.densify(sig) : sig;
  }

  /** OPH minima of the word n-grams into `sig` (bins not hit stay unfilled); returns the bins hit. */
  private ophOfWords(words: Uint32Array, count: number, n: number, sig: Signature): number {
    const k = this.options.numPerm;
    const filled = this.filled;
    filled.fill(0);
    const seed = this.ophSeed;
    const shift = this.binShift;
    const m = count - n + 1;
    let nonEmpty = 0;
    for (let i = 0; i < m; i++) {
      let h = 0x9747b28c ^ n;
      if (n === 5) {
        h = Math.imul(h ^ words[i], 0x9e3779b1);
        h = (h << 15) | (h >>> 17);
        h = Math.imul(h ^ words[i + 1], 0x9e3779b1);
        h = (h << 15) | (h >>> 17);
        h = Math.imul(h ^ words[i + 2], 0x9e3779b1);
        h = (h << 15) | (h >>> 17);
        h = Math.imul(h ^ words[i + 3], 0x9e3779b1);
        h = (h << 15) | (h >>> 17);
        h = Math.imul(h ^ words[i + 4], 0x9e3779b1);
        h = (h << 15) | (h >>> 17);
      } else {
        for (let j = 0; j < n; j++) {
          h = Math.imul(h ^ words[i + j], 0x9e3779b1);
          h = (h << 15) | (h >>> 17);
        }
      }
      const v = fmix32((fmix32(h) | 0) ^ seed);
      const bin = shift >= 0 ? v >>> shift : Math.floor((v * k) / 4294967296);
      const sv = v | 0;
      if (filled[bin] === 0) {
        filled[bin] = 1;
        sig[bin] = sv;
        nonEmpty++;
      } else if (sv < sig[bin]) sig[bin] = sv;
    }
    return nonEmpty;
  }

  /** 32 - log2(numPerm) when numPerm is a power of two (bin = v >>> shift), else -1. */
  private get binShift(): number {
    const k = this.options.numPerm;
    return (k & (k - 1)) === 0 ? 32 - Math.log2(k) : -1;
  }

  private oph(hashes: Int32Array, count: number, sig: Signature): Signature {
    const k = this.options.numPerm;
    const filled = this.filled;
    filled.fill(0);
    const seed = this.ophSeed;
    const shift = this.binShift;
    let nonEmpty = 0;
    for (let s = 0; s < count; s++) {
      const v = fmix32(hashes[s] ^ seed);
      const bin = shift >= 0 ? v >>> shift : Math.floor((v * k) / 4294967296);
      const sv = v | 0;
      if (filled[bin] === 0) {
        filled[bin] = 1;
        sig[bin] = sv;
        nonEmpty++;
      } else if (sv < sig[bin]) sig[bin] = sv;
    }
    return nonEmpty < k ? this.densify(sig) : sig;
  }

  /** Empty bins (filled[i] = 0) borrow a non-empty bin's value along the seeded probe sequence. */
  private densify(sig: Signature): Signature {
    const k = this.options.numPerm;
    const filled = this.filled;
    {
      const probes = this.probes;
      for (let i = 0; i < k; i++) {
        if (filled[i] === 1) continue;
        let j = -1;
        for (let a = 0; a < PROBES; a++) {
          const p = probes[i * PROBES + a];
          if (filled[p] === 1) {
            j = p;
            break;
          }
        }
        if (j < 0) {
          // more than PROBES misses (only when almost every bin is empty): first non-empty bin after i
          for (let a = 1; a <= k; a++) {
            const p = (i + a) % k;
            if (filled[p] === 1) {
              j = p;
              break;
            }
          }
        }
        sig[i] = sig[j];
      }
    }
    return sig;
  }
}

const PROBES = 64;

/** Jaccard similarity estimated from two signatures (share of equal minima). */
export function estimateJaccard(a: Signature, b: Signature): number {
  const k = a.length;
  if (b.length !== k) throw new RangeError(`signature lengths differ: ${k} vs ${b.length}`);
  let eq = 0;
  for (let i = 0; i < k; i++) if (a[i] === b[i]) eq++;
  return eq / k;
}
