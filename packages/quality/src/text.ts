/**
 * Text analysis shared by the heuristic filters, computed once per document and
 * reused (typed arrays grow, never shrink, so a stream of documents allocates
 * almost nothing per row).
 *
 * Tokenisation ("Gopher-style words"):
 * - a *token* is a maximal run of non-white-space characters (Unicode White_Space);
 * - a token's *core* is the token without leading and trailing punctuation and
 *   symbols (Unicode P* and S*), so `"Hello,` has the core `Hello`;
 * - a *word* is a token whose core is not empty (punctuation-only tokens such as
 *   `--` or `...` are not words, as NLTK's `word_tokenize` + `string.punctuation`
 *   in datatrove leaves them out); the word length is the core length.
 * - n-grams for repetition are over tokens as written (case and punctuation kept).
 * - lines are split on `\n` (a trailing `\r` is not part of the line).
 * - scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar; @curate/core
 *   `isUnspaced`): a white-space token holding such a character is split into ICU words by
 *   @curate/core's `WordSegmenter` (punctuation pieces become tokens without a core, so they are
 *   not words). Text without those characters never reaches ICU: the scan notes whether it saw a
 *   letter of a script with its own defaults (`SCRIPT_OF`), and only then re-tokenises.
 * - `language()`: the document's rule language by its main script (@curate/core
 *   `scriptLanguage`: zh, ja, ko, th, lo, km, my) or null for the default (English) rules.
 */
import { isUnspaced, SCRIPT_OF, type ScriptLanguage, scriptLanguage, wordSegmenter } from '@curate/core';

const LETTER = 1;
const SPACE = 2;
const PUNCT = 4;
const DIGIT = 8;

/** Character classes for the Basic Multilingual Plane, built once. */
export const CHAR_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  const letter = /\p{L}/u;
  const space = /\s/u;
  const punct = /[\p{P}\p{S}]/u;
  const digit = /\p{N}/u;
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff) {
      t[c] = LETTER; // astral characters (CJK extensions, ...) count as letters
      continue;
    }
    const s = String.fromCharCode(c);
    if (letter.test(s)) t[c] = LETTER;
    else if (space.test(s)) t[c] = SPACE;
    else if (punct.test(s)) t[c] = PUNCT;
    else if (digit.test(s)) t[c] = DIGIT;
  }
  return t;
})();

export function isSpace(c: number): boolean {
  return CHAR_CLASS[c] === SPACE;
}
export function isLetter(c: number): boolean {
  return CHAR_CLASS[c] === LETTER;
}
export function isPunct(c: number): boolean {
  return CHAR_CLASS[c] === PUNCT;
}
export function isDigit(c: number): boolean {
  return CHAR_CLASS[c] === DIGIT;
}
export function isWordChar(c: number): boolean {
  const k = CHAR_CLASS[c];
  return k === LETTER || k === DIGIT;
}

/** `CHAR_CLASS` with the letters of the scripts in `SCRIPT_OF` as a class of their own (the token scan's table). */
const SCRIPT_LETTER = 16;
const TOKEN_CLASS = (() => {
  const t = CHAR_CLASS.slice();
  for (let c = 0x0e00; c < 65536; c++) if (SCRIPT_OF[c] !== 0 && t[c] === LETTER) t[c] = SCRIPT_LETTER;
  return t;
})();

function grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (a.length >= n) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Per-document analysis. `reset(text)` makes it describe a new text; the token and
 * line arrays are computed lazily on first use.
 */
export class TextAnalysis {
  text = '';
  private tokensDone = false;
  private linesDone = false;

  /** Number of tokens (white-space separated). */
  tokenCount = 0;
  tokStart = new Int32Array(1024);
  tokEnd = new Int32Array(1024);
  /** Core bounds; coreEnd == coreStart for punctuation-only tokens. */
  coreStart = new Int32Array(1024);
  coreEnd = new Int32Array(1024);
  /** Two independent 32-bit hashes of each token (as written). */
  tokH1 = new Int32Array(1024);
  tokH2 = new Int32Array(1024);
  /** Words (tokens with a non-empty core), the sum of their core lengths and how many contain a letter. */
  wordCount = 0;
  wordCharSum = 0;
  alphaWords = 0;

