import { Ajv, type ValidateFunction } from 'ajv';
import { schemaIssues } from './issues.js';
import { checkRecipePaths, outputInsideInputs, resolveRecipePaths } from './paths.js';
import { resolveRecipe } from './resolve.js';
import { runRules } from './rules.js';
import { recipeSchema } from './schema.js';
import type { SchemaRecipe, ValidateOptions, ValidationResult } from './types.js';

let compiled: ValidateFunction<SchemaRecipe> | undefined;

/** The ajv validator, compiled on first use (~0.1 s) so importing the package stays cheap. */
function schemaValidator(): ValidateFunction<SchemaRecipe> {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
    compiled = ajv.compile<SchemaRecipe>(recipeSchema);
  }
  return compiled;
}

/**
 * Validate a parsed recipe: JSON Schema (with defaults), resolution, named rules,
 * and (unless `checkPaths: false`) that every input path matches a file. Never
 * throws for a bad recipe; `recipe` is present only when `errors` is empty.
 * With `baseDir`, relative paths are checked against it and made absolute.
 */
export async function validateRecipe(input: unknown, options: ValidateOptions = {}): Promise<ValidationResult> {
  let data: unknown;
  try {
    data = structuredClone(input);
  } catch {
    return { warnings: [], errors: [{ path: '', message: 'must be plain data (what YAML or JSON gives)' }] };
  }
  const validate = schemaValidator();
  if (!validate(data)) return { warnings: [], errors: schemaIssues(validate.errors ?? [], data) };
  const recipe = resolveRecipe(data);
  const { errors, warnings } = runRules(recipe);
  const base = options.baseDir ?? process.cwd();
  if (options.checkPaths !== false) errors.push(...(await checkRecipePaths(recipe, base)));
  warnings.push(...(await outputInsideInputs(recipe, base)));
  if (options.baseDir !== undefined) resolveRecipePaths(recipe, options.baseDir);
  return errors.length ? { warnings, errors } : { recipe, warnings, errors };
}
