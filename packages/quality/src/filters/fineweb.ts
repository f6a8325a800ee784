/**
 * FineWeb's own quality rules (Penedo et al. 2024, "The FineWeb Datasets";
 * datatrove `FineWebQualityFilter`). Lines are `text.split("\n")` (blank lines
 * included) without a trailing `\r`, so CRLF text is judged like LF text. A value exactly at a threshold passes (datatrove drops
 * at equality for the first three rules; the difference is only at equality).
 */

import { SCRIPT_OF } from '@curate/core';
import { drop, type Filter, type FilterDoc, type FilterResult, type FilterSignals } from '../filter.js';
import { FINEWEB_LANGUAGES, LANGUAGE_CODES, type LanguageOverrides, languageIndex, perLanguage } from '../languages.js';
import { CHAR_CLASS, hashRange, KeyCounter, type TextAnalysis } from '../text.js';

/** Sentence-final marks of Chinese and Japanese (full width, half-width ｡, closing corner brackets). */
export function isCjkTerminal(c: number): boolean {
  return c === 0x3002 || c === 0xff01 || c === 0xff1f || c === 0xff61 || c === 0x300d || c === 0x300f;
}

export interface FinewebParams {
  min_punct_line_ratio: number;
  max_short_line_ratio: number;
  short_line_length: number;
  max_dup_line_char_frac: number;
  max_newline_word_ratio: number;
  /** Per-language overrides of the built-in language defaults (`FINEWEB_LANGUAGES`). */
  languages?: LanguageOverrides<FinewebParams>;
}

export const FINEWEB_DEFAULTS: FinewebParams = {
  min_punct_line_ratio: 0.12,
  max_short_line_ratio: 0.67,
  short_line_length: 30,
  max_dup_line_char_frac: 0.01,
  max_newline_word_ratio: 0.3,
};

const SPACE = 2;

/**
 * Lines (`text.split("\n")`, blank ones included) that end in `.` `'` `"` `!` or `?` (or the CJK
 * sentence ends `。` `！` `？` `｡` `」` `』`), and lines of at most `shortLength` characters, written
 * to `out` as [punct, short] (divide by `a.lineCount`).
 */
export function lineEndings(a: TextAnalysis, shortLength: number, out: [number, number]): [number, number] {
  a.lines();
  const text = a.text;
  let punct = 0;
  let short = 0;
  for (let l = 0; l < a.lineCount; l++) {
    const s = a.lineStart[l];
    const e = a.lineEnd[l];
    if (e > s) {
      const c = text.charCodeAt(e - 1);
      if (c === 46 || c === 39 || c === 34 || c === 33 || c === 63 || (c >= 0x3002 && isCjkTerminal(c))) punct++;
    }
    if (e - s <= shortLength) short++;
  }
  out[0] = punct;
  out[1] = short;
  return out;
}

/**
 * Non-zero when a line of `a` starts or ends with a character of a script with language defaults
 * (or an emoji: informal Thai or Chinese lines often start or end with one): only then is the
 * language of a document that fails the punctuation or short-line rule looked up. A loop of its
 * own, run only for those documents (English text that passes never pays for it).
 */
function edgeScripts(a: TextAnalysis): number {
  const text = a.text;
  let scripts = 0;
  for (let l = 0; l < a.lineCount; l++) {
    const s = a.lineStart[l];
    const e = a.lineEnd[l];
    if (e > s) {
      const c = text.charCodeAt(e - 1);
      const f = text.charCodeAt(s);
      scripts |=
        SCRIPT_OF[c] | SCRIPT_OF[f] | (c >= 0xd800 && c <= 0xdfff ? 1 : 0) | (f >= 0xd800 && f <= 0xdfff ? 1 : 0);
    }
  }
  return scripts;
}

/** Newlines per white-space token: 0 without newlines, Infinity with newlines but no token. */
export function newlineWordRatio(a: TextAnalysis): number {
  const newlines = a.lines().lineCount - 1;
  if (newlines <= 0) return 0;
  const words = a.countTokens();
  return words === 0 ? Number.POSITIVE_INFINITY : newlines / words;
}

