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
export { checkInvariant, type RunOptions, type RunResult, runRecipe, TOOL_VERSION } from './run.js';
