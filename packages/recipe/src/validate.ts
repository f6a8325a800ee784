import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { schemaIssues } from './issues.js';
import { checkRecipePaths, outputInsideInputs, resolveRecipePaths } from './paths.js';
import { resolveRecipe } from './resolve.js';
import { runRules } from './rules.js';
import { checkTokenizer } from './tokenizer.js';
import type { ValidateOptions, ValidationResult } from './types.js';
import { type RecipeValidator, validatorFingerprint } from './validator-options.js';

/** Written next to this module by the build (`scripts/write-validator.mjs`); absent when running from `src`. */
const PRECOMPILED = new URL('./recipe-validator.js', import.meta.url);

let validator: Promise<RecipeValidator> | undefined;

/**
 * The schema validator, loaded on first use: the one ajv precompiled at build time when it is there and was
 * generated from this schema, else compiled now (~0.1 s; ajv is imported only then).
 */
function schemaValidator(): Promise<RecipeValidator> {
  validator ??= loadValidator();
  return validator;
}

async function loadValidator(): Promise<RecipeValidator> {
  if (existsSync(PRECOMPILED)) {
    const mod = (await import(PRECOMPILED.href)) as { default: RecipeValidator; fingerprint: string };
    if (mod.fingerprint === validatorFingerprint()) return mod.default;
  }
  const { compileRecipeValidator } = await import('./compile.js');
  return compileRecipeValidator();
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
  const validate = await schemaValidator();
  if (!validate(data)) return { warnings: [], errors: schemaIssues(validate.errors ?? [], data) };
  const recipe = resolveRecipe(data);
  const { errors, warnings } = runRules(recipe);
  const base = options.baseDir ?? process.cwd();
  if (options.checkPaths !== false) {
    errors.push(...(await checkRecipePaths(recipe, base)));
    if (!errors.length) errors.push(...(await checkTokenizer(recipe, resolve(base, recipe.tokenizer))));
  }
  warnings.push(...(await outputInsideInputs(recipe, base)));
  if (options.baseDir !== undefined) resolveRecipePaths(recipe, options.baseDir);
  return errors.length ? { warnings, errors } : { recipe, warnings, errors };
}
