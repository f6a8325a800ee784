/**
 * The text kernel over the raw bytes of a JSON string: JSON escapes and
 * UTF-8 decoded, lower-cased, words hashed and the normalised text (for the
 * exact key) produced in one pass, without creating a JS string.
 *
 * It computes exactly what `prepareWords` + `wordHashes` + `normalizePrepared`
 * compute on the decoded string, for texts made of "simple" characters: BMP
 * characters that NFKC leaves alone and that never compose with a neighbour
 * (no combining marks, no Hangul vowel/trailing jamo), whose lower case is one
 * code unit and context-free (not Σ). ASCII is always simple. A text with any
 * other character (or an astral one, or invalid UTF-8) returns false and the
 * caller decodes it and takes the string path, so results never differ.
 */
import { SCRIPT_OF } from '@curate/core';
import { fmix32 } from './hash.js';

const C_WORD = 1;
const C_WS = 2;
const C_PUNCT = 4;

/** Per code unit: 0 not looked at yet, 1 simple, 2 not simple. */
const STATE = new Uint8Array(65536);
/** Lower case of simple code units. */
const LOWER = new Uint16Array(65536);
/** Class bits of (lower-cased) simple code units. */
const CLASS = new Uint8Array(65536);

const WORD_RE = /[\p{L}\p{N}\p{M}]/u;
const WS_RE = /\s/;
const PUNCT_RE = /[\p{P}\p{S}]/u;
const MARK_RE = /\p{M}/u;

function classOf(ch: string): number {
  return (WORD_RE.test(ch) ? C_WORD : 0) | (WS_RE.test(ch) ? C_WS : 0) | (PUNCT_RE.test(ch) ? C_PUNCT : 0);
}

/** Whether code unit c is simple (see above); fills LOWER and CLASS for it. */
export function isSimple(c: number): boolean {
  let s = STATE[c];
  if (s === 0) {
    s = 2;
    if (c < 0xd800 || c > 0xdfff) {
      const ch = String.fromCharCode(c);
      const lower = ch.toLowerCase();
      if (
        ch.normalize('NFKC') === ch &&
        !MARK_RE.test(ch) &&
        !(c >= 0x1160 && c <= 0x11ff) &&
        c !== 0x3a3 &&
        SCRIPT_OF[c] === 0 && // Hangul and unspaced scripts: spacing unified, words split by ICU (string path)
        lower.length === 1
      ) {
        s = 1;
        const d = lower.charCodeAt(0);
        LOWER[c] = d;
        CLASS[c] = classOf(lower);
      }
    }
    STATE[c] = s;
  }
  return s === 1;
}

for (let c = 0; c < 128; c++) isSimple(c);

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function utf8(out: Uint8Array, o: number, d: number): number {
  if (d < 0x800) {
    out[o++] = 0xc0 | (d >> 6);
    out[o++] = 0x80 | (d & 0x3f);
  } else {
    out[o++] = 0xe0 | (d >> 12);
    out[o++] = 0x80 | ((d >> 6) & 0x3f);
    out[o++] = 0x80 | (d & 0x3f);
  }
  return o;
}

export class RawTextKernel {
  words: Uint32Array = new Uint32Array(1024);
  wordCount = 0;
  norm: Uint8Array = new Uint8Array(1 << 16);
  normLength = 0;
  /** UTF-16 length of the decoded text. */
  chars = 0;
  /** The JSON string was written as JSON.stringify writes it (only short escapes and \u00xx for controls). */
  canonical = true;

