/**
 * The parts every BPE tokenizer of curate shares (the OpenAI-encoding counter in `bpe-count.ts` and
 * the tokenizer.json encoder in `hf-tokenizer.ts`): the ASCII pre-tokenizer of the cl100k / Llama 3
 * family of split patterns, the pre-token memo, and the merge loop.
 */

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

/**
 * End of the pre-token starting at `i` (i < n) of the cl100k / Llama 3 / Qwen split patterns,
 * decided on ASCII characters only, or -1 when the decision needs a non-ASCII character. The
 * patterns share their alternatives and differ in three places, the parameters:
 * - `maxDigits`: `\p{N}{1,3}` (cl100k, Llama 3) or `\p{N}` (Qwen);
 * - `folded`: contractions written `(?i:'s|...)` (tokenizer.json), which also match `'ſ`, so a
 *   non-ASCII letter after the apostrophe defers; cl100k spells the cases out (`'[sS]`);
 * - `cl100kSpace`: white space ends as `\s+$|\s*[\r\n]|\s+(?!\S)|\s` (a run reaching the end is
 *   taken whole first) rather than `\s*[\r\n]+|\s+(?!\S)|\s+` (the last newline first).
 */
export function asciiPretokenEnd(
  t: string,
  i: number,
  n: number,
  maxDigits: number,
  folded: boolean,
  cl100kSpace: boolean,
): number {
  const c = t.charCodeAt(i);
  if (c >= 128) return -1;
  const k = CLS[c];
  // 1. contractions
  if (c === 39 && i + 1 < n) {
    const d = t.charCodeAt(i + 1);
    if (d >= 128) {
      if (folded) return -1;
    } else {
      const a = APOS[d];
      if (a === 1) return i + 2;
      if (a === 2 && i + 2 < n) {
        const e0 = t.charCodeAt(i + 2);
        if (e0 >= 128 && folded) return -1;
        const e = e0 | 0x20;
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
  // 3. \p{N}{1,maxDigits}
  if (k === DIGIT) {
    let j = i + 1;
    while (j < n && j < i + maxDigits) {
      const x = t.charCodeAt(j);
      if (x >= 128) return -1;
      if (CLS[x] !== DIGIT) break;
      j++;
    }
    return j;
  }
  // 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
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
  // 5-8. white space
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
  if (cl100kSpace) {
    if (j === n) return n;
    if (lastNl >= 0) return lastNl + 1;
  } else {
    if (lastNl >= 0) return lastNl + 1;
    if (j === n) return n;
  }
  if (j - i >= 2) return j - 1;
  return i + 1;
}

/** FNV-1a over text[s, e) with a final mix: the memo's hash. */
export function hashOf(text: string, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

const TABLE_BITS = 19;

/**
 * Pre-token -> token count (and ids, unless `poolIds` is 0): open addressing; a slot holds (hash,
 * entry + 1) side by side, an entry (char offset, length, id offset, count), chars in a Uint16Array
 * pool, so a hit creates no string. When full it starts over (the hot pre-tokens come back within
 * a few documents).
 */
export class PretokenMemo {
  private readonly mask = (1 << TABLE_BITS) - 1;
  private readonly slots = new Int32Array(2 << TABLE_BITS);
  private readonly entries: Int32Array;
  private readonly pool: Uint16Array;
  /** Ids of the entries (empty when counting only). */
  readonly ids: Int32Array;
  private n = 0;
  private used = 0;
  private usedIds = 0;
  /** Where the last failed lookup stopped (the insert position). */
  private slot = 0;
  /** How often the memo filled up and started over. */
  resets = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly poolChars: number,
    private readonly poolIds: number,
  ) {
    this.entries = new Int32Array(4 * maxEntries);
    this.pool = new Uint16Array(poolChars);
    this.ids = new Int32Array(poolIds);
  }

  /** Entry of text[s, e) (for `count`, `idsAt`), or -1 (then `insert` may follow). */
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
        const k = 4 * (v - 1);
        if (this.entries[k + 1] === L) {
          const o = this.entries[k];
          const pool = this.pool;
          let j = 0;
          while (j < L && pool[o + j] === text.charCodeAt(s + j)) j++;
          if (j === L) return k;
        }
      }
      i = (i + 1) & this.mask;
    }
  }
  count(k: number): number {
    return this.entries[k + 3];
  }
  idsAt(k: number): number {
    return this.entries[k + 2];
  }
  /**
   * Remember text[s, e) -> `m` tokens (with `ids[0, m)` unless counting only), after a failed
   * `lookup`; false when it can never fit.
   */
  insert(text: string, s: number, e: number, h: number, ids: ArrayLike<number> | null, m: number): boolean {
    const L = e - s;
    const idsNeeded = ids && this.poolIds > 0 ? m : 0;
    if (L > this.poolChars || idsNeeded > this.poolIds || this.maxEntries < 1 || (ids && this.poolIds === 0)) {
      return false;
    }
    if (this.n >= this.maxEntries || this.used + L > this.poolChars || this.usedIds + idsNeeded > this.poolIds) {
      this.resets++;
      this.slots.fill(0);
      this.n = 0;
      this.used = 0;
      this.usedIds = 0;
      this.lookup(text, s, e, h);
    }
    const k = 4 * this.n++;
    this.entries[k] = this.used;
    this.entries[k + 1] = L;
    this.entries[k + 2] = this.usedIds;
    this.entries[k + 3] = m;
    for (let j = 0; j < L; j++) this.pool[this.used + j] = text.charCodeAt(s + j);
    if (ids) for (let j = 0; j < idsNeeded; j++) this.ids[this.usedIds + j] = ids[j];
    this.used += L;
    this.usedIds += idsNeeded;
    this.slots[2 * this.slot] = h;
    this.slots[2 * this.slot + 1] = this.n;
    return true;
  }
}

/** Rank of a pair that never merges. */
export const NO_RANK = 0x7fffffff;

/**
 * The BPE merge loop of both the reference implementations (tiktoken's `byte_pair_merge`, the Rust
 * `tokenizers` crate's `Word::merge_all`): the pair of lowest rank merges first, the leftmost among
 * equals. `rk[i]` (i < m - 1) holds the rank of parts i and i + 1; `join(at, rank, m)` merges part
 * `at + 1` into part `at` in the caller's arrays (and drops it); `rankAt(i)` is the rank of the new
 * pair i, i + 1. Returns the number of parts left.
 */
export function mergeParts(
  rk: Int32Array,
  m: number,
  join: (at: number, rank: number, m: number) => void,
  rankAt: (i: number) => number,
): number {
  while (m > 1) {
    let low = NO_RANK;
    let at = -1;
    for (let i = 0; i < m - 1; i++) {
      if (rk[i] < low) {
        low = rk[i];
        at = i;
      }
    }
    if (at < 0) break;
    join(at, low, m);
    rk.copyWithin(at, at + 1, m - 1);
    m--;
    if (at < m - 1) rk[at] = rankAt(at);
    if (at > 0) rk[at - 1] = rankAt(at - 1);
  }
  return m;
}
