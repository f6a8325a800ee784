/**
 * Exact BPE token counting without building token arrays.
 *
 * A BPE encoding splits text into pre-tokens with one regular expression and
 * encodes every pre-token on its own, so a text's count is the sum of its
 * pre-tokens' counts. Natural text repeats a few thousand pre-tokens (" the",
 * ",", " of"), so counts are memoised per pre-token in a flat hash table
 * (chars in a Uint16Array pool: no string is created for a hit). A miss is
 * looked up and merged over a byte-keyed copy of gpt-tokenizer's rank table,
 * keeping only entries for which the library's own byte lookup answers the
 * same rank, with the library's merge order (lowest rank, leftmost first).
 *
 * For cl100k_base the pre-tokenizer is also hand-written for ASCII: its
 * alternatives are decided on ASCII characters exactly as the regular
 * expression decides them, and any decision that would look at a non-ASCII
 * character runs the library's regular expression (sticky, at that position)
 * instead, so the split is the regex's split by construction. The test suite
 * compares counts with gpt-tokenizer and js-tiktoken on random Unicode text
 * and on real corpora.
 */

import { asciiPretokenEnd, hashOf, mergeParts, NO_RANK, PretokenMemo } from './bpe-core.js';

/** The parts of gpt-tokenizer's BytePairEncodingCore used here (v4). */
export interface BpeCore {
  tokenSplitRegex: RegExp;
  getBpeRankFromString(key: string): number | undefined;
  bytePairEncode(input: string): readonly number[];
  /** The merge loop itself (no cache): preferred, see `bpeCounter`. */
  bytePairMerge?(piece: Uint8Array): readonly number[];
  /** rank -> token (string, or bytes when not valid UTF-8); holes for unused ranks. */
  bytePairRankDecoder?: readonly (string | readonly number[] | undefined)[];
  getBpeRankFromBytes?(key: Uint8Array): number | undefined;
}

/** gpt-tokenizer's cl100k_base split pattern (v4); the ASCII scanner implements exactly this. */
export const CL100K_PATTERN =
  "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s+$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

const MAX_CACHED = 48; // longer pre-tokens are counted without the memo
const MAX_ENTRIES = 300_000;
const POOL_CHARS = 1 << 22;

/** A lone surrogate (a well-formed pair is one code point in `u` mode). */
const LONE = /\p{Cs}/u;

/**
 * The encoding's ranks keyed by token bytes (open addressing over a byte pool), so the merge loop
 * of a memo miss looks pairs up without building strings. Built from the library's own table; an
 * entry whose bytes may not be its own (a byte array, a string with U+FFFD or a lone surrogate) is
 * kept only where the library's byte lookup (`getBpeRankFromBytes`) returns the same rank, so a
 * lookup here answers exactly what the library answers.
 */
class ByteRanks {
  private readonly mask: number;
  private readonly slots: Int32Array; // (hash, entry + 1) pairs
  private readonly off: Int32Array;
  private readonly len: Int32Array;
  private readonly rank: Int32Array;
  private readonly pool: Uint8Array;

  constructor(core: BpeCore) {
    const dec = core.bytePairRankDecoder as NonNullable<BpeCore['bytePairRankDecoder']>;
    const lookup = (core.getBpeRankFromBytes as NonNullable<BpeCore['getBpeRankFromBytes']>).bind(core);
    const enc = new TextEncoder();
    // Every token's bytes written straight into one pool (encodeInto: no array per token). The
    // library's byte lookup is asked only where a token's bytes may not be its own: byte arrays, and
    // strings with U+FFFD or a lone surrogate (lossy decodings). A well-formed string is its UTF-8
    // bytes, which no other token has. (Building the table was 0.3 s per thread, ~0.05 s now.)
    let cap = 0;
    for (const v of dec) if (v !== undefined) cap += typeof v === 'string' ? v.length * 3 : v.length;
    const pool = new Uint8Array(cap);
    const off: number[] = [];
    const len: number[] = [];
    const ranks: number[] = [];
    let o = 0;
    for (let r = 0; r < dec.length; r++) {
      const v = dec[r];
      if (v === undefined) continue;
      let n: number;
      if (typeof v === 'string') n = enc.encodeInto(v, pool.subarray(o)).written;
      else {
        pool.set(v, o);
        n = v.length;
      }
      if ((typeof v !== 'string' || v.includes('\uFFFD') || LONE.test(v)) && lookup(pool.slice(o, o + n)) !== r)
        continue;
      off.push(o);
      len.push(n);
      ranks.push(r);
      o += n;
    }
    const count = ranks.length;
    let size = 1;
    while (size < count * 2) size <<= 1;
    this.mask = size - 1;
    this.slots = new Int32Array(2 * size);
    this.off = Int32Array.from(off);
    this.len = Int32Array.from(len);
    this.rank = Int32Array.from(ranks);
    this.pool = pool.subarray(0, o);
    for (let k = 0; k < count; k++) {
      const h = bytesHash(this.pool, off[k], off[k] + len[k]);
      let i = h & this.mask;
      while (this.slots[2 * i + 1] !== 0) i = (i + 1) & this.mask;
      this.slots[2 * i] = h;
      this.slots[2 * i + 1] = k + 1;
    }
  }

  /** Rank of bytes b[s, e), or NO_RANK. */
  get(b: Uint8Array, s: number, e: number): number {
    const h = bytesHash(b, s, e);
    const L = e - s;
    const slots = this.slots;
    let i = h & this.mask;
    for (;;) {
      const v = slots[2 * i + 1];
      if (v === 0) return NO_RANK;
      if (slots[2 * i] === h && this.len[v - 1] === L) {
        const o = this.off[v - 1];
        let j = 0;
        while (j < L && this.pool[o + j] === b[s + j]) j++;
        if (j === L) return this.rank[v - 1];
      }
      i = (i + 1) & this.mask;
    }
  }

