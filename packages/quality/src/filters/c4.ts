/**
 * C4 rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a
 * Unified Text-to-Text Transformer", section 2.2; datatrove `C4QualityFilter`).
 *
 * Line rules (a line is removed when): it does not end in terminal punctuation
 * (`.` `?` `!` `"` `'`, not an ellipsis), it has fewer than `min_words_per_line`
 * words, it mentions "javascript", it contains a policy/cookie phrase, or it has a
 * word longer than 1,000 characters. Wikipedia-style citations (`[1]`, `[edit]`,
 * `[citation needed]`) are removed before the checks.
 * Document rules (the document is dropped when): it contains "lorem ipsum" or `{`
 * (checked on the whole text, as the paper says), or fewer than `min_sentences`
 * sentences remain.
 *
 * `mode: "clean"` removes the lines and keeps the cleaned text (as C4 did);
 * `mode: "filter"` never changes text: a document with any (non-blank) line that
 * the line rules would remove is dropped, with that rule as the reason.
 */

import { isUnspaced, wordSegmenter } from '@curate/core';
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';
import { C4_LANGUAGES, type LanguageOverrides, perLanguage } from '../languages.js';
import { CHAR_CLASS } from '../text.js';
import { isCjkTerminal } from './fineweb.js';

export interface C4Params {
  mode: 'filter' | 'clean';
  min_sentences: number;
  min_words_per_line: number;
  remove_javascript: boolean;
  remove_policy: boolean;
  remove_lorem_ipsum: boolean;
  remove_curly_bracket: boolean;
  terminal_punctuation: boolean;
  /** Per-language overrides of the built-in language defaults (`C4_LANGUAGES`). */
  languages?: LanguageOverrides<C4Params>;
}

export const C4_DEFAULTS: C4Params = {
  mode: 'clean',
  min_sentences: 5,
  min_words_per_line: 3,
  remove_javascript: true,
  remove_policy: true,
  remove_lorem_ipsum: true,
  remove_curly_bracket: true,
  terminal_punctuation: true,
};

const SPACE = 2;
const MAX_WORD_LENGTH = 1000;
const CITATION = /\[\d*\]|\[edit\]|\[citation needed\]/gi;
const POLICY = /terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies/i;
const JAVASCRIPT = /javascript/i;
const LOREM = /lorem ipsum/i;

/** ASCII lower case of a UTF-16 code unit when it is a letter (the `i` flag without `u` folds only ASCII here). */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c | 32 : c;
}

/**
 * Why the line `str[s, e)` (trimmed, not blank) is removed, or null to keep it; then its
 * sentence count is in `out`. The javascript and policy expressions only run on lines that
 * hold a letter every match needs (`j`; `k` of "cookie", "polic", or "f u" of "terms of use").
 */
function lineVerdict(str: string, s: number, e: number, p: C4Params, out: { sentences: number }): string | null {
  let terminal = true;
  if (p.terminal_punctuation) {
    const last = str.charCodeAt(e - 1);
    terminal =
      (last === 46 ||
        last === 63 ||
        last === 33 ||
        last === 34 ||
        last === 39 ||
        (last >= 0x3002 && isCjkTerminal(last))) &&
      !(last === 46 && e - s >= 3 && str.charCodeAt(e - 2) === 46 && str.charCodeAt(e - 3) === 46);
    // no word can be longer than the line: the long-word rule (checked first) cannot apply
    if (!terminal && e - s <= MAX_WORD_LENGTH) return 'no_terminal_punct';
  }
  // words, the longest word, and the letters the expressions need
  let words = 0;
  let inWord = false;
  let wordLen = 0;
  let js = false;
  let policy = false;
  for (let i = s; i < e; i++) {
    const c = str.charCodeAt(i);
    if (CHAR_CLASS[c] === SPACE) {
      inWord = false;
      if (
        c === 32 &&
        i > s &&
        i + 1 < e &&
        lower(str.charCodeAt(i - 1)) === 102 &&
        lower(str.charCodeAt(i + 1)) === 117
      )
        policy = true;
      continue;
    }
    if (!inWord) {
      inWord = true;
      words++;
      wordLen = 1;
    } else if (++wordLen > MAX_WORD_LENGTH) return 'long_word';
    const l = lower(c);
    if (l === 106) js = true;
    else if (l === 107) policy = true;
    else if (
      l === 112 &&
      i + 4 < e &&
      lower(str.charCodeAt(i + 1)) === 111 &&
      lower(str.charCodeAt(i + 2)) === 108 &&
      lower(str.charCodeAt(i + 3)) === 105 &&
      lower(str.charCodeAt(i + 4)) === 99
    )
      policy = true;
  }
  if (!terminal) return 'no_terminal_punct';
  if (words < p.min_words_per_line && unspacedIn(str, s, e)) words = icuWords(str, s, e);
  if (words < p.min_words_per_line) return 'too_few_words';
  if (js && p.remove_javascript && JAVASCRIPT.test(str.slice(s, e))) return 'javascript';
  if (policy && p.remove_policy && POLICY.test(str.slice(s, e))) return 'policy';
  out.sentences = countSentences(str, s, e);
  return null;
}

