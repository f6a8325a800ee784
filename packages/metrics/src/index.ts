export {
  atEqualSize,
  type Comparison,
  compareGroup,
  compareToReal,
  DEFAULT_THRESHOLDS,
  diversityWarnings,
  FACTS,
  type FactName,
  type MetricWarning,
  type WarningInput,
  type WarningThresholds,
} from './compare.js';
export {
  CorpusMetrics,
  type CorpusMetricsState,
  checkpoints,
  type MetricsOptions,
  type MetricsResult,
  type SampleMetrics,
} from './corpus-metrics.js';
export { LENGTH_EDGES, type LengthHistogram, type LengthStats, lengthDistance } from './length.js';
export { compareRoles, ROLE_SAMPLE_TOKENS, RoleMetrics, type RoleMetricsState, type RoleTurn } from './roles.js';
export { computeStats, type StatsOptions, type StatsResult } from './stats.js';
export { formatMetricsTable } from './table.js';
export { jensenShannon, UnigramSketch } from './unigram.js';
export { wordHash, words } from './words.js';
