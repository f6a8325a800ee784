/**
 * The columns a recipe names, checked against its files' schemas before any work (`curate validate`):
 * a text template, id or filter column that a source's file does not have is a recipe issue naming
 * the recipe path, the file and its columns. Only schemas are read (Parquet footers, Arrow schemas,
 * the first batch of JSON/JSONL: see `shardColumns`), never the rows.
 */
import { didYouMean } from '@curate/core';
import { createFilter } from '@curate/quality';
import type { Recipe, RecipeIssue } from '@curate/recipe';
import { appliesToSources, qualitySteps } from '@curate/recipe/filters';
import { compileTemplate, expandInputs, shardColumns } from '@curate/shards';

interface Need {
  /** Recipe path of the setting that names the column. */
  path: string;
  column: string;
}

/** Every column the recipe needs from each source's files (and from each eval set's). */
function needs(recipe: Recipe): { label: string; paths: string[]; need: Need[] }[] {
  const steps = qualitySteps(recipe);
  const out: { label: string; paths: string[]; need: Need[] }[] = [];
  recipe.sources.forEach((s, i) => {
    const need: Need[] = compileTemplate(s.text).columns.map((column) => ({ path: `sources[${i}].text`, column }));
    if (s.id) need.push({ path: `sources[${i}].id`, column: s.id });
    for (const step of steps) {
      if (step.filter === 'custom') continue; // validating does not run the user's code
      if (!appliesToSources(recipe, step.params.applies_to).includes(s.name)) continue;
      const f = createFilter(step.filter, step.params as object, step.path);
      for (const column of f.columns ?? [])
        need.push({ path: columnPath(step.filter, step.path, column, step.params), column });
    }
    out.push({ label: `source "${s.name}"`, paths: s.paths, need });
  });
  (recipe.dedup.decontaminate ?? []).forEach((d, i) => {
    const need = compileTemplate(d.text).columns.map((column) => ({ path: `dedup.decontaminate[${i}].text`, column }));
    out.push({ label: `eval set "${d.name}"`, paths: d.paths, need });
  });
  return out;
}

/** The recipe path of the parameter naming `column` (`quality[2].score.column`, `quality[3].grounded.context`). */
function columnPath(filter: string, path: string, column: string, params: unknown): string {
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    if (v === column && k !== 'applies_to') return `${path}.${k}`;
  }
  return filter === 'score' || filter === 'where' ? `${path}.column` : path;
}

/**
 * Issues for the columns a recipe names that its files lack: one per recipe path and column, naming
 * the first file without it and that file's columns (with the closest name).
 */
export async function checkRecipeColumns(recipe: Recipe): Promise<RecipeIssue[]> {
  const issues: RecipeIssue[] = [];
  const seen = new Set<string>();
  for (const { label, paths, need } of needs(recipe)) {
    if (need.length === 0) continue;
    for (const file of await expandInputs(paths)) {
      const columns = await shardColumns(file);
      const has = new Set(columns);
      for (const n of need) {
        const key = `${n.path}\u0000${n.column}`;
        if (has.has(n.column) || seen.has(key)) continue;
        seen.add(key);
        issues.push({
          path: n.path,
          message: `column "${n.column}" is not in ${file.path} of ${label}${didYouMean(n.column, columns)} (columns: ${columns.join(', ') || 'none'})`,
        });
      }
    }
  }
  return issues;
}
