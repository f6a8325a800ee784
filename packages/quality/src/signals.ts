/**
 * Quality signals: the values the default heuristic filters judge, measured
 * without judging, so a report can show where documents sit relative to the
 * thresholds. Each value comes from the same code the filter runs (the helpers
 * in filters/gopher.ts and filters/fineweb.ts over one `TextAnalysis`), so a
 * filter with threshold t drops a document exactly when its signal is beyond t
 * (a value at the threshold passes), other checks aside.
 */
import { FINEWEB_DEFAULTS, lineEndings, newlineWordRatio } from './filters/fineweb.js';
import {
  countStopWords,
  ellipsisCount,
  GOPHER_QUALITY_DEFAULTS,
  GOPHER_REPETITION_DEFAULTS,
  hashCount,
  lineDuplicates,
  type NgramLimits,
  ngramRepetition,
  RepetitionScratch,
  stopWordSet,
} from './filters/gopher.js';
import { GOPHER_QUALITY_LANGUAGES } from './languages.js';
import { TextAnalysis } from './text.js';

/** Signal values of one document; null where the value is undefined (no words). */
export interface QualitySignals {
  /** Words (tokens with letters or digits after stripping punctuation): gopher_quality min/max_words. */
  word_count: number;
  /** Mean word length in characters (null without words): gopher_quality min/max_mean_word_length. */
  mean_word_length: number | null;
  /** max(`#`, ellipses) per word: gopher_quality max_symbol_word_ratio (judges both). */
  symbol_word_ratio: number;
  /** Share of words with a letter (null without words): gopher_quality min_alpha_words_ratio. */
  alpha_words_ratio: number | null;
  /** Words that are stop words (all of them, not only up to the minimum): gopher_quality min_stop_words. */
  stop_words: number;
  /** Characters in duplicate lines / text length: gopher_repetition max_dup_line_char_frac. */
  dup_line_char_frac: number;
  /** Characters in the most common repeated 2-gram / text length: gopher_repetition top_ngram_char_frac.2. */
  top_2gram_char_frac: number;
  /** Characters in repeated 5-grams / text length: gopher_repetition dup_ngram_char_frac.5. */
  dup_5gram_char_frac: number;
  /** Share of lines ending in . ' " ! ?: fineweb min_punct_line_ratio. */
  punct_line_ratio: number;
  /** Share of lines of at most `short_line_length` characters: fineweb max_short_line_ratio. */
  short_line_ratio: number;
  /** Newlines per token (Infinity with newlines but no token): fineweb max_newline_word_ratio. */
  newline_word_ratio: number;
}

export type QualitySignalName = keyof QualitySignals;

/** What a signal is and the threshold the default filter judges it against. */
export interface SignalInfo {
  /** Short label for a chart axis. */
  label: string;
  /** The filter that judges it (recipe name). */
  filter: 'gopher_quality' | 'gopher_repetition' | 'fineweb';
  /** Parameter paths inside the filter's recipe parameters (`top_ngram_char_frac.2`) for each bound. */
  params: { min?: string; max?: string };
  /** Default lower bound: a value below it is dropped. */
  min?: number;
  /** Default upper bound: a value above it is dropped. */
  max?: number;
  /** The filter's drop reason detail(s) for this signal. */
  reasons: string[];
}

const GQ = GOPHER_QUALITY_DEFAULTS;
const GR = GOPHER_REPETITION_DEFAULTS;
const FW = FINEWEB_DEFAULTS;