  lineCount = 0;
  lineStart = new Int32Array(1024);
  lineEnd = new Int32Array(1024);

  /** Whether a token scan saw a letter of a script in `SCRIPT_OF` (-1: no scan yet). */
  private scripts = -1;
  private lang: ScriptLanguage | null | undefined;
  private plainTokens = -1;

  reset(text: string): this {
    this.text = text;
    this.tokensDone = false;
    this.linesDone = false;
    this.scripts = -1;
    this.lang = undefined;
    this.plainTokens = -1;
    return this;
  }

  /**
   * The language whose defaults apply (zh, ja, ko, th, lo, km, my) from the main script, or null
   * (the default rules: every other script, and text without letters). Costs one token count scan
   * when no token scan ran yet; text without CJK/Hangul/Thai/... letters costs nothing more.
   */
  language(): ScriptLanguage | null {
    if (this.lang !== undefined) return this.lang;
    if (this.scripts < 0) this.countTokens();
    this.lang = this.scripts === 1 ? scriptLanguage(this.text) : null;
    return this.lang;
  }

  tokens(): this {
    if (this.tokensDone) return this;
    this.tokensDone = true;
    // The one pass every English document takes: the loop of `scanToken` inlined with local counters,
    // as before the language rules. Calling `scanToken` per token instead (counters on `this`, the
    // same TOKEN_CLASS test) took 1.35x this loop's time on a Gutenberg shard (gopher_quality 0.195 vs
    // 0.145 s, four process pairs): the copy is the price of English speed. A letter of a script in
    // SCRIPT_OF sets `scripts`; only then is the text looked at again (ICU words).
    const text = this.text;
    const n = text.length;
    let count = 0;
    let words = 0;
    let charSum = 0;
    let alpha = 0;
    let scripts = 0;
    let i = 0;
    while (i < n) {
      // skip white space
      while (i < n && CHAR_CLASS[text.charCodeAt(i)] === SPACE) i++;
      if (i >= n) break;
      const start = i;
      let h1 = 0x811c9dc5 | 0;
      let h2 = 0x2545f491;
      let hasLetter = false;
      let firstCore = -1;
      let lastCore = -1;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        // TOKEN_CLASS, not a test on `c`: any use of `c` in the letter branch made this loop 40% slower
        const k = TOKEN_CLASS[c];
        if (k === SPACE) break;
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 + c, 0x5bd1e995);
        h2 ^= h2 >>> 13;
        if (k !== PUNCT) {
          if (firstCore < 0) firstCore = i;
          lastCore = i;
          if (k === LETTER) hasLetter = true;
          else if (k === SCRIPT_LETTER) {
            hasLetter = true;
            scripts = 1;
          }
        }
      }
      if (count >= this.tokStart.length) this.growTokens(count + 1);
      this.tokStart[count] = start;
      this.tokEnd[count] = i;
      this.tokH1[count] = h1;
      this.tokH2[count] = h2;
      if (firstCore >= 0) {
        this.coreStart[count] = firstCore;
        this.coreEnd[count] = lastCore + 1;
        words++;
        charSum += lastCore + 1 - firstCore;
        if (hasLetter) alpha++;
      } else {
        this.coreStart[count] = start;
        this.coreEnd[count] = start;
      }
      count++;
    }
    this.tokenCount = count;
    this.wordCount = words;
    this.wordCharSum = charSum;
    this.alphaWords = alpha;
    this.scripts = scripts;
    if (scripts === 1) this.segmentTokens();
    return this;
  }

  /** Room for `m` tokens in the per-token arrays (called only when they are full). */
  private growTokens(m: number): void {
    this.tokStart = grow(this.tokStart, m);
    this.tokEnd = grow(this.tokEnd, m);
    this.coreStart = grow(this.coreStart, m);
    this.coreEnd = grow(this.coreEnd, m);
    this.tokH1 = grow(this.tokH1, m);
    this.tokH2 = grow(this.tokH2, m);
  }

  /** Tokens again, with white-space tokens that hold an unspaced-script character split by ICU. */
  private segmentTokens(): void {
    const text = this.text;
    // the white-space tokens, copied (the arrays are rewritten below)
    const n = this.tokenCount;
    const starts = this.tokStart.slice(0, n);
    const ends = this.tokEnd.slice(0, n);
    let any = false;
    for (let t = 0; t < n && !any; t++)
      for (let i = starts[t]; i < ends[t]; i++)
        if (isUnspaced(text.charCodeAt(i))) {
          any = true;
          break;
        }
    if (!any) return; // Hangul only: spaced, the white-space tokens stand
    this.tokenCount = 0;
    this.wordCount = 0;
    this.wordCharSum = 0;
    this.alphaWords = 0;
    const seg = wordSegmenter();
    for (let t = 0; t < n; t++) {
      const s = starts[t];
      const e = ends[t];
      let unspaced = false;
      for (let i = s; i < e; i++)
        if (isUnspaced(text.charCodeAt(i))) {
          unspaced = true;
          break;
        }
      if (!unspaced) {
        this.scanToken(s, e);
        continue;
      }
      const m = seg.split(text, s, e);
      for (let w = 0; w < m; w++) this.scanToken(seg.start[w], seg.end[w]);
    }
  }

  /**
   * Append the token that starts at `s` and ends at the first white space or at `limit`, with its
   * hashes, core and word counts; returns its end. The one token scan: the ICU words of
   * `segmentTokens()` (pieces of a white-space token) and its white-space tokens go through it
   * (`tokens()` has the same loop inlined).
   */
  private scanToken(s: number, limit: number): number {
    const text = this.text;
    let h1 = 0x811c9dc5 | 0;
    let h2 = 0x2545f491;
    let hasLetter = false;
    let firstCore = -1;
    let lastCore = -1;
    let i = s;
    for (; i < limit; i++) {
      const c = text.charCodeAt(i);
      const k = CHAR_CLASS[c];
      if (k === SPACE) break;
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 + c, 0x5bd1e995);
      h2 ^= h2 >>> 13;
      if (k !== PUNCT) {
        if (firstCore < 0) firstCore = i;
        lastCore = i;
        if (k === LETTER) hasLetter = true;
      }
    }
    const count = this.tokenCount;
    if (count >= this.tokStart.length) this.growTokens(count + 1);
    this.tokStart[count] = s;
    this.tokEnd[count] = i;
    this.tokH1[count] = h1;
    this.tokH2[count] = h2;
    if (firstCore >= 0) {
      this.coreStart[count] = firstCore;
      this.coreEnd[count] = lastCore + 1;
      this.wordCount++;
      this.wordCharSum += lastCore + 1 - firstCore;
      if (hasLetter) this.alphaWords++;
    } else {
      this.coreStart[count] = s;
      this.coreEnd[count] = s;
    }
    this.tokenCount = count + 1;
    return i;
  }

  /**
   * Number of tokens, without the per-token arrays when `tokens()` has not run (a plain count);
   * text with an unspaced-script character is counted by `tokens()` (ICU words).
   */
  countTokens(): number {
    if (this.tokensDone) return this.tokenCount;
    if (this.plainTokens >= 0) return this.plainTokens;
    const text = this.text;
    const n = text.length;
    let count = 0;
    let inToken = false;
    let classes = 0;
    for (let i = 0; i < n; i++) {
      const k = TOKEN_CLASS[text.charCodeAt(i)];
      // the classes seen, ORed (a branch per character here left fineweb alone 1.05x the pre-CJK time; 0.97x with the OR)
      classes |= k;
      if (k === SPACE) inToken = false;
      else if (!inToken) {
        inToken = true;
        count++;
      }
    }
    const scripts = (classes & SCRIPT_LETTER) !== 0 ? 1 : 0;
    this.scripts = scripts;
    if (scripts === 1) return this.tokens().tokenCount;
    this.plainTokens = count;
    return count;
  }

  lines(): this {
    if (this.linesDone) return this;
    this.linesDone = true;
    const text = this.text;
    let count = 0;
    let start = 0;
    for (;;) {
      let end = text.indexOf('\n', start);
      const last = end < 0;
      if (last) end = text.length;
      if (count >= this.lineStart.length) {
        this.lineStart = grow(this.lineStart, count + 1);
        this.lineEnd = grow(this.lineEnd, count + 1);
      }
      this.lineStart[count] = start;
      this.lineEnd[count] = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      count++;
      if (last) break;
      start = end + 1;
    }
    this.lineCount = count;
    return this;
  }
}

