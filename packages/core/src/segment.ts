/**
 * Word segmentation for every word-based step (quality filters, dedup shingles, decontamination
 * n-grams, metrics), one rule for all of them:
 *
 * - Text in scripts written with spaces between words (Latin, Cyrillic, Greek, Arabic, Hebrew,
 *   Devanagari, Hangul, ...) keeps each step's fast path: words are runs between white space (and
 *   punctuation, where the step says so). No per-word work beyond a table lookup per character.
 * - Runs of characters of a script written *without* spaces (Han, Hiragana, Katakana, Thai, Lao,
 *   Khmer, Myanmar: `isUnspaced`) are split into words by ICU's dictionary word breaker
 *   (`Intl.Segmenter`, built into Node). Only those runs go to ICU: an English document never
 *   does, a Chinese document with an English name splits only its Chinese runs.
 *
 * The choice is made per document and per run by the characters present, never per file.
 *
 * `Intl.Segmenter`'s iterator is quadratic in the length of the string it is given (measured in
 * Node 20: 6,600 Thai characters in one string 57 ms, 160,000 characters 264 s), so a run is
 * cut into pieces of at most `MAX_PIECE` code units (at punctuation or white space when there is
 * one, else at a character boundary: a word may be cut in two once per 256 characters of text
 * without punctuation); pieces of 100-400 characters segment fastest (2.2-2.3 MB/s of Chinese).
 */

/** Longest string handed to `Intl.Segmenter` at once. */
export const MAX_PIECE = 256;

const HAN = 1;
const KANA = 2;
const THAI = 3;
const LAO = 4;
const KHMER = 5;
const MYANMAR = 6;
const HANGUL = 7;

/**
 * Script of each UTF-16 code unit, for the scripts that decide word segmentation and language
 * defaults: 0 other, 1 Han, 2 kana, 3 Thai, 4 Lao, 5 Khmer, 6 Myanmar (these six are unspaced),
 * 7 Hangul (spaced). High surrogates of planes 2-3 (CJK extensions B-H) count as Han.
 */
export const SCRIPT_OF: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  const set = (from: number, to: number, v: number) => t.fill(v, from, to + 1);
  set(0x0e00, 0x0e7f, THAI);
  set(0x0e80, 0x0eff, LAO);
  set(0x1000, 0x109f, MYANMAR);
  set(0xa9e0, 0xa9ff, MYANMAR);
  set(0xaa60, 0xaa7f, MYANMAR);
  set(0x1780, 0x17ff, KHMER);
  set(0x19e0, 0x19ff, KHMER);
  set(0x1100, 0x11ff, HANGUL);
  set(0x3130, 0x318f, HANGUL);
  set(0xa960, 0xa97f, HANGUL);
  set(0xac00, 0xd7ff, HANGUL);
  set(0xffa0, 0xffdc, HANGUL);
  set(0x3040, 0x309f, KANA);
  set(0x30a0, 0x30ff, KANA);
  set(0x31f0, 0x31ff, KANA);
  set(0xff66, 0xff9f, KANA);
  set(0x2e80, 0x2fdf, HAN); // radicals
  set(0x3005, 0x3007, HAN); // 々 〆 〇
  set(0x3021, 0x3029, HAN);
  set(0x3400, 0x4dbf, HAN);
  set(0x4e00, 0x9fff, HAN);
  set(0xf900, 0xfaff, HAN);
  set(0xd840, 0xd8bf, HAN); // high surrogates of U+20000-U+3FFFF
  // the prolonged sound mark and iteration marks are kana
  t[0x30fc] = KANA;
  return t;
})();

/** True for code units of scripts written without spaces between words (see `SCRIPT_OF`). */
export function isUnspaced(c: number): boolean {
  const s = SCRIPT_OF[c];
  return s !== 0 && s !== HANGUL;
}

// A regular expression scans plain text for these scripts at ~1 GB/s without a JS loop.
const UNSPACED_RE =
  /[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua9e0-\ua9ff\uaa60-\uaa7f\uf900-\ufaff\uff66-\uff9f\ud840-\ud8bf]/;

/** True when `text` holds a character of a script written without spaces (the document needs ICU). */
export function hasUnspaced(text: string): boolean {
  return UNSPACED_RE.test(text);
}

/** Languages with their own defaults, chosen from a document's script (`scriptLanguage`). */
export type ScriptLanguage = 'zh' | 'ja' | 'ko' | 'th' | 'lo' | 'km' | 'my';

/**
 * The language whose rules apply to a document, from the letters of its scripts, or null for
 * "the default rules" (scripts written with spaces other than Hangul, or no letter at all).
 *
 * Rule (documented in the core README): count the code units of each script among Han, kana,
 * Hangul, Thai, Lao, Khmer and Myanmar, and the other letters (`otherLetters`, given by the caller
 * that already classifies characters; pass -1 to count them here). The document's language is the
 * one of the largest group, when it is at least as large as the other letters; Han and kana count
 * together, and the group is Japanese when kana are at least 1/20 of it (Japanese prose is
 * 30-60% kana, Chinese has none), else Chinese. Mixed-script documents thus get the rules of
 * their main script; a document of punctuation, digits or emoji only gets the default rules.
 */