/** Every signal, in report order, with its filter, parameters and default thresholds. */
export const SIGNAL_INFO: Readonly<Record<QualitySignalName, SignalInfo>> = {
  word_count: {
    label: 'words',
    filter: 'gopher_quality',
    params: { min: 'min_words', max: 'max_words' },
    min: GQ.min_words,
    max: GQ.max_words,
    reasons: ['word_count'],
  },
  mean_word_length: {
    label: 'mean word length (characters)',
    filter: 'gopher_quality',
    params: { min: 'min_mean_word_length', max: 'max_mean_word_length' },
    min: GQ.min_mean_word_length,
    max: GQ.max_mean_word_length,
    reasons: ['mean_word_length'],
  },
  symbol_word_ratio: {
    label: '# or ellipses per word',
    filter: 'gopher_quality',
    params: { max: 'max_symbol_word_ratio' },
    max: GQ.max_symbol_word_ratio,
    reasons: ['hash_ratio', 'ellipsis_ratio'],
  },
  alpha_words_ratio: {
    label: 'share of words with a letter',
    filter: 'gopher_quality',
    params: { min: 'min_alpha_words_ratio' },
    min: GQ.min_alpha_words_ratio,
    reasons: ['alpha_words'],
  },
  stop_words: {
    label: 'stop words',
    filter: 'gopher_quality',
    params: { min: 'min_stop_words' },
    min: GQ.min_stop_words,
    reasons: ['stop_words'],
  },
  dup_line_char_frac: {
    label: 'characters in duplicate lines',
    filter: 'gopher_repetition',
    params: { max: 'max_dup_line_char_frac' },
    max: GR.max_dup_line_char_frac,
    reasons: ['dup_line_char_frac'],
  },
  top_2gram_char_frac: {
    label: 'characters in the top 2-gram',
    filter: 'gopher_repetition',
    params: { max: 'top_ngram_char_frac.2' },
    max: GR.top_ngram_char_frac['2'],
    reasons: ['top_2gram_char_frac'],
  },
  dup_5gram_char_frac: {
    label: 'characters in repeated 5-grams',
    filter: 'gopher_repetition',
    params: { max: 'dup_ngram_char_frac.5' },
    max: GR.dup_ngram_char_frac['5'],
    reasons: ['dup_5gram_char_frac'],
  },
  punct_line_ratio: {
    label: 'lines ending in punctuation',
    filter: 'fineweb',
    params: { min: 'min_punct_line_ratio' },
    min: FW.min_punct_line_ratio,
    reasons: ['punct_line_ratio'],
  },
  short_line_ratio: {
    label: `short lines (<= ${FW.short_line_length} chars)`,
    filter: 'fineweb',
    params: { max: 'max_short_line_ratio' },
    max: FW.max_short_line_ratio,
    reasons: ['short_line_ratio'],
  },
  newline_word_ratio: {
    label: 'newlines per word',
    filter: 'fineweb',
    params: { max: 'max_newline_word_ratio' },
    max: FW.max_newline_word_ratio,
    reasons: ['newline_word_ratio'],
  },
};

/** Parameters that change how a signal is measured (not its threshold). */
export interface SignalOptions {
  /** gopher_quality's stop words (default: its defaults). */
  stop_words?: readonly string[];
  /** fineweb's short line length in characters (default 30). */
  short_line_length?: number;
}

/**
 * Measures signals document by document, reusing its scratch space (one per
 * thread; not re-entrant).
 */
export class QualitySignalMeter {
  private readonly a = new TextAnalysis();
  private readonly sc = new RepetitionScratch();
  private readonly stop: { set: Set<string>; maxLength: number };
  /** Stop words per language (the gopher_quality language defaults) unless the options name a list. */
  private readonly langStop = new Map<string, { set: Set<string>; maxLength: number }>();
  private readonly customStop: boolean;
  private readonly shortLength: number;
  private readonly ends: [number, number] = [0, 0];
  /** Top 2-grams and duplicate 5-grams measured, never a limit (the filter's own function). */
  private readonly limits: NgramLimits = {
    top: Float64Array.from([Number.NaN, Number.NaN, Number.POSITIVE_INFINITY, Number.NaN, Number.NaN, Number.NaN]),
    dup: Float64Array.from([Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.POSITIVE_INFINITY]),
    stopBelow: new Float64Array(6).fill(Number.NEGATIVE_INFINITY),
  };
  private readonly topOut = new Float64Array(6);
  private readonly dupOut = new Float64Array(6);

