import { didYouMean, RecipeError } from '@curate/core';
import type { Filter, FilterDoc, FilterResult } from './filter.js';
import { BLOCKLIST_DEFAULTS, type BlocklistParams, blocklist } from './filters/blocklist.js';
import { C4_DEFAULTS, type C4Params, c4 } from './filters/c4.js';
import { FINEWEB_DEFAULTS, type FinewebParams, fineweb, finewebSignals } from './filters/fineweb.js';
import {
  GOPHER_QUALITY_DEFAULTS,
  GOPHER_REPETITION_DEFAULTS,
  type GopherQualityParams,
  type GopherRepetitionParams,
  gopherQuality,
  gopherQualitySignals,
  gopherRepetition,
  gopherRepetitionSignals,
} from './filters/gopher.js';
import { GROUNDED_DEFAULTS, type GroundedParams, grounded } from './filters/grounded.js';
import { LANGUAGE_DEFAULTS, type LanguageParams, language } from './filters/language.js';
import { LENGTH_DEFAULTS, type LengthParams, length } from './filters/length.js';
import { PII_DEFAULTS, type PiiParams, pii } from './filters/pii.js';
import { SCORE_DEFAULTS, type ScoreParams, score } from './filters/score.js';
import { WHERE_CONDITIONS, WHERE_DEFAULTS, type WhereParams, where } from './filters/where.js';
import { type ParamSpec, resolveAppliesTo, resolveParams } from './params.js';

/** Default parameters of every filter (the recipe schema's names, snake_case). */
export const FILTER_DEFAULTS = {
  gopher_quality: GOPHER_QUALITY_DEFAULTS,
  gopher_repetition: GOPHER_REPETITION_DEFAULTS,
  c4: C4_DEFAULTS,
  fineweb: FINEWEB_DEFAULTS,
  length: LENGTH_DEFAULTS,
  blocklist: BLOCKLIST_DEFAULTS,
  language: LANGUAGE_DEFAULTS,
  score: SCORE_DEFAULTS,
  grounded: GROUNDED_DEFAULTS,
  where: WHERE_DEFAULTS,
  pii: PII_DEFAULTS,
} as const;

export type FilterName = keyof typeof FILTER_DEFAULTS;
export const FILTER_NAMES = Object.keys(FILTER_DEFAULTS) as FilterName[];

const ratio = { type: 'number', min: 0, max: 1 } as const;
const nonNeg = { type: 'number', min: 0 } as const;
const count = { type: 'int', min: 0 } as const;

interface Definition<P> {
  spec: Record<string, ParamSpec>;
  defaults: P;
  make(params: P, path: string): Pick<Filter, 'filter' | 'prepare' | 'redact' | 'signals'>;
  /** The columns the filter reads with these parameters (none when absent). */
  columns?(params: P): string[];
}

function def<P>(d: Definition<P>): Definition<P> {
  return d;
}

