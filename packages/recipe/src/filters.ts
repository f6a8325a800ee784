import { qualityItemSchema } from './schema.js';
import type { FilterName, QualityItem, QualityStep } from './types.js';

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

/** The quality steps of a resolved recipe, in order, as `{ filter, params, path }`. */
export function qualitySteps(recipe: { quality: readonly QualityItem[] }): QualityStep[] {
  return recipe.quality.map((item, i) => {
    const filter = Object.keys(item)[0] as FilterName;
    return {
      filter,
      params: (item as Record<string, unknown>)[filter],
      path: `quality[${i}].${filter}`,
    } as QualityStep;
  });
}