  constructor(options: SignalOptions = {}) {
    this.stop = stopWordSet(options.stop_words ?? GQ.stop_words);
    this.customStop = options.stop_words !== undefined;
    this.shortLength = options.short_line_length ?? FW.short_line_length;
  }

  private stopFor(lang: string | null): { set: Set<string>; maxLength: number } {
    if (lang === null || this.customStop) return this.stop;
    let s = this.langStop.get(lang);
    if (!s) {
      s = stopWordSet(GOPHER_QUALITY_LANGUAGES[lang as 'zh']?.stop_words ?? GQ.stop_words);
      this.langStop.set(lang, s);
    }
    return s;
  }

  measure(text: string): QualitySignals {
    const a = this.a.reset(text).tokens();
    const words = a.wordCount;
    const len = text.length;
    const denom = Math.max(words, 1);
    let dupLine = 0;
    let top2 = 0;
    let dup5 = 0;
    if (len > 0) {
      dupLine = lineDuplicates(a, this.sc)[2] / len;
      ngramRepetition(a, this.sc, 5, this.limits, this.topOut, this.dupOut);
      top2 = this.topOut[2];
      dup5 = this.dupOut[5];
    }
    a.lines();
    const [punct, short] = lineEndings(a, this.shortLength, this.ends);
    return {
      word_count: words,
      mean_word_length: words === 0 ? null : a.wordCharSum / words,
      symbol_word_ratio: Math.max(hashCount(text), ellipsisCount(text)) / denom,
      alpha_words_ratio: words === 0 ? null : a.alphaWords / words,
      stop_words: countStopWords(a, this.stopFor(a.language())),
      dup_line_char_frac: dupLine,
      top_2gram_char_frac: top2,
      dup_5gram_char_frac: dup5,
      punct_line_ratio: punct / a.lineCount,
      short_line_ratio: short / a.lineCount,
      newline_word_ratio: newlineWordRatio(a),
    };
  }
}

let shared: QualitySignalMeter | undefined;

/** The quality signals of one text with the filters' default measuring parameters. */
export function qualitySignals(text: string, options?: SignalOptions): QualitySignals {
  if (options) return new QualitySignalMeter(options).measure(text);
  shared ??= new QualitySignalMeter();
  return shared.measure(text);
}

const linear = (hi: number, bins: number) => Array.from({ length: bins + 1 }, (_, i) => (i * hi) / bins);
/** 0, then 1-2-5 steps up to `hi` (the Gopher word limits 50 and 100,000 are edges). */
const log125 = (hi: number) => {
  const e = [0];
  for (let p = 1; p <= hi; p *= 10) for (const m of [1, 2, 5]) if (m * p <= hi) e.push(m * p);
  return e;
};

/**
 * Fixed bin edges per signal (ascending). Bin i counts values in [edges[i], edges[i+1]); values
 * below edges[0] count in the first bin and values at or above the last inner edge in the last
 * bin (it is open-ended). Default thresholds fall on edges where the step allows.
 */
/**
 * Fixed histogram edges per signal, shared by everything that plots or counts signals (the
 * mix manifest's `quality_signals`, the report).
 */
export const SIGNAL_EDGES: Readonly<Record<QualitySignalName, readonly number[]>> = {
  word_count: log125(1e6),
  mean_word_length: linear(15, 30),
  symbol_word_ratio: linear(0.5, 20),
  alpha_words_ratio: linear(1, 20),
  stop_words: log125(1e5),
  dup_line_char_frac: linear(1, 20),
  top_2gram_char_frac: linear(0.5, 20),
  dup_5gram_char_frac: linear(1, 20),
  punct_line_ratio: linear(1, 25),
  short_line_ratio: linear(1, 20),
  newline_word_ratio: linear(1, 20),
};