  /**
   * Scan the JSON string body b[p, e) (between the quotes). Returns false
   * when the text has a character that is not simple (then nothing is valid).
   */
  scan(b: Uint8Array, p: number, e: number, stripPunctuation: boolean): boolean {
    let words = this.words;
    let norm = this.norm;
    if (norm.length < (e - p) * 3 + 8) norm = this.norm = new Uint8Array((e - p) * 3 + 1024);
    // a word takes at least one code unit and a separator: enough room for every word of this text
    if (words.length < ((e - p) >> 1) + 2) words = this.words = new Uint32Array(((e - p) >> 1) + 1024);
    const sepMask = stripPunctuation ? C_WS | C_PUNCT : C_WS;
    const start = p;
    this.extra = 0;
    this.canonical = true;
    let n = 0;
    let h = 0;
    let inWord = false;
    let o = 0;
    let pend = false;
    while (p < e) {
      let c = b[p];
      if (ASCII_WORD[c] === 1) {
        // a run of ASCII letters and digits (most of the text): no class lookups
        if (pend) {
          norm[o++] = 32;
          pend = false;
        }
        if (!inWord) {
          inWord = true;
          h = 0x811c9dc5;
        }
        do {
          const d = c | 0x20; // lower case of an ASCII letter or digit
          h = Math.imul(h ^ d, 0x01000193);
          norm[o++] = d;
          if (++p === e) break;
          c = b[p];
        } while (ASCII_WORD[c] === 1);
        continue;
      }
      if (c === 32) {
        if (inWord) {
          inWord = false;
          words[n++] = fmix32(h);
        }
        if (o > 0) pend = true;
        p++;
        continue;
      }
      if (c >= 0x20 && c < 0x80 && c !== 92) p++;
      else {
        c = this.decode(b, p, e);
        if (c < 0) return false;
        p = this.pos;
      }
      const d = LOWER[c];
      const cl = CLASS[c];
      if ((cl & C_WORD) !== 0) {
        if (!inWord) {
          inWord = true;
          h = 0x811c9dc5;
        }
        h = Math.imul(h ^ d, 0x01000193);
      } else if (inWord) {
        inWord = false;
        words[n++] = fmix32(h);
      }
      if ((cl & sepMask) !== 0) {
        if (o > 0) pend = true;
      } else {
        if (pend) {
          norm[o++] = 32;
          pend = false;
        }
        if (d < 0x80) norm[o++] = d;
        else o = utf8(norm, o, d);
      }
    }
    if (inWord) words[n++] = fmix32(h);
    this.wordCount = n;
    this.normLength = o;
    this.chars = e - start - this.extra;
    return true;
  }

  private pos = 0;
  /** Bytes of escapes and UTF-8 sequences beyond one per code unit. */
  private extra = 0;

  /** The simple code unit of the escape or UTF-8 sequence at p (this.pos = after it), or -1. */
  private decode(b: Uint8Array, p: number, e: number): number {
    const p0 = p;
    let c = b[p];
    if (c === 92) {
      const x = b[p + 1];
      p += 2;
      if (x === 110) c = 10;
      else if (x === 116) c = 9;
      else if (x === 34 || x === 92) c = x;
      else if (x === 47) {
        c = x;
        this.canonical = false;
      } else if (x === 114) c = 13;
      else if (x === 98) c = 8;
      else if (x === 102) c = 12;
      else if (x === 117) {
        const h0 = hex(b[p]);
        const h1 = hex(b[p + 1]);
        const h2 = hex(b[p + 2]);
        const h3 = hex(b[p + 3]);
        if ((h0 | h1 | h2 | h3) < 0 || p + 4 > e) return -1;
        c = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
        // JSON.stringify writes \u00xx (lower-case hex) only for controls without a short escape
        if (
          c >= 0x20 ||
          c === 8 ||
          c === 9 ||
          c === 10 ||
          c === 12 ||
          c === 13 ||
          (h2 > 9 && b[p + 2] < 97) ||
          (h3 > 9 && b[p + 3] < 97)
        )
          this.canonical = false;
        p += 4;
        if (c >= 0x80 && !isSimple(c)) return -1;
      } else return -1;
    } else if (c < 0xe0) {
      if (c < 0xc2 || p + 1 >= e) return -1;
      const c1 = b[p + 1];
      if ((c1 & 0xc0) !== 0x80) return -1;
      c = ((c & 0x1f) << 6) | (c1 & 0x3f);
      p += 2;
      if (STATE[c] !== 1 && !isSimple(c)) return -1;
    } else if (c < 0xf0) {
      if (p + 2 >= e) return -1;
      const c1 = b[p + 1];
      const c2 = b[p + 2];
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) return -1;
      c = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      p += 3;
      if (c < 0x800) return -1; // overlong
      if (STATE[c] !== 1 && !isSimple(c)) return -1; // surrogates are never simple
    } else return -1; // astral or invalid
    this.extra += p - p0 - 1;
    this.pos = p;
    return c;
  }
}

/** 1 for ASCII letters and digits (word characters). */
const ASCII_WORD = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;
  CLASS[c] = classOf(String.fromCharCode(LOWER[c]));
  ASCII_WORD[c] = CLASS[c] & C_WORD ? 1 : 0;
}