const DEFINITIONS: Record<FilterName, Definition<never>> = {
  gopher_quality: def<GopherQualityParams>({
    spec: {
      min_words: count,
      max_words: count,
      min_mean_word_length: nonNeg,
      max_mean_word_length: nonNeg,
      max_symbol_word_ratio: nonNeg,
      max_bullet_lines_ratio: ratio,
      max_ellipsis_lines_ratio: ratio,
      min_alpha_words_ratio: ratio,
      min_stop_words: count,
      stop_words: { type: 'strings' },
      languages: { type: 'languages' },
    },
    defaults: GOPHER_QUALITY_DEFAULTS,
    make: (p) => ({ filter: gopherQuality(p), signals: gopherQualitySignals(p) }),
  }),
  gopher_repetition: def<GopherRepetitionParams>({
    spec: {
      max_dup_line_frac: ratio,
      max_dup_line_char_frac: ratio,
      max_dup_para_frac: ratio,
      max_dup_para_char_frac: ratio,
      top_ngram_char_frac: { type: 'fractions', keys: [2, 3, 4] },
      dup_ngram_char_frac: { type: 'fractions', keys: [5, 6, 7, 8, 9, 10] },
    },
    defaults: GOPHER_REPETITION_DEFAULTS,
    make: (p) => ({ filter: gopherRepetition(p), signals: gopherRepetitionSignals(p) }),
  }),
  c4: def<C4Params>({
    spec: {
      mode: { type: 'enum', values: ['filter', 'clean'] },
      min_sentences: count,
      min_words_per_line: count,
      remove_javascript: { type: 'boolean' },
      remove_policy: { type: 'boolean' },
      remove_lorem_ipsum: { type: 'boolean' },
      remove_curly_bracket: { type: 'boolean' },
      terminal_punctuation: { type: 'boolean' },
      languages: { type: 'languages' },
    },
    defaults: C4_DEFAULTS,
    make: (p) => ({ filter: c4(p) }),
  }),
  fineweb: def<FinewebParams>({
    spec: {
      min_punct_line_ratio: ratio,
      max_short_line_ratio: ratio,
      short_line_length: count,
      max_dup_line_char_frac: ratio,
      max_newline_word_ratio: nonNeg,
      languages: { type: 'languages' },
    },
    defaults: FINEWEB_DEFAULTS,
    make: (p) => ({ filter: fineweb(p), signals: finewebSignals(p) }),
  }),
  length: def<LengthParams>({
    spec: {
      unit: { type: 'enum', values: ['words', 'tokens', 'chars'] },
      min: count,
      max: { type: 'int', min: 0, optional: true },
      tokenizer: { type: 'string', optional: true },
    },
    defaults: LENGTH_DEFAULTS,
    make: (p, path) => {
      if (p.max !== undefined && p.max < p.min) {
        throw new RecipeError(`must be >= min (${p.min}), got ${p.max}`, {
          path: `${path}.max`,
          code: 'E_QUALITY_PARAM',
        });
      }
      return length(p);
    },
  }),
  blocklist: def<BlocklistParams>({
    spec: { words: { type: 'strings' }, phrases: { type: 'strings' }, case_sensitive: { type: 'boolean' } },
    defaults: BLOCKLIST_DEFAULTS,
    make: (p, path) => ({ filter: blocklist(p, path) }),
  }),
  language: def<LanguageParams>({
    spec: { keep: { type: 'strings' }, min_confidence: ratio },
    defaults: LANGUAGE_DEFAULTS,
    make: (p, path) => {
      if (p.keep.length === 0)
        throw new RecipeError('must name at least one language', { path: `${path}.keep`, code: 'E_QUALITY_PARAM' });
      return language(p);
    },
  }),
  score: def<ScoreParams>({
    spec: {
      column: { type: 'string' },
      min: { type: 'number', optional: true },
      max: { type: 'number', optional: true },
      missing: { type: 'enum', values: ['drop', 'keep'] },
    },
    defaults: SCORE_DEFAULTS,
    make: (p, path) => {
      required(p.column, `${path}.column`);
      if (p.min !== undefined && p.max !== undefined && p.max < p.min) {
        throw new RecipeError(`must be >= min (${p.min}), got ${p.max}`, {
          path: `${path}.max`,
          code: 'E_QUALITY_PARAM',
        });
      }
      return { filter: score(p) };
    },
    columns: (p) => [p.column],
  }),
  grounded: def<GroundedParams>({
    spec: {
      context: { type: 'string' },
      prompt: { type: 'string', optional: true },
      response: { type: 'string', optional: true },
      max_unsupported: ratio,
      min_response_words: count,
    },
    defaults: GROUNDED_DEFAULTS,
    make: (p, path) => {
      required(p.context, `${path}.context`);
      return { filter: grounded(p) };
    },
    columns: (p) => [p.context, ...(p.prompt ? [p.prompt] : []), ...(p.response ? [p.response] : [])],
  }),
  where: def<WhereParams>({
    spec: {
      column: { type: 'string' },
      eq: { type: 'scalar' },
      ne: { type: 'scalar' },
      in: { type: 'scalars' },
      not_in: { type: 'scalars' },
      gt: { type: 'number' },
      gte: { type: 'number' },
      lt: { type: 'number' },
      lte: { type: 'number' },
      missing: { type: 'enum', values: ['drop', 'keep'] },
    },
    defaults: WHERE_DEFAULTS,
    make: (p, path) => {
      required(p.column, `${path}.column`);
      if (!WHERE_CONDITIONS.some((c) => p[c] !== undefined)) {
        throw new RecipeError(`give a condition: ${WHERE_CONDITIONS.join(', ')}`, { path, code: 'E_QUALITY_PARAM' });
      }
      return { filter: where(p) };
    },
    columns: (p) => [p.column],
  }),
  pii: def<PiiParams>({
    spec: {
      email: { type: 'boolean' },
      ip: { type: 'boolean' },
      phone: { type: 'boolean' },
      only_public_ips: { type: 'boolean' },
      email_placeholder: { type: 'string' },
      ip_placeholder: { type: 'string' },
      phone_placeholder: { type: 'string' },
    },
    defaults: PII_DEFAULTS,
    make: (p) => pii(p),
  }),
} as unknown as Record<FilterName, Definition<never>>;

function required(value: string, path: string): void {
  if (!value) throw new RecipeError('is required (the name of a column)', { path, code: 'E_QUALITY_PARAM' });
}

/**
 * Build a filter from its recipe name and parameters. Unknown names and bad
 * parameters throw a RecipeError naming the recipe path: `path` is the filter's
 * own path (default: its name), e.g. `quality[2].score` gives `quality[2].score.column`.
 */
export function createFilter(name: string, params?: object, path?: string): Filter {
  const at = path ?? name;
  if (!Object.hasOwn(DEFINITIONS, name)) {
    throw new RecipeError(
      `unknown filter "${name}"${didYouMean(name, FILTER_NAMES)} (expected one of: ${FILTER_NAMES.join(', ')})`,
      {
        path: at,
        code: 'E_QUALITY_UNKNOWN_FILTER',
      },
    );
  }
  const d = DEFINITIONS[name as FilterName] as unknown as Definition<object>;
  const resolved = resolveParams(d.spec, d.defaults, params, at);
  const appliesTo = resolveAppliesTo((params as { applies_to?: unknown } | undefined)?.applies_to, at);
  const made = d.make(resolved, at);
  const f: Filter = { name, appliesTo, filter: made.filter, columns: d.columns?.(resolved) ?? [] };
  if (made.prepare) f.prepare = made.prepare;
  if (made.redact) f.redact = made.redact;
  if (made.signals) (f as { signals?: Filter['signals'] }).signals = made.signals;
  return f;
}

/**
 * Filters from a comma-separated list of names with default parameters
 * (`gopher_quality,c4`), as the `--filters` option gives them.
 */
export function parseFilterList(list: string): Filter[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new RecipeError('no filter named', { path: '--filters', code: 'E_QUALITY_NO_FILTERS' });
  return names.map((n, i) => createFilter(n, undefined, `--filters[${i}]`));
}

/**
 * Make a filter from a plain hook (for library users writing their own). `columns`: the columns
 * the hook reads with `doc.get`; without it a reader keeps every column for this filter.
 */
export function defineFilter(
  name: string,
  filter: (doc: FilterDoc) => FilterResult,
  appliesTo?: Filter['appliesTo'],
  columns?: readonly string[],
): Filter {
  return columns ? { name, appliesTo, filter, columns } : { name, appliesTo, filter };
}
