import { loadRecipe } from '@curate/recipe';
import { type RunOptions, type RunResult, runRecipe } from './run.js';

/** Load, validate and run a recipe file (`curate mix recipe.yaml`). */
export async function runRecipeFile(
  file: string,
  options: RunOptions = {},
): Promise<RunResult & { warnings: string[] }> {
  const loaded = await loadRecipe(file, { overrides: options.out ? { out: options.out } : undefined });
  const result = await runRecipe(loaded.recipe, { ...options, recipeFile: loaded.file });
  return { ...result, warnings: loaded.warnings.map((w) => `${w.path}: ${w.message}`) };
}
