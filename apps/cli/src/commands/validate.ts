import { RecipeError } from '@curate/core';
import { formatIssue, loadRecipe } from '@curate/recipe';
import type { CommandContext } from '../context.js';

export async function validateCommand(
  ctx: CommandContext,
  args: string[],
  opts: Record<string, unknown>,
): Promise<void> {
  const file = args[0];
  try {
    const checkPaths = opts.checkPaths !== false;
    // With the paths checked, also the columns the recipe names against the files' schemas (footers only).
    const checks = checkPaths ? [(await import('@curate/pipeline')).checkRecipeColumns] : [];
    const { recipe, warnings, hash } = await loadRecipe(file, { checkPaths, checks });
    for (const w of warnings) ctx.warn(formatIssue(w));
    ctx.emit({ command: 'validate', file, valid: true, hash, warnings, recipe });
    ctx.say(`${file}: valid recipe "${recipe.name}" (${recipe.sources.length} sources, hash ${hash.slice(0, 12)})`);
  } catch (err) {
    if (err instanceof RecipeError) {
      const issues = (err as RecipeError & { issues?: { path: string; message: string }[] }).issues ?? [];
      if (ctx.json)
        ctx.emit({
          command: 'validate',
          file,
          valid: false,
          errors: issues.length ? issues : [{ path: err.path ?? '', message: err.message }],
        });
      // Every issue on its own line, the first one is the error line printed by the CLI.
      for (const i of issues.slice(1)) ctx.io.stderr.write(`  ${formatIssue(i)}\n`);
    }
    throw err;
  }
}
