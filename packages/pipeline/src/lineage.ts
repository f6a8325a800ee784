/**
 * Generation lineage: who wrote each source and how many model generations it is away from human
 * text (0 = people, 1 = a model from human material, 2+ = a model from generated data). The
 * manifest's `lineage` shows the sampled tokens by depth and by generator; a warning fires when
 * depth >= 2 holds more than `guards.max_recursive_share` of them, because model collapse compounds
 * across generations of training on generated data (Shumailov et al., "AI models collapse when
 * trained on recursively generated data", Nature 631, 2024). `guards.max_generation_depth` is
 * checked on the recipe (@curate/recipe rule `generation-depth`), before any work.
 */

import type { Recipe } from '@curate/recipe';
import type { ColumnSpec } from '@curate/shards';
import type { SourceRecord, WarningRecord } from './manifest.js';

export const FACT_RECURSIVE =
  'Model collapse compounds across generations of training on generated data: each generation loses the tails of the distribution (Shumailov et al., Nature 631, 2024, "AI models collapse when trained on recursively generated data").';

type Source = Recipe['sources'][number];

/** A source's generation depth: the recipe's, else 0 for real and 1 for synthetic. */
export function generationOf(s: Pick<Source, 'kind' | 'generation'>): number {
  return s.generation ?? (s.kind === 'real' ? 0 : 1);
}

/**
 * The `generation` value rows of source `index` carry. Every output row has one (the column is always
 * written, int64, never null), so every row is traceable to its depth and every mix's shards have
 * the same columns, whether or not its recipe states a depth.
 */
export function generationColumn(recipe: Pick<Recipe, 'sources'>, index: number): number {
  return generationOf(recipe.sources[index]);
}

/** `columns` with the int64 `generation` column after `generator`. */
export function withGenerationColumn(columns: ColumnSpec[]): ColumnSpec[] {
  const at = columns.findIndex((c) => c.name === 'generator');
  const out = columns.slice();
  out.splice(at < 0 ? out.length : at + 1, 0, { name: 'generation', type: 'int64' });
  return out;
}

export interface LineageShare {
  tokens: number;
  documents: number;
  /** Share of the sampled tokens. */
  share: number;
}

export interface LineageRecord {
  /** By generation depth ("0", "1", "2", ...). */
  by_generation: Record<string, LineageShare>;
  /** By generator (the model; `human` for real sources, `unknown` for synthetic sources that name none). */
  by_generator: Record<string, LineageShare>;
  /** Share of sampled tokens from sources of generation >= 2. */
  recursive_share: number;
}

/** Token and document shares of the sampled rows by generation depth and by generator. */
export function lineageRecord(recipe: Pick<Recipe, 'sources'>, sources: readonly SourceRecord[]): LineageRecord {
  const total = sources.reduce((a, s) => a + s.tokens_sampled, 0);
  const byGeneration: Record<string, LineageShare> = {};
  const byGenerator: Record<string, LineageShare> = {};
  const add = (into: Record<string, LineageShare>, key: string, s: SourceRecord) => {
    const e = (into[key] ??= { tokens: 0, documents: 0, share: 0 });
    e.tokens += s.tokens_sampled;
    e.documents += s.rows_sampled;
    e.share = total > 0 ? e.tokens / total : 0;
  };
  let recursive = 0;
  sources.forEach((s, i) => {
    const depth = generationOf(recipe.sources[i]);
    if (depth >= 2) recursive += s.tokens_sampled;
    add(byGeneration, String(depth), s);
    add(byGenerator, s.kind === 'real' ? 'human' : (s.generator ?? 'unknown'), s);
  });
  return { by_generation: byGeneration, by_generator: byGenerator, recursive_share: total > 0 ? recursive / total : 0 };
}

/** `recursive_generations` when generation >= 2 holds more of the sampled tokens than `guards.max_recursive_share`. */
export function lineageWarnings(recipe: Pick<Recipe, 'sources' | 'guards'>, lineage: LineageRecord): WarningRecord[] {
  const max = recipe.guards?.max_recursive_share;
  if (max === undefined || lineage.recursive_share <= max) return [];
  const deep = recipe.sources.filter((s) => generationOf(s) >= 2).map((s) => s.name);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    {
      code: 'recursive_generations',
      message: `${pct(lineage.recursive_share)} of the sampled tokens come from generation >= 2 (${deep.join(', ')}), above guards.max_recursive_share ${pct(max)}`,
      sources: deep,
      fact: FACT_RECURSIVE,
    },
  ];
}
