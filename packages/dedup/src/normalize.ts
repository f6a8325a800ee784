/**
 * Text normalisation and word scanning shared by exact dedup, MinHash and
 * decontamination.
 *
 * - `normalizeText`: NFKC, lower case, white space collapsed to one space and
 *   trimmed; optionally punctuation and symbols removed. The exact-dedup key
 *   is a hash of this string.
 *   Spacing variants of scripts whose spacing is loose are unified: white space
 *   between two characters of Hangul or of an unspaced script (Han, kana, Thai,
 *   Lao, Khmer, Myanmar) is removed, and zero-width spaces/BOMs are dropped, so
 *   `아버지가 방에` = `아버지가방에` and `ภาษา ไทย` = `ภาษาไทย` (full-width forms and
 *   CJK punctuation are NFKC's and `\p{P}`'s job).
 * - `wordHashes`: NFKC + lower case, then words = maximal runs of letters,
 *   digits and combining marks (punctuation and symbols separate words and
 *   are dropped); a run holding a character of an unspaced script is split
 *   into words by @curate/core's `WordSegmenter` (ICU). Each word becomes a
 *   32-bit hash; no strings are allocated on the space-separated path.
 */
import { SCRIPT_OF, wordSegmenter } from '@curate/core';
import { fmix32 } from './hash.js';

// JS `\s` already covers Unicode white space (the `u` flag only makes it 4x
// slower). Matching only runs that are not already one plain space leaves
// ordinary spaces alone: 2.4x faster than /\s+/g with the same result.
const WS = / \s+|[^\S ]\s*/g;
const PUNCT = /[\p{P}\p{S}]+/gu;

export interface NormalizeOptions {
  /** Remove Unicode punctuation and symbols (`\p{P}`, `\p{S}`) before collapsing white space. */
  stripPunctuation?: boolean;
}

export function normalizeText(text: string, options: NormalizeOptions = {}): string {
  return normalizePrepared(prepareWords(text), options);
}

/** `normalizeText` of text already through `prepareWords` (NFKC + lower case). */
export function normalizePrepared(prepared: string, options: NormalizeOptions = {}): string {
  const t = options.stripPunctuation ? prepared.replace(PUNCT, ' ') : prepared;
  const collapsed = t.replace(WS, ' ').trim();
  return MAYBE_LOOSE.test(collapsed) && LOOSE_SPACING.test(collapsed) ? unifySpacing(collapsed) : collapsed;
}

/**
 * A superset of LOOSE_SPACING in a few wide ranges (it leaves out the general punctuation block of
 * curly quotes and dashes): V8 scans it at ~4 G characters/s against ~0.7 for the exact class, so
 * text without these scripts pays almost nothing (measured on Gutenberg books).
 */
const MAYBE_LOOSE = /[\u0e00-\u1fff\u200b\u2e80-\ud8bf\uf900-\uffdc]/;

/** Hangul, unspaced scripts (see @curate/core SCRIPT_OF) and the zero-width characters they use. */
const LOOSE_SPACING =
  /[\u0e00-\u0eff\u1000-\u11ff\u1780-\u17ff\u19e0-\u19ff\u200b\u2e80-\u2fdf\u3005-\u3029\u3040-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\ua9e0-\ua9ff\uaa60-\uaa7f\uac00-\ud7ff\uf900-\ufaff\ufeff\uff66-\uffdc\ud840-\ud8bf]/;

