/**
 * Word tokenisation for the diversity metrics, independent of the mix tokenizer.
 *
 * A word is a maximal run of letters, marks and digits (Unicode L, M, N; UTF-16
 * surrogates count as letters so emoji and astral scripts form words), lower-cased
 * per UTF-16 code unit with `String.prototype.toLowerCase`. An apostrophe (' or ’)
 * between two word characters stays inside the word ("don't" is one word, stored as
 * "don't"). Everything else (space, punctuation, symbols) separates words and is
 * dropped. A run holding a character of a script written without spaces (Chinese,
 * Japanese, Thai, Lao, Khmer, Myanmar) is split into words by @curate/core's
 * `WordSegmenter` (ICU dictionaries), so distinct-n, MATTR and n-gram concentration
 * mean the same in those languages; Korean is spaced and keeps the white-space rule.
 *
 * Words are never materialised as strings on the hot path: the scanner folds each
 * lower-cased code unit into a 32-bit FNV-1a hash, finalised with murmur3's fmix32.
 * The hash is fixed (not seeded) so unigram sketches of any two groups compare.
 */

import { SCRIPT_OF, wordSegmenter } from '@curate/core';

let WORD: Uint8Array | undefined;
let LOWER: Uint16Array | undefined;

function tables(): { word: Uint8Array; lower: Uint16Array } {
  if (!WORD || !LOWER) {
    const word = new Uint8Array(65536);
    const lower = new Uint16Array(65536);
    const re = /[\p{L}\p{M}\p{N}]/u;
    for (let c = 0; c < 65536; c++) {
      const s = String.fromCharCode(c);
      if (c >= 0xd800 && c <= 0xdfff) word[c] = 1;
      else if (re.test(s)) word[c] = 1;
      // 2: a word character of an unspaced script (its runs are split by ICU); 7 is Hangul (spaced)
      if (word[c] === 1 && SCRIPT_OF[c] !== 0 && SCRIPT_OF[c] !== 7) word[c] = 2;
      const l = s.toLowerCase();
      lower[c] = l.length === 1 ? l.charCodeAt(0) : c;
    }
    WORD = word;
    LOWER = lower;
  }
  return { word: WORD, lower: LOWER };
}

/** murmur3 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Reusable output of `scanWords` (grown as needed, never shrunk). */
export class WordBuffer {
  /** Word hashes. */
  hashes = new Uint32Array(1024);
  /** Start offset (UTF-16 index) of each word. */
  starts = new Uint32Array(1024);
  /** End offset (exclusive) of each word. */
  ends = new Uint32Array(1024);
  length = 0;

  grow(): void {
    const n = this.hashes.length * 2;
    const h = new Uint32Array(n);
    h.set(this.hashes);
    this.hashes = h;
    const s = new Uint32Array(n);
    s.set(this.starts);
    this.starts = s;
    const e = new Uint32Array(n);
    e.set(this.ends);
    this.ends = e;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Scan `text` into word hashes and offsets; returns the number of words. */
export function scanWords(text: string, out: WordBuffer): number {
  const { word, lower } = tables();
  let n = 0;
  let h = FNV_OFFSET;
  let start = -1;
  let unspaced = false;
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    const k = word[c];
    if (k !== 0) {
      if (start < 0) {
        start = i;
        h = FNV_OFFSET;
        unspaced = false;
      }
      h = Math.imul(h ^ lower[c], FNV_PRIME);
      if (k === 2) unspaced = true;
    } else if (start >= 0) {
      // An apostrophe between two word characters stays in the word.
      if ((c === 39 || c === 0x2019) && i + 1 < len && word[text.charCodeAt(i + 1)] !== 0) {
        h = Math.imul(h ^ 39, FNV_PRIME);
        continue;
      }
      if (unspaced) {
        n = segmentRun(text, start, i, out, n);
        start = -1;
        continue;
      }
      if (n === out.hashes.length) out.grow();
      out.hashes[n] = fmix32(h);
      out.starts[n] = start;
      out.ends[n] = i;
      n++;
      start = -1;
    }
  }
  if (start >= 0 && unspaced) n = segmentRun(text, start, len, out, n);
  else if (start >= 0) {
    if (n === out.hashes.length) out.grow();
    out.hashes[n] = fmix32(h);
    out.starts[n] = start;
    out.ends[n] = len;
    n++;
  }
  out.length = n;
  return n;
}

/** The ICU words of the run `text[start, end)` into `out` from index `n`; returns the new count. */
function segmentRun(text: string, start: number, end: number, out: WordBuffer, n: number): number {
  const { lower } = tables();
  const seg = wordSegmenter();
  const m = seg.split(text, start, end);
  for (let w = 0; w < m; w++) {
    let h = FNV_OFFSET;
    for (let i = seg.start[w]; i < seg.end[w]; i++) {
      const c = text.charCodeAt(i);
      h = Math.imul(h ^ (c === 0x2019 ? 39 : lower[c]), FNV_PRIME);
    }
    if (n === out.hashes.length) out.grow();
    out.hashes[n] = fmix32(h);
    out.starts[n] = seg.start[w];
    out.ends[n] = seg.end[w];
    n++;
  }
  return n;
}

/** The words of `text` as strings, exactly as the metrics see them (for tests and debugging). */
export function words(text: string): string[] {
  const buf = new WordBuffer();
  const n = scanWords(text, buf);
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      text
        .slice(buf.starts[i], buf.ends[i])
        .toLowerCase()
        .replace(/\u2019/g, "'"),
    );
  return out;
}

/** The hash the metrics use for one (already tokenised) word. */
export function wordHash(word: string): number {
  const { lower } = tables();
  let h = FNV_OFFSET;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    h = Math.imul(h ^ (c === 0x2019 ? 39 : lower[c]), FNV_PRIME);
  }
  return fmix32(h);
}
