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
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';
import { CHAR_CLASS } from '../text.js';

export interface C4Params {
  mode: 'filter' | 'clean';
  min_sentences: number;
  min_words_per_line: number;
  remove_javascript: boolean;
  remove_policy: boolean;
  remove_lorem_ipsum: boolean;
  remove_curly_bracket: boolean;
  terminal_punctuation: boolean;
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

/** Why a line is removed, or null to keep it. Also returns its sentence count through `out`. */
function lineVerdict(line: string, p: C4Params, out: { sentences: number }): string | null {
  // words and the longest word
  let words = 0;
  let inWord = false;
  let wordLen = 0;
  for (let i = 0; i < line.length; i++) {
    if (CHAR_CLASS[line.charCodeAt(i)] === SPACE) {
      inWord = false;
    } else if (!inWord) {
      inWord = true;
      words++;
      wordLen = 1;
    } else if (++wordLen > MAX_WORD_LENGTH) return 'long_word';
  }
  if (p.terminal_punctuation) {
    const last = line.charCodeAt(line.length - 1);
    const terminal = last === 46 || last === 63 || last === 33 || last === 34 || last === 39;
    if (!terminal || line.endsWith('...')) return 'no_terminal_punct';
  }
  if (words < p.min_words_per_line) return 'too_few_words';
  if (p.remove_javascript && JAVASCRIPT.test(line)) return 'javascript';
  if (p.remove_policy && POLICY.test(line)) return 'policy';
  out.sentences = countSentences(line);
  return null;
}

/** Sentence ends: a run of `.`, `?` or `!` followed by white space or the end of the line (at least 1 per kept line). */
export function countSentences(line: string): number {
  let n = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 46 || c === 63 || c === 33) {
      while (i + 1 < line.length) {
        const d = line.charCodeAt(i + 1);
        if (d === 46 || d === 63 || d === 33 || d === 34 || d === 39 || d === 41) i++;
        else break;
      }
      if (i + 1 >= line.length || CHAR_CLASS[line.charCodeAt(i + 1)] === SPACE) n++;
    }
  }
  return Math.max(n, 1);
}

export function c4(p: C4Params): Filter['filter'] {
  const clean = p.mode === 'clean';
  const out = { sentences: 0 };
  return (doc: FilterDoc): FilterResult => {
    const text = doc.text;
    if (p.remove_lorem_ipsum && LOREM.test(text)) return drop('lorem_ipsum');
    if (p.remove_curly_bracket && text.includes('{')) return drop('curly_bracket');
    const a = doc.analysis.lines();
    let sentences = 0;
    const kept: string[] = [];
    let changed = false;
    for (let l = 0; l < a.lineCount; l++) {
      let s = a.lineStart[l];
      let e = a.lineEnd[l];
      while (s < e && CHAR_CLASS[text.charCodeAt(s)] === SPACE) s++;
      while (e > s && CHAR_CLASS[text.charCodeAt(e - 1)] === SPACE) e--;
      if (s === e) {
        changed = true; // blank lines do not survive cleaning
        continue;
      }
      let line = text.slice(s, e);
      if (line.includes('[')) {
        const stripped = line.replace(CITATION, '').trim();
        if (stripped !== line) {
          changed = true;
          line = stripped;
          if (line === '') continue;
        }
      }
      const why = lineVerdict(line, p, out);
      if (why !== null) {
        if (!clean) return drop(why);
        changed = true;
        continue;
      }
      sentences += out.sentences;
      if (clean) kept.push(line);
    }
    if (sentences < p.min_sentences) return drop('too_few_sentences');
    if (!clean || !changed) return true;
    return { text: kept.join('\n') };
  };
}
