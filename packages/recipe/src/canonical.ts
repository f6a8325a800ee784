import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level (arrays keep their order; undefined members dropped). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** sha256 (hex) of the canonical JSON of a value: the recipe hash. */
export function recipeHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
