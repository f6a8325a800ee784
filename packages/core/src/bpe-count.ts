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

// ASCII classes
const LETTER = 1;
const DIGIT = 2;
const SPACE = 3; // \s other than CR/LF: \t \v \f and ' '
const NEWLINE = 4; // \r \n
const OTHER = 5; // [^\s\p{L}\p{N}]
const CLS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) CLS[c] = LETTER;
  else if (c >= 48 && c <= 57) CLS[c] = DIGIT;
  else if (c === 10 || c === 13) CLS[c] = NEWLINE;
  else if (c === 9 || c === 11 || c === 12 || c === 32) CLS[c] = SPACE;
  else CLS[c] = OTHER;
}
/** Contraction letters after an apostrophe: 1 = complete ('s 'd 'm 't), 2 = needs a second letter. */
const APOS = new Uint8Array(128);
for (const ch of 'sdmtSDMT') APOS[ch.charCodeAt(0)] = 1;
for (const ch of 'lvrLVR') APOS[ch.charCodeAt(0)] = 2;

const MAX_CACHED = 48; // longer pre-tokens are counted without the memo
const TABLE_BITS = 19;
const MAX_ENTRIES = 300_000;
const POOL_CHARS = 1 << 22;

/**
 * Memoised pre-token counts: open addressing; a slot holds (hash, entry + 1) side by side and an
 * entry (offset, length, count), so a lookup touches one slot, one entry and the chars.
 */
class PretokenMemo {
  private readonly mask = (1 << TABLE_BITS) - 1;
  private slots = new Int32Array(2 << TABLE_BITS);
  private entries: Int32Array;
  private pool: Uint16Array;
  /** How often the memo filled up and started over. */
  resets = 0;

  constructor(
    private readonly maxEntries = MAX_ENTRIES,
    private readonly poolChars = POOL_CHARS,
  ) {
    this.entries = new Int32Array(3 * maxEntries);
    this.pool = new Uint16Array(poolChars);
  }

  private n = 0;
  private used = 0;
  /** Where the last failed lookup stopped (the insert position). */
  private slot = 0;

  /** Count of text[s, e), or -1 when unknown. */
  lookup(text: string, s: number, e: number, h: number): number {
    const L = e - s;
    const slots = this.slots;
    let i = h & this.mask;
    for (;;) {
      const v = slots[2 * i + 1];
      if (v === 0) {
        this.slot = i;
        return -1;
      }
      if (slots[2 * i] === h) {
        const k = 3 * (v - 1);
        if (this.entries[k + 1] === L) {
          const o = this.entries[k];
          const pool = this.pool;
          let j = 0;
          while (j < L && pool[o + j] === text.charCodeAt(s + j)) j++;
          if (j === L) return this.entries[k + 2];
        }
      }
      i = (i + 1) & this.mask;
    }
  }

  insert(text: string, s: number, e: number, h: number, count: number): void {
    const L = e - s;
    if (this.n >= this.maxEntries || this.used + L > this.poolChars) {
      this.resets++;
      // full: start over (the hot pre-tokens come back within a few documents)
      this.slots.fill(0);
      this.n = 0;
      this.used = 0;
      this.lookup(text, s, e, h);
    }
    const k = 3 * this.n++;
    this.entries[k] = this.used;
    this.entries[k + 1] = L;
    this.entries[k + 2] = count;
    for (let j = 0; j < L; j++) this.pool[this.used + j] = text.charCodeAt(s + j);
    this.used += L;
    this.slots[2 * this.slot] = h;
    this.slots[2 * this.slot + 1] = this.n;
  }
}

const NO_RANK = 0x7fffffff;