export function scriptLanguage(text: string, otherLetters = -1): ScriptLanguage | null {
  const counts = [0, 0, 0, 0, 0, 0, 0, 0];
  let other = 0;
  const countOther = otherLetters < 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const s = SCRIPT_OF[c];
    if (s !== 0) counts[s]++;
    else if (countOther && c >= 0x41) {
      if (c < 0x80) {
        const l = c | 32;
        if (l >= 97 && l <= 122) other++;
      } else if (LETTERISH.test(text[i])) other++;
    }
  }
  if (!countOther) other = otherLetters;
  const cj = counts[HAN] + counts[KANA];
  let best = 0;
  let lang: ScriptLanguage | null = null;
  const consider = (n: number, l: ScriptLanguage) => {
    if (n > best) {
      best = n;
      lang = l;
    }
  };
  consider(cj, counts[KANA] * 20 >= cj ? 'ja' : 'zh');
  consider(counts[HANGUL], 'ko');
  consider(counts[THAI], 'th');
  consider(counts[LAO], 'lo');
  consider(counts[KHMER], 'km');
  consider(counts[MYANMAR], 'my');
  if (best === 0 || best < other) return null;
  return lang;
}

const LETTERISH = /\p{L}/u;

/** Break characters a long run may be cut after (white space and common sentence punctuation). */
function isCut(c: number): boolean {
  return (
    c === 0x3002 || // 。
    c === 0xff0c || // ，
    c === 0x3001 || // 、
    c === 0xff01 || // ！
    c === 0xff1f || // ？
    c === 0xff1b || // ；
    c === 0xff1a || // ：
    c === 0x20 ||
    c === 0x0a ||
    c === 0x2c ||
    c === 0x2e ||
    c === 0x200b
  );
}

/**
 * Splits runs of text into ICU words. One instance per thread (it holds reused output arrays);
 * `split` fills `start`/`end` with the bounds (absolute offsets into the text) of every segment
 * that is not white space, and `wordLike` with ICU's verdict (letters or digits: 1; punctuation,
 * symbols, emoji: 0).
 */
export class WordSegmenter {
  private readonly seg: Intl.Segmenter;
  count = 0;
  start = new Int32Array(256);
  end = new Int32Array(256);
  wordLike = new Uint8Array(256);

  constructor(locale?: string) {
    this.seg = new Intl.Segmenter(locale, { granularity: 'word' });
  }

  /** Segments of `text[from, to)` (replacing the previous call's); returns their count. */
  split(text: string, from = 0, to = text.length): number {
    this.count = 0;
    let s = from;
    while (s < to) {
      let e = to;
      if (e - s > MAX_PIECE) {
        // cut after the last break character in the window, else at MAX_PIECE (not inside a surrogate pair)
        e = s + MAX_PIECE;
        let k = e - 1;
        while (k > s + MAX_PIECE / 4 && !isCut(text.charCodeAt(k))) k--;
        if (k > s + MAX_PIECE / 4) e = k + 1;
        else if ((text.charCodeAt(e - 1) & 0xfc00) === 0xd800) e--;
      }
      this.piece(text, s, e);
      s = e;
    }
    return this.count;
  }

  private piece(text: string, from: number, to: number): void {
    const str = from === 0 && to === text.length ? text : text.slice(from, to);
    for (const x of this.seg.segment(str)) {
      const a = from + x.index;
      const b = a + x.segment.length;
      if (x.isWordLike !== true && isBlank(text, a, b)) continue;
      if (this.count === this.start.length) this.grow();
      this.start[this.count] = a;
      this.end[this.count] = b;
      this.wordLike[this.count] = x.isWordLike === true ? 1 : 0;
      this.count++;
    }
  }

  private grow(): void {
    const n = this.start.length * 2;
    const s = new Int32Array(n);
    s.set(this.start);
    this.start = s;
    const e = new Int32Array(n);
    e.set(this.end);
    this.end = e;
    const w = new Uint8Array(n);
    w.set(this.wordLike);
    this.wordLike = w;
  }
}

function isBlank(text: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = text.charCodeAt(i);
    if (
      !(
        c === 32 ||
        (c >= 9 && c <= 13) ||
        c === 0xa0 ||
        c === 0x3000 ||
        c === 0x200b ||
        c === 0x85 ||
        (c >= 0x2000 && c <= 0x200a) ||
        c === 0x2028 ||
        c === 0x2029 ||
        c === 0x202f ||
        c === 0x205f ||
        c === 0x1680
      )
    )
      return false;
  }
  return true;
}

let shared: WordSegmenter | undefined;

/** The thread's shared segmenter (not re-entrant: read its output before the next `split`). */
export function wordSegmenter(): WordSegmenter {
  shared ??= new WordSegmenter();
  return shared;
}

/**
 * The words of `text` as strings, by the shared rule: white-space separated tokens; runs of
 * unspaced scripts split by ICU; punctuation-only and symbol-only pieces (emoji) are not words.
 * A convenience for tests and small inputs; the steps use `WordSegmenter` on their own scans.
 */
export function segmentWords(text: string): string[] {
  const out: string[] = [];
  const seg = wordSegmenter();
  const re = /\S+/gu;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tok = m[0];
    if (!hasUnspaced(tok)) {
      if (WORDISH.test(tok)) out.push(tok.replace(EDGE_PUNCT, ''));
      continue;
    }
    const n = seg.split(text, m.index, m.index + tok.length);
    for (let i = 0; i < n; i++) {
      const w = text.slice(seg.start[i], seg.end[i]);
      if (WORDISH.test(w)) out.push(w.replace(EDGE_PUNCT, ''));
    }
  }
  return out;
}

const WORDISH = /[\p{L}\p{N}]/u;
const EDGE_PUNCT = /^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu;
