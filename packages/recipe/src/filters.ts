import { qualityItemSchema } from './schema.js';
import type { AppliesTo, FilterName, QualityItem, QualityStep, SourceKind } from './types.js';

type FilterSchemas = typeof qualityItemSchema.properties;

/** Known quality filters, in the order the schema lists them. */
export const FILTER_NAMES = Object.keys(qualityItemSchema.properties) as readonly FilterName[];

function defaultsOf(schema: { properties: Record<string, unknown> }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    const d = (prop as { default?: unknown }).default;
    if (d !== undefined) out[key] = structuredClone(d);
  }
  return out;
}

/** The default parameters of each filter (from the schema); optional parameters without a default are absent. */
export const FILTER_DEFAULTS: Record<FilterName, Record<string, unknown>> = Object.fromEntries(
  FILTER_NAMES.map((name) => [name, defaultsOf((qualityItemSchema.properties as FilterSchemas)[name])]),
) as Record<FilterName, Record<string, unknown>>;

/**
 * The quality steps of a resolved recipe, in order, as `{ filter, params, path }`. A `length` step
 * in tokens counts with the recipe's `tokenizer` (passed to the filter as its `tokenizer` parameter).
 */
export function qualitySteps(recipe: { quality: readonly QualityItem[]; tokenizer?: string }): QualityStep[] {
  return recipe.quality.map((item, i) => {
    const filter = Object.keys(item)[0] as FilterName;
    let params = (item as Record<string, unknown>)[filter];
    if (filter === 'length' && recipe.tokenizer && (params as { unit?: string } | null)?.unit === 'tokens') {
      params = { ...(params as object), tokenizer: recipe.tokenizer };
    }
    return { filter, params, path: `quality[${i}].${filter}` } as QualityStep;
  });
}

/** The names of the sources a filter runs on: all without `applies_to`, those of a kind, or the named ones. */
export function appliesToSources(
  recipe: { sources: readonly { name: string; kind: SourceKind }[] },
  appliesTo: AppliesTo | undefined,
): string[] {
  if (appliesTo === undefined) return recipe.sources.map((s) => s.name);
  if (typeof appliesTo === 'string') return recipe.sources.filter((s) => s.kind === appliesTo).map((s) => s.name);
  return recipe.sources.filter((s) => appliesTo.includes(s.name)).map((s) => s.name);
}