/** Drop zero-width spaces and BOMs, and single spaces between two Hangul or unspaced-script characters. */
function unifySpacing(t: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    let drop = c === 0x200b || c === 0xfeff;
    if (!drop && c === 32 && i > 0 && i + 1 < t.length) {
      const a = SCRIPT_OF[t.charCodeAt(i - 1)];
      const b = SCRIPT_OF[t.charCodeAt(i + 1)];
      // high surrogates (CJK extension B+) are Han; a low surrogate before the space means an astral character
      const prevLow = (t.charCodeAt(i - 1) & 0xfc00) === 0xdc00 && SCRIPT_OF[t.charCodeAt(i - 2)] !== 0;
      drop = (a !== 0 || prevLow) && b !== 0;
    }
    if (drop) {
      out += t.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? t : (out + t.slice(from)).trim().replace(/ {2,}/g, ' ');
}

/**
 * 1 for code units that belong to a word (letters, digits, marks, surrogates), 2 for those of them
 * in a script written without spaces (their runs are split by ICU), 4 for Hangul, else 0.
 */
let WORD: Uint8Array | undefined;
/** Built on first use (65,536 regex tests, ~17 ms): a process that never hashes words (the main thread of a re-mix) never pays it. */
function wordTable(): Uint8Array {
  WORD ??= buildWordTable();
  return WORD;
}

function buildWordTable(): Uint8Array {
  const table = new Uint8Array(65536);
  const re = /[\p{L}\p{N}\p{M}]/u;
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff)
      table[c] = 1; // astral characters (CJK ext., emoji) count as word characters
    else if (re.test(String.fromCharCode(c))) table[c] = 1;
    if (table[c] === 1 && SCRIPT_OF[c] !== 0) table[c] = SCRIPT_OF[c] === 7 ? 4 : 2; // 7: Hangul (spaced)
  }
  return table;
}

/** Text prepared for word scanning: NFKC and lower case. */
export function prepareWords(text: string): string {
  // ASCII is its own NFKC form; the test costs ~1% of normalize().
  return (NON_ASCII.test(text) ? text.normalize('NFKC') : text).toLowerCase();
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Hash the words of prepared text (see `prepareWords`) into `out`, growing it
 * when needed. Returns the array used and the word count.
 */
export function wordHashes(prepared: string, out: Uint32Array): { hashes: Uint32Array; count: number } {
  let n = 0;
  let h = 0;
  let inWord = false;
  let start = 0;
  // OR of the WORD classes of the current run and of the whole text (no branch per character)
  let run = 0;
  let all = 0;
  const len = prepared.length;
  const word = wordTable();
  for (let i = 0; i < len; i++) {
    const c = prepared.charCodeAt(i);
    const k = word[c];
    if (k !== 0) {
      if (!inWord) {
        inWord = true;
        h = 0x811c9dc5;
        start = i;
        all |= run;
        run = 0;
      }
      h = Math.imul(h ^ c, 0x01000193);
      run |= k;
    } else if (inWord) {
      inWord = false;
      if ((run & 2) !== 0) {
        out = segmentRun(prepared, start, i, out, n);
        n = segmented;
      } else {
        if (n === out.length) out = grow(out);
        out[n++] = fmix32(h);
      }
    }
  }
  all |= run;
  wordClasses = all;
  if (inWord) {
    if ((run & 2) !== 0) {
      out = segmentRun(prepared, start, len, out, n);
      n = segmented;
    } else {
      if (n === out.length) out = grow(out);
      out[n++] = fmix32(h);
    }
  }
  return { hashes: out, count: n };
}

/**
 * OR of the word classes `wordHashes` saw in its last text: 2 a character of an unspaced script,
 * 4 Hangul (0 or 1: neither, the text needs no script check).
 */
export let wordClasses = 0;

/** Word count after the last `segmentRun` (returned beside the array, without an object per run). */
let segmented = 0;

/** Hash the ICU words of the word run `t[start, end)` into `out` from index `n` (see `segmented`). */
function segmentRun(t: string, start: number, end: number, out: Uint32Array, n: number): Uint32Array {
  const seg = wordSegmenter();
  const m = seg.split(t, start, end);
  for (let w = 0; w < m; w++) {
    let h = 0x811c9dc5;
    for (let i = seg.start[w]; i < seg.end[w]; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
    if (n === out.length) out = grow(out);
    out[n++] = fmix32(h);
  }
  segmented = n;
  return out;
}

function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}