  private starts = new Int32Array(64);
  private ranks = new Int32Array(64);

  /**
   * Token count of the byte-pair merge of b[0, n): gpt-tokenizer's `bytePairMerge` loop (lowest
   * rank first, the leftmost among equals; unknown pairs never merge), counting parts.
   */
  mergeCount(b: Uint8Array, n: number): number {
    if (n + 1 > this.starts.length) {
      this.starts = new Int32Array(2 * (n + 1));
      this.ranks = new Int32Array(2 * (n + 1));
    }
    const starts = this.starts;
    for (let i = 0; i <= n; i++) starts[i] = i;
    for (let i = 0; i < n - 1; i++) this.ranks[i] = this.get(b, i, i + 2);
    // parts are byte spans starts[i]..starts[i + 1]; a merge drops a boundary
    return mergeParts(
      this.ranks,
      n,
      (at, _rank, m) => starts.copyWithin(at + 1, at + 2, m + 1),
      (i) => this.get(b, starts[i], starts[i + 2]),
    );
  }
}

function bytesHash(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

/**
 * End of the cl100k pre-token starting at `i` (i < n), decided on ASCII
 * characters only, or -1 when the decision needs a non-ASCII character.
 */
export function cl100kAsciiEnd(t: string, i: number, n: number): number {
  return asciiPretokenEnd(t, i, n, 3, false, true);
}

/** Memo limits (tests use small ones to exercise the start-over path). */
export interface MemoLimits {
  entries?: number;
  poolChars?: number;
}

/** An exact counter for one BPE encoding (`ascii`: cl100k_base's hand-written ASCII pre-tokenizer). */
export function bpeCounter(core: BpeCore, ascii: boolean, limits: MemoLimits = {}): BpeCount {
  const flags = core.tokenSplitRegex.flags.replace(/[gy]/g, '');
  const sticky = new RegExp(core.tokenSplitRegex.source, `${flags}y`);
  const memo = new PretokenMemo(limits.entries ?? MAX_ENTRIES, limits.poolChars ?? POOL_CHARS, 0);
  // Memo misses merge over a byte-keyed copy of the core's rank table (no strings) when the core
  // exposes it; else over the core's merge loop, never through bytePairEncode: its LRU cache (a Map of
  // 100k entries, a delete + set per hit) slows down as it churns (4x over 3 passes of a 24 MB shard)
  // and the memo already holds every repeated pre-token.
  const encoder = new TextEncoder();
  const merge = typeof core.bytePairMerge === 'function' ? core.bytePairMerge.bind(core) : undefined;
  const own = Array.isArray(core.bytePairRankDecoder) && typeof core.getBpeRankFromBytes === 'function';
  let ranks: ByteRanks | undefined;
  let scratch = new Uint8Array(256);
  const LONE_SURROGATE = /\p{Cs}/u;
  /** Count of the pre-token text[s, e) that the memo does not know. */
  const countRange = (text: string, s: number, e: number): number => {
    if (!own) return countOf(text.slice(s, e));
    ranks ??= new ByteRanks(core);
    const L = e - s;
    if (L * 3 > scratch.length) scratch = new Uint8Array(L * 3);
    let n = 0;
    for (let i = s; i < e; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) {
        n = -1;
        break;
      }
      scratch[n++] = c;
    }
    if (n < 0) {
      const piece = text.slice(s, e);
      // not well-formed (a lone surrogate): the library's own steps, string lookup then merge of its encoding
      if (LONE_SURROGATE.test(piece)) {
        if (core.getBpeRankFromString(piece) !== undefined) return 1;
        n = encoder.encodeInto(piece, scratch).written;
        return ranks.mergeCount(scratch, n);
      }
      n = encoder.encodeInto(piece, scratch).written;
    }
    // A well-formed piece is one token exactly when its UTF-8 bytes are (what the library's string
    // lookup finds: the table holds each token's bytes where the library maps them to that rank).
    if (ranks.get(scratch, 0, n) !== NO_RANK) return 1;
    return ranks.mergeCount(scratch, n);
  };
  const countOf = (piece: string): number =>
    core.getBpeRankFromString(piece) !== undefined
      ? 1
      : merge
        ? merge(encoder.encode(piece)).length
        : core.bytePairEncode(piece).length;
  const pretoken = (text: string, s: number, e: number): number => {
    if (e - s > MAX_CACHED) return countRange(text, s, e);
    const h = hashOf(text, s, e);
    const k = memo.lookup(text, s, e, h);
    if (k >= 0) return memo.count(k);
    const v = countRange(text, s, e);
    memo.insert(text, s, e, h, null, v);
    return v;
  };
  const count = (text: string): number => {
    const n = text.length;
    let total = 0;
    let i = 0;
    while (i < n) {
      let e = ascii ? cl100kAsciiEnd(text, i, n) : -1;
      if (e < 0) {
        sticky.lastIndex = i;
        const m = sticky.exec(text);
        // every character starts a match of these patterns; guard against a library change anyway
        if (m === null || m[0].length === 0) throw new Error(`BPE pre-tokenizer stalled at offset ${i}`);
        e = i + m[0].length;
      }
      total += pretoken(text, i, e);
      i = e;
    }
    return total;
  };
  return Object.assign(count, { memoResets: () => memo.resets });
}

/** A counter: text -> tokens, and how often its memo filled up and started over. */
export type BpeCount = ((text: string) => number) & { memoResets(): number };