/** First and last non-white-space index of text[start, end) as [s, e) (s === e when blank). */
export function trimBounds(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && CHAR_CLASS[text.charCodeAt(s)] === SPACE) s++;
  while (e > s && CHAR_CLASS[text.charCodeAt(e - 1)] === SPACE) e--;
  return [s, e];
}

/** 32-bit hashes of text[start, end). */
export function hashRange(text: string, start: number, end: number, out: Int32Array): void {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x2545f491;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 + c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  out[0] = h1;
  out[1] = h2;
}

/**
 * Open-addressing hash set/counter keyed by two 32-bit halves (64-bit keys: a
 * collision among the few hundred thousand keys of one document is ~1e-9).
 * One interleaved array [stamp, k1, k2, count] per slot keeps a probe in one
 * cache line; `clear()` is O(1) (generation stamps).
 */
export class KeyCounter {
  private cap = 0;
  private mask = 0;
  private tab = new Int32Array(0);
  /** Tag given at the first add of each slot (default: insertion order). */
  order = new Int32Array(0);
  /** Slots used in this generation, in insertion order (`size` of them). */
  used = new Int32Array(0);
  private gen = 0;
  size = 0;

  /** Prepare for up to `n` keys (the table is sized for `n`, so small documents stay in cache). */
  clear(n: number): void {
    const want = Math.max(16, 1 << Math.ceil(Math.log2(n * 1.4 + 1)));
    if (want > this.cap) {
      this.cap = want;
      this.tab = new Int32Array(want * 4);
      this.order = new Int32Array(want);
      this.used = new Int32Array(want);
      this.gen = 0;
    }
    this.mask = want - 1;
    this.gen++;
    if (this.gen === 0x7fffffff) {
      this.tab.fill(0);
      this.gen = 1;
    }
    this.size = 0;
  }

