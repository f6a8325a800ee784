/** Defaults that depend on other fields, applied after the schema's own defaults. */
import type { Recipe, SchemaRecipe } from './types.js';

/** 128MB: the shard size when neither `shard_size` nor `shard_rows` is given. */
export const DEFAULT_SHARD_SIZE = 128_000_000;

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "128MB" -> 128000000, "1GiB" -> 1073741824, 4096 -> 4096; undefined when not a size. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?)?b\s*$/i.exec(value);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[`${(m[2] ?? '').toLowerCase()}b`]);
}

/** The compression used when a recipe names none. */
export function defaultCompression(format: Recipe['output']['format']): Recipe['output']['compression'] {
  return format === 'parquet' ? 'zstd' : 'none';
}

/**
 * Resolve a schema-valid recipe (schema defaults already applied): drop `$schema`,
 * complete a one-sided ratio, choose compression, parse the shard size.
 */
export function resolveRecipe(input: SchemaRecipe): Recipe {
  const { $schema: _ignored, ...rest } = input;
  const recipe = rest as unknown as Recipe;
  const ratio = input.target.ratio;
  if (ratio) {
    recipe.target.ratio = {
      real: ratio.real ?? 1 - (ratio.synthetic ?? 0),
      synthetic: ratio.synthetic ?? 1 - (ratio.real ?? 0),
    };
  }
  // a conversation source's text is its conversation column (rendered by the chat template)
  for (const s of recipe.sources) if (s.conversation && s.text === undefined) s.text = s.conversation.column;
  const out = input.output;
  recipe.output.compression = out.compression ?? defaultCompression(out.format);
  if (out.shard_size !== undefined) recipe.output.shard_size = parseSize(out.shard_size);
  else if (out.shard_rows === undefined) recipe.output.shard_size = DEFAULT_SHARD_SIZE;
  return recipe;
}
