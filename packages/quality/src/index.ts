export { FilterChain, type QualityStepOptions, qualityStep, type RowAccess } from './chain.js';
export { type CustomFilterParams, loadCustomFilter, loadFilter } from './custom.js';
export { evaluateFilters, type FilterPassRate, formatPassRates, type PassRates } from './evaluate.js';
export { evaluateFiles, type FilterFilesOptions, type FilterSummary, filterFiles } from './files.js';
export type { AppliesTo, Filter, FilterDoc, FilterResult, FilterSignals } from './filter.js';
export { applies } from './filter.js';
export type { BlocklistParams } from './filters/blocklist.js';
export type { C4Params } from './filters/c4.js';
export type { FinewebParams } from './filters/fineweb.js';
export type { GopherQualityParams, GopherRepetitionParams } from './filters/gopher.js';
export { type Groundedness, type GroundedParams, groundedness } from './filters/grounded.js';
export { detectLanguage, type LanguageParams } from './filters/language.js';
export type { LengthParams } from './filters/length.js';
export { type PiiKind, type PiiParams, PiiRedactor } from './filters/pii.js';
export type { ScoreParams } from './filters/score.js';
export type { WhereParams, WhereValue } from './filters/where.js';
export {
  C4_LANGUAGES,
  FINEWEB_LANGUAGES,
  GOPHER_QUALITY_LANGUAGES,
  type LanguageOverrides,
} from './languages.js';
export {
  createFilter,
  defineFilter,
  FILTER_DEFAULTS,
  FILTER_NAMES,
  type FilterName,
  parseFilterList,
} from './registry.js';
export {
  QualitySignalMeter,
  type QualitySignalName,
  type QualitySignals,
  qualitySignals,
  SIGNAL_EDGES,
  SIGNAL_INFO,
  type SignalInfo,
  type SignalOptions,
} from './signals.js';
export { TextAnalysis } from './text.js';
