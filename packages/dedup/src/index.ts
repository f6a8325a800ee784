export {
  DecontamIndex,
  type DecontamMatch,
  type DecontamOptions,
  type EvalFile,
  type EvalSet,
  type EvalSetStats,
  evalNameFromPath,
} from './decontam.js';
export {
  EXACT_MEMORY_ROWS,
  ExactDeduper,
  type ExactDeduperOptions,
  type ExactKeyValue,
  type ExactRemoval,
  ExactRemovals,
  exactKey,
  exactKey64,
  hash32,
  hash32Bytes,
  hash64,
  hash64n,
} from './exact.js';
export {
  type DecontamFilesOptions,
  type DecontamSummary,
  type DedupFilesOptions,
  type DedupSummary,
  decontamFiles,
  dedupFiles,
  type OutputOptions,
} from './files.js';
export { checkStamp, type FileStamp, inputChanged, stampOf } from './integrity.js';
export { ByteScratch, LineScanner, T_STRING, unescapeJsonString } from './jsonline.js';
export { compareForKeep, type DocMeta, kindCode, type Prefer, scoreValue, sizeHistogram } from './keep.js';
export {
  type BandChoice,
  type BandWeights,
  bandKey,
  LSHIndex,
  type LSHIndexOptions,
  lshProbability,
  optimalBands,
} from './lsh.js';
export {
  estimateJaccard,
  type MinHashAlgorithm,
  MinHasher,
  type MinHashOptions,
  type ShingleKind,
  type Signature,
} from './minhash.js';
export {
  type ClusterInput,
  decideClusters,
  NearDedupIndex,
  type NearDedupOptions,
  type NearDedupResult,
  type NearRemoval,
  type ResolvedNearOptions,
  resolveNearOptions,
  UnionFind,
} from './near.js';
export { type NormalizeOptions, normalizeText } from './normalize.js';
export type { SignOptions } from './sign.js';
export {
  type ClustersSummary,
  checkStage,
  DEDUP_STAGES,
  type DedupStage,
  type RankOptions,
  resolveRank,
  runDedupStage,
  type StageOptions,
  type StageResult,
} from './stages.js';
export { decontamStep, exactDedupStep, type NearStepOptions, nearDedupStep, type StepOptions } from './steps.js';