/** Thai or Lao code unit (the scripts whose lines need no terminal punctuation by default). */
function isThaiLao(c: number): boolean {
  return c >= 0x0e00 && c <= 0x0eff;
}

/** Whether `str[s, e)` holds a character of a script written without spaces (no slice: short English lines are common). */
function unspacedIn(str: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0x0e00 && isUnspaced(c)) return true;
  }
  return false;
}

/** A line `str[s, e)` that starts or ends in Thai or Lao (the language is looked up only for those). */
function thaiLaoEdge(str: string, s: number, e: number): boolean {
  return isThaiLao(str.charCodeAt(e - 1)) || isThaiLao(str.charCodeAt(s));
}

/** Words of `str[s, e)` with runs of unspaced scripts split by ICU (@curate/core `WordSegmenter`). */
function icuWords(str: string, s: number, e: number): number {
  const seg = wordSegmenter();
  const m = seg.split(str, s, e);
  let n = 0;
  for (let w = 0; w < m; w++) if (seg.wordLike[w] === 1) n++;
  return n;
}

/**
 * Sentence ends in `line[s, e)`: a run of `.`, `?` or `!` followed by white space or the end of
 * the line, or a CJK sentence end `。` `！` `？` `｡` (written without a space after it); at least 1
 * per kept line.
 */
export function countSentences(line: string, s = 0, e = line.length): number {
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = line.charCodeAt(i);
    // `.` `?` `!` are all <= 63: letters take two comparisons
    if (c <= 63) {
      if (c === 46 || c === 63 || c === 33) {
        while (i + 1 < e) {
          const d = line.charCodeAt(i + 1);
          if (d === 46 || d === 63 || d === 33 || d === 34 || d === 39 || d === 41) i++;
          else break;
        }
        if (i + 1 >= e || CHAR_CLASS[line.charCodeAt(i + 1)] === SPACE) n++;
      }
    } else if (c >= 0x3002 && (c === 0x3002 || c === 0xff01 || c === 0xff1f || c === 0xff61)) n++;
  }
  return Math.max(n, 1);
}

const TOO_FEW_SENTENCES = drop('too_few_sentences');

export function c4(base: C4Params): Filter['filter'] {
  const clean = base.mode === 'clean';
  const out = { sentences: 0 };
  const forLanguage = perLanguage(base, C4_LANGUAGES, base.languages);
  // The built-in language defaults only relax terminal punctuation (Thai, Lao): the document's
  // language is looked up when a line starting or ending in Thai or Lao fails it (English text never pays
  // for the lookup). Recipe overrides may change any rule: then it is looked up for every document.
  const eager = base.languages !== undefined && Object.keys(base.languages).length > 0;
  return (doc: FilterDoc): FilterResult => {
    // `p` and `resolved` stay locals of this function (no closure per document: English lines
    // take the plain `lineVerdict` call, as before the language rules)
    let p = eager ? forLanguage(doc.analysis.language()) : base;
    let resolved = eager;
    const text = doc.text;
    if (p.remove_lorem_ipsum && LOREM.test(text)) return drop('lorem_ipsum');
    if (p.remove_curly_bracket && text.includes('{')) return drop('curly_bracket');
    const a = doc.analysis.lines();
    let sentences = 0;
    const kept: string[] = [];
    let changed = false;
    // next `[` at or after the current line (citations are only looked for in lines with one)
    let bracket = text.indexOf('[');
    for (let l = 0; l < a.lineCount; l++) {
      let s = a.lineStart[l];
      let e = a.lineEnd[l];
      while (s < e && CHAR_CLASS[text.charCodeAt(s)] === SPACE) s++;
      while (e > s && CHAR_CLASS[text.charCodeAt(e - 1)] === SPACE) e--;
      if (s === e) {
        changed = true; // blank lines do not survive cleaning
        continue;
      }
      if (bracket >= 0 && bracket < s) bracket = text.indexOf('[', s);
      if (bracket >= 0 && bracket < e) {
        let line = text.slice(s, e);
        const stripped = line.replace(CITATION, '').trim();
        if (stripped !== line) {
          changed = true;
          line = stripped;
          if (line === '') continue;
        }
        let why = lineVerdict(line, 0, line.length, p, out);
        if (why === 'no_terminal_punct' && !resolved && thaiLaoEdge(line, 0, line.length)) {
          resolved = true;
          p = forLanguage(doc.analysis.language());
          if (p !== base) why = lineVerdict(line, 0, line.length, p, out);
        }
        if (why !== null) {
          if (!clean) return drop(why);
          changed = true;
          continue;
        }
        sentences += out.sentences;
        if (clean) kept.push(line);
        continue;
      }
      let why = lineVerdict(text, s, e, p, out);
      if (why === 'no_terminal_punct' && !resolved && thaiLaoEdge(text, s, e)) {
        resolved = true;
        p = forLanguage(doc.analysis.language());
        if (p !== base) why = lineVerdict(text, s, e, p, out);
      }
      if (why !== null) {
        if (!clean) return drop(why);
        changed = true;
        continue;
      }
      sentences += out.sentences;
      if (clean) kept.push(text.slice(s, e));
    }
    if (sentences < p.min_sentences) return TOO_FEW_SENTENCES;
    if (!clean || !changed) return true;
    return { text: kept.join('\n') };
  };
}
