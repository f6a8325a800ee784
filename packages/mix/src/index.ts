export { PlanError } from './errors.js';
export {
  type KindRatio,
  type MixPlan,
  type MixTarget,
  type MixUnit,
  type PlanOptions,
  type PlanWarning,
  type PlanWarningCode,
  planMix,
  type SourceAvailability,
  type SourceQuota,
} from './plan.js';
export { achievedRatios, type MixAchieved, type SourceAchieved } from './ratios.js';
export { type SampleSelection, sampleMix, sampleSource } from './sample.js';
export {
  type OrderChunk,
  orderEntries,
  type ShuffledOrder,
  type ShuffleOptions,
  shuffleBucket,
  shuffleBucketOf,
  shuffleOrder,
} from './shuffle.js';
