export { canonicalJson, recipeHash } from './canonical.js';
export { type PassColumn, passColumns, passColumnsOf, RESERVED_COLUMNS } from './columns.js';
export { appliesToSources, FILTER_DEFAULTS, FILTER_NAMES, qualitySteps } from './filters.js';
export { formatIssue } from './issues.js';
export { type LoadedRecipe, type LoadOptions, loadRecipe, RecipeValidationError } from './load.js';
export { DEFAULT_SHARD_SIZE, parseSize } from './resolve.js';
export { RULES, type Rule } from './rules.js';
export { recipeSchema } from './schema.js';
export { checkTokenizer, eodId, tokenSize } from './tokenizer.js';
export type {
  AppliesTo,
  Decontamination,
  FilterName,
  FilterParams,
  QualityItem,
  QualityStep,
  Recipe,
  RecipeDedup,
  RecipeGuards,
  RecipeIssue,
  RecipeOutput,
  RecipeSource,
  RecipeTarget,
  SchemaRecipe,
  SourceKind,
  ValidateOptions,
  ValidationResult,
} from './types.js';
export { validateRecipe } from './validate.js';