/** Characters in duplicate non-blank lines, and the characters the ratio divides by: [dup, chars]. */
function dupLineChars(a: TextAnalysis, counter: KeyCounter, h: Int32Array): [number, number] {
  const text = a.text;
  const lines = a.lineCount;
  counter.clear(lines);
  let dupChars = 0;
  for (let l = 0; l < lines; l++) {
    const s = a.lineStart[l];
    const e = a.lineEnd[l];
    let blank = true;
    for (let j = s; j < e; j++) {
      if (CHAR_CLASS[text.charCodeAt(j)] !== SPACE) {
        blank = false;
        break;
      }
    }
    if (blank) continue;
    hashRange(text, s, e, h);
    const slot = counter.add(h[0], h[1]);
    if (counter.count(slot) > 1) dupChars += e - s;
  }
  let crs = 0;
  for (let l = 0; l + 1 < lines; l++) if (a.lineEnd[l] < a.lineStart[l + 1] - 1) crs++;
  return [dupChars, text.length - (lines - 1) - crs];
}

export function fineweb(base: FinewebParams): Filter['filter'] {
  const counter = new KeyCounter();
  const h = new Int32Array(2);
  const out: [number, number] = [0, 0];
  const forLanguage = perLanguage(base, FINEWEB_LANGUAGES, base.languages);
  // The built-in language defaults only relax the punctuation and short-line rules (they change
  // nothing else): the language is looked up when a document fails one of them, so English text
  // that passes never pays for it; with recipe overrides, for every document.
  const eager = base.languages !== undefined && Object.keys(base.languages).length > 0;
  return (doc: FilterDoc): FilterResult => {
    let p = eager ? forLanguage(doc.analysis.language()) : base;
    const a = doc.analysis.lines();
    const lines = a.lineCount;
    let [punct, short] = lineEndings(a, p.short_line_length, out);
    if (
      !eager &&
      (punct / lines < p.min_punct_line_ratio || short / lines > p.max_short_line_ratio) &&
      edgeScripts(a) !== 0
    ) {
      p = forLanguage(doc.analysis.language());
      if (p !== base) [punct, short] = lineEndings(a, p.short_line_length, out);
    }
    if (punct / lines < p.min_punct_line_ratio) return drop('punct_line_ratio');
    if (short / lines > p.max_short_line_ratio) return drop('short_line_ratio');
    const [dupChars, chars] = dupLineChars(a, counter, h);
    if (chars > 0 && dupChars / chars > p.max_dup_line_char_frac) return drop('dup_line_char_frac');
    if (newlineWordRatio(doc.analysis) > p.max_newline_word_ratio) return drop('newline_word_ratio');
    return true;
  };
}

/**
 * fineweb as values and a decision (FilterSignals). Values: lines, lines ending in punctuation,
 * short lines, duplicate-line characters, characters, newlines per word; the key is
 * `short_line_length`. `decide` checks in `fineweb`'s order with the same arithmetic.
 */
export function finewebSignals(base: FinewebParams): FilterSignals {
  const counter = new KeyCounter();
  const h = new Int32Array(2);
  const pair: [number, number] = [0, 0];
  const forLanguage = perLanguage(base, FINEWEB_LANGUAGES, base.languages);
  // the short line length of every language is part of the key (it changes the measured count)
  const shortKey: Record<string, number> = {};
  for (const l of LANGUAGE_CODES) shortKey[l] = forLanguage(l || null).short_line_length;
  return {
    key: { short_line_length: base.short_line_length, languages: shortKey },
    names: ['lines', 'punct_lines', 'short_lines', 'dup_line_chars', 'chars', 'newline_word_ratio', 'language'],
    measure(doc, out) {
      // the language of every document (the signals are decided later, for any thresholds)
      const lang = doc.analysis.language();
      const p = forLanguage(lang);
      const a = doc.analysis.lines();
      out[0] = a.lineCount;
      out[6] = languageIndex(lang);
      const [punct, short] = lineEndings(a, p.short_line_length, pair);
      out[1] = punct;
      out[2] = short;
      const [dupChars, chars] = dupLineChars(a, counter, h);
      out[3] = dupChars;
      out[4] = chars;
      out[5] = newlineWordRatio(doc.analysis);
    },
    decide(v) {
      const p = forLanguage(LANGUAGE_CODES[v[6]] || null);
      const lines = v[0];
      if (v[1] / lines < p.min_punct_line_ratio) return drop('punct_line_ratio');
      if (v[2] / lines > p.max_short_line_ratio) return drop('short_line_ratio');
      if (v[4] > 0 && v[3] / v[4] > p.max_dup_line_char_frac) return drop('dup_line_char_frac');
      if (v[5] > p.max_newline_word_ratio) return drop('newline_word_ratio');
      return true;
    },
  };
}
