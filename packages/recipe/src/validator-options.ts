/** The ajv setup of the recipe validator, shared by the build's precompiled module and the run-time fallback. */
import { createHash } from 'node:crypto';
import type { ErrorObject } from 'ajv';
import { recipeSchema } from './schema.js';
import type { SchemaRecipe } from './types.js';

/** The validate function, compiled or precompiled: a type guard that sets `errors` and applies defaults. */
export type RecipeValidator = ((data: unknown) => data is SchemaRecipe) & { errors?: ErrorObject[] | null };

/** ajv options for `recipeSchema` (plus the `errorMessage` annotation keyword, see `compile.ts`). */
export const AJV_OPTIONS = {
  allErrors: true,
  useDefaults: true,
  verbose: true,
  strict: true,
  allowUnionTypes: true,
} as const;

/**
 * sha256 of the options and the schema as written (key order decides the order of errors): the precompiled
 * validator records the one it was generated from, and is used only while it still matches (a `dist/` left
 * over from an older schema falls back to compiling).
 */
export function validatorFingerprint(): string {
  return createHash('sha256')
    .update(JSON.stringify({ options: AJV_OPTIONS, schema: recipeSchema }))
    .digest('hex');
}
