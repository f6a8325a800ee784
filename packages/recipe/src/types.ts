import type { FromSchema } from 'json-schema-to-ts';
import type { recipeSchema } from './schema.js';

/** The recipe as the schema accepts it, with schema defaults filled in (derived from `recipeSchema`). */
export type SchemaRecipe = FromSchema<typeof recipeSchema>;

type SchemaQualityItem = SchemaRecipe['quality'][number];

/** A quality filter name: `gopher_quality`, `c4`, ... */
export type FilterName = keyof SchemaQualityItem & string;

/** The resolved parameters of one filter (defaults applied), including its optional `applies_to`. */
export type FilterParams<N extends FilterName = FilterName> = NonNullable<SchemaQualityItem[N]>;

/** One item of `quality`: an object with exactly one key, the filter name. */
export type QualityItem = { [N in FilterName]: { [K in N]: FilterParams<N> } }[FilterName];

/** One quality step in order, as a discriminated union on `filter`. */
export type QualityStep = {
  [N in FilterName]: {
    filter: N;
    params: FilterParams<N>;
    /** Recipe path of the step's parameters, e.g. `quality[2].score`. */
    path: string;
  };
}[FilterName];

/** `applies_to` of a filter: a kind or a list of source names. */
export type AppliesTo = NonNullable<FilterParams['applies_to']>;

type SchemaOutput = SchemaRecipe['output'];

/** `output` after resolution: compression chosen, shard size in bytes. */
export type RecipeOutput = Omit<SchemaOutput, 'compression' | 'shard_size'> & {
  compression: NonNullable<SchemaOutput['compression']>;
  /** Bytes per shard; absent only when `shard_rows` is given without `shard_size`. */
  shard_size?: number;
};

/** `target` after resolution: when a ratio is given, both kinds are present. */
export type RecipeTarget = Omit<SchemaRecipe['target'], 'ratio'> & {
  ratio?: { real: number; synthetic: number };
};

/**
 * The resolved recipe: schema defaults applied, `compression` and `shard_size`
 * resolved, a one-sided ratio completed, relative paths made absolute when a
 * base directory is known, and `$schema` dropped.
 */
export type Recipe = Omit<SchemaRecipe, '$schema' | 'output' | 'quality' | 'target' | 'sources'> & {
  /** Sources; `text` is always there after resolution (a conversation source's is its column). */
  sources: (SchemaRecipe['sources'][number] & { text: string })[];
  target: RecipeTarget;
  quality: QualityItem[];
  output: RecipeOutput;
};

export type RecipeSource = Recipe['sources'][number];
/** A source's `conversation` settings, defaults applied. */
export type RecipeConversation = NonNullable<RecipeSource['conversation']>;
export type SourceKind = RecipeSource['kind'];
export type RecipeDedup = Recipe['dedup'];
export type RecipeGuards = Recipe['guards'];
export type Decontamination = NonNullable<RecipeDedup['decontaminate']>[number];

/** One problem in a recipe: `path` like `sources[1].max_epochs`, `message` like `must be > 0`. */
export interface RecipeIssue {
  path: string;
  message: string;
  /** 1-based line and column in the recipe file, when loaded from a file and known. */
  line?: number;
  column?: number;
}

export interface ValidateOptions {
  /** Directory relative paths are checked against and resolved to (default: checked against cwd, kept relative). */
  baseDir?: string;
  /** Check that every source and eval-set path matches at least one file (default true). */
  checkPaths?: boolean;
}

export interface ValidationResult {
  /** The resolved recipe; present only when there are no errors. */
  recipe?: Recipe;
  warnings: RecipeIssue[];
  errors: RecipeIssue[];
}
