import { formatIssue, loadRecipe } from '@curate/recipe';
import type { CommandContext } from '../context.js';

/**
 * Check a recipe. An invalid one throws RecipeValidationError: the CLI prints every issue under
 * the `error:` line with its line and column (and, with `--json`, one error object on stdout).
 */
export async function validateCommand(
  ctx: CommandContext,
  args: string[],
  opts: Record<string, unknown>,
): Promise<void> {
  const file = args[0];
  const checkPaths = opts.checkPaths !== false;
  // With the paths checked, also the columns the recipe names against the files' schemas (footers only).
  const checks = checkPaths ? [(await import('@curate/pipeline')).checkRecipeColumns] : [];
  const { recipe, warnings, hash } = await loadRecipe(file, { checkPaths, checks });
  for (const w of warnings) ctx.warn(formatIssue(w));
  ctx.emit({ command: 'validate', file, valid: true, hash, warnings, recipe });
  ctx.say(`${file}: valid recipe "${recipe.name}" (${recipe.sources.length} sources, hash ${hash.slice(0, 12)})`);
}