/**
 * The encoding's ranks keyed by token bytes (open addressing over a byte pool), so the merge loop
 * of a memo miss looks pairs up without building strings. Built from the library's own table and
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
    const keys: Uint8Array[] = [];
    const ranks: number[] = [];
    let bytes = 0;
    dec.forEach((v, r) => {
      if (v === undefined) return;
      const b = typeof v === 'string' ? enc.encode(v) : Uint8Array.from(v);
      if (lookup(b) !== r) return;
      keys.push(b);
      ranks.push(r);
      bytes += b.length;
    });
    let size = 1;
    while (size < keys.length * 2) size <<= 1;
    this.mask = size - 1;
    this.slots = new Int32Array(2 * size);
    this.off = new Int32Array(keys.length);
    this.len = new Int32Array(keys.length);
    this.rank = new Int32Array(keys.length);
    this.pool = new Uint8Array(bytes);
    let o = 0;
    for (let k = 0; k < keys.length; k++) {
      const b = keys[k];
      this.pool.set(b, o);
      this.off[k] = o;
      this.len[k] = b.length;
      this.rank[k] = ranks[k];
      o += b.length;
      const h = bytesHash(b, 0, b.length);
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
    const ranks = this.ranks;
    let m = n + 1; // starts.length in the library's loop
    for (let i = 0; i <= n; i++) {
      starts[i] = i;
      ranks[i] = i < n - 1 ? this.get(b, i, i + 2) : NO_RANK;
    }
    while (m > 1) {
      let low = NO_RANK;
      let at = -1;
      for (let i = 0; i < m - 1; i++) {
        if (ranks[i] < low) {
          low = ranks[i];
          at = i;
        }
      }
      if (at < 0) break;
      // starts.splice(at + 1, 1); ranks.splice(at, 1)
      starts.copyWithin(at + 1, at + 2, m);
      ranks.copyWithin(at, at + 1, m);
      m--;
      ranks[at] = at + 2 < m ? this.get(b, starts[at], starts[at + 2]) : NO_RANK;
      if (at > 0) ranks[at - 1] = at + 1 < m ? this.get(b, starts[at - 1], starts[at + 1]) : NO_RANK;
    }
    return m - 1;
  }
}

function bytesHash(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

function hashOf(text: string, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

/**
 * End of the cl100k pre-token starting at `i` (i < n), decided on ASCII
 * characters only, or -1 when the decision needs a non-ASCII character.
 */
export function cl100kAsciiEnd(t: string, i: number, n: number): number {
  const c = t.charCodeAt(i);
  if (c >= 128) return -1;
  const k = CLS[c];
  // 1. '(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])
  if (c === 39 && i + 1 < n) {
    const d = t.charCodeAt(i + 1);
    if (d < 128) {
      const a = APOS[d];
      if (a === 1) return i + 2;
      if (a === 2 && i + 2 < n) {
        const e = t.charCodeAt(i + 2) | 0x20;
        const dl = d | 0x20;
        if ((dl === 108 && e === 108) || (dl === 118 && e === 101) || (dl === 114 && e === 101)) return i + 3;
      }
    }
  }
  // 2. [^\r\n\p{L}\p{N}]?\p{L}+
  if (k === LETTER || ((k === SPACE || k === OTHER) && i + 1 < n)) {
    let j = k === LETTER ? i : i + 1;
    const d = t.charCodeAt(j);
    if (d >= 128) return -1;
    if (CLS[d] === LETTER) {
      j++;
      while (j < n) {
        const x = t.charCodeAt(j);
        if (x >= 128) return -1;
        if (CLS[x] !== LETTER) break;
        j++;
      }
      return j;
    }
  }
  // 3. \p{N}{1,3}
  if (k === DIGIT) {
    let j = i + 1;
    while (j < n && j < i + 3) {
      const x = t.charCodeAt(j);
      if (x >= 128) return -1;
      if (CLS[x] !== DIGIT) break;
      j++;
    }
    return j;
  }
  // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  let p = -1;
  if (k === OTHER) p = i;
  else if (c === 32 && i + 1 < n) {
    const d = t.charCodeAt(i + 1);
    if (d >= 128) return -1;
    if (CLS[d] === OTHER) p = i + 1;
  }
  if (p >= 0) {
    let j = p + 1;
    while (j < n) {
      const x = t.charCodeAt(j);
      if (x >= 128) return -1;
      if (CLS[x] !== OTHER) break;
      j++;
    }
    while (j < n) {
      const x = t.charCodeAt(j);
      if (x !== 10 && x !== 13) break;
      j++;
    }
    return j;
  }
  // 5-8. white space: \s+$ | \s*[\r\n] | \s+(?!\S) | \s
  let j = i;
  let lastNl = -1;
  while (j < n) {
    const x = t.charCodeAt(j);
    if (x >= 128) return -1;
    const kx = CLS[x];
    if (kx === NEWLINE) lastNl = j;
    else if (kx !== SPACE) break;
    j++;
  }
  if (j === n) return n;
  if (lastNl >= 0) return lastNl + 1;
  if (j - i >= 2) return j - 1;
  return i + 1;
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
  const memo = new PretokenMemo(limits.entries, limits.poolChars);
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
    const c = memo.lookup(text, s, e, h);
    if (c >= 0) return c;
    const v = countRange(text, s, e);
    memo.insert(text, s, e, h, v);
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