  /** Add one occurrence; returns the slot (see `count`); `order[slot]` is the tag of the first add. */
  add(a: number, b: number, tag = this.size): number {
    let h = a ^ Math.imul(b, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h ^= h >>> 15;
    let slot = h & this.mask;
    const gen = this.gen;
    const tab = this.tab;
    for (;;) {
      const o = slot << 2;
      if (tab[o] !== gen) {
        if ((this.size + 1) * 10 > (this.mask + 1) * 7) {
          this.grow();
          return this.add(a, b, tag);
        }
        tab[o] = gen;
        tab[o + 1] = a;
        tab[o + 2] = b;
        tab[o + 3] = 1;
        this.order[slot] = tag;
        this.used[this.size++] = slot;
        return slot;
      }
      if (tab[o + 1] === a && tab[o + 2] === b) {
        tab[o + 3]++;
        return slot;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** Double the table (keeping keys, counts and tags) when it gets 70% full. */
  private grow(): void {
    const n = this.size;
    const old = this.tab;
    const keys = new Int32Array(n * 4);
    for (let u = 0; u < n; u++) {
      const s = this.used[u];
      keys[u * 4] = old[(s << 2) + 1];
      keys[u * 4 + 1] = old[(s << 2) + 2];
      keys[u * 4 + 2] = old[(s << 2) + 3];
      keys[u * 4 + 3] = this.order[s];
    }
    this.clear(n * 2);
    for (let u = 0; u < n; u++) {
      const s = this.add(keys[u * 4], keys[u * 4 + 1], keys[u * 4 + 3]);
      this.tab[(s << 2) + 3] = keys[u * 4 + 2];
    }
  }

  /** Occurrences of the key in `slot`. */
  count(slot: number): number {
    return this.tab[(slot << 2) + 3];
  }

  get capacity(): number {
    return this.cap;
  }
}
