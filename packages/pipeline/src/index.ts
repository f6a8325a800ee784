export { checkRecipeColumns } from './columns.js';
export { runRecipeFile } from './file.js';
export type {
  DedupRecord,
  InputFileRecord,
  KindRatioRecord,
  Manifest,
  OutputShardRecord,
  QualitySignalRecord,
  SourceRecord,
  WarningRecord,
} from './manifest.js';
export { MANIFEST_VERSION } from './manifest.js';
export type { RoleMetricsRecord } from './role-metrics.js';
export {
  checkInvariant,
  defaultWorkDir,
  type RunOptions,
  type RunResult,
  runRecipe,
  scanTasks,
  TOOL_VERSION,
} from './run.js';
export { decideFile, type FileScan, type ScanTask } from './scan.js';
export { runStage, runStageFile, type StageOptions, type StageResult, THEN_STAGE } from './staged.js';
export {
  type AttrContext,
  type AttrGroup,
  fileGroups,
  loadAttributes,
  writeAttributes,
} from './stages/attributes.js';
export {
  assignByBytes,
  bucketOwner,
  estimateRows,
  RANK_STAGES,
  type RankMarker,
  type RankStageName,
  ROW_COST,
  rangeOwner,
  ranksDir,
  readRankMarkers,
  resolveStageRank,
  runKeyOf,
  SINGLE_RANK_STAGES,
  type StageRank,
  scanUnits,
} from './stages/ranks.js';
export { type ScanRecord, type ScanStageOptions, scanStage } from './stages/scan.js';
export { type TagOptions, type TagResult, tagRecipe, tagRecipeFile } from './stages/tag.js';
export { WORK_FORMAT, WorkDir } from './stages/workdir.js';
