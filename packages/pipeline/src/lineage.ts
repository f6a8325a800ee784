/**
 * Generation lineage: who wrote each source and how many model generations it is away from human
 * text (0 = people, 1 = a model from human material, 2+ = a model from generated data). The
 * manifest's `lineage` shows the sampled tokens by depth and by generator; a warning fires when
 * depth >= 2 holds more than `guards.max_recursive_share` of them, because model collapse compounds
 * across generations of training on generated data (Shumailov et al., "AI models collapse when
 * trained on recursively generated data", Nature 631, 2024). `guards.max_generation_depth` is
 * checked on the recipe (@curate/recipe rule `generation-depth`), before any work, and on every row
 * of a source with a `generation_column` after the scan (`checkRowDepths`).
 *
 * A synthetic source may name columns that give each row its own depth and generator
 * (`generation_column`, `generator_column`, e.g. a dataset assembled from several models' outputs):
 * the scan reads them (attributes `base.generation`, `base.generator`), the rows carry them, and
 * the source's lineage shares are summed over its sampled rows (`sourceLineage`).
 */

import { InputError } from '@curate/core';
import type { Recipe } from '@curate/recipe';
import type { ColumnSpec } from '@curate/shards';
import type { SourceLineage, SourceRecord, WarningRecord } from './manifest.js';
import type { SourceState } from './stages/sources.js';

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

/** A row's generator from its `generator_column` value (null, missing or empty: the source's). */
export function rowGenerator(v: unknown, fallback: string | null): string | null {
  return v === null || v === undefined || v === '' ? fallback : String(v);
}

/**
 * A row's generation depth from its `generation_column` value (null or missing: the source's), or
 * what is wrong with the value: a synthetic row's depth is an integer from 1 to 65535.
 */
export function rowGeneration(v: unknown, fallback: number): number | string {
  if (v === null || v === undefined) return fallback;
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'bigint'
        ? Number(v)
        : typeof v === 'string' && /^\s*\d+\s*$/.test(v)
          ? Number(v)
          : Number.NaN;
  if (Number.isInteger(n) && n >= 1 && n <= 0xffff) return n;
  const shown = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return `holds ${shown}: a synthetic row's generation depth is an integer >= 1`;
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

/** Refuse a row deeper than `guards.max_generation_depth` in a source with a `generation_column`. */
export function checkRowDepths(recipe: Pick<Recipe, 'guards'>, sources: readonly SourceState[]): void {
  const max = recipe.guards?.max_generation_depth;
  if (max === undefined) return;
  for (const s of sources) {
    s.scans.forEach((sc, fi) => {
      const g = sc.lineage?.generation;
      if (!g) return;
      for (let r = 0; r < g.length; r++) {
        if (g[r] <= max) continue;
        throw new InputError(
          `generation ${g[r]} (column "${s.generationColumn}") is deeper than guards.max_generation_depth (${max}): model collapse compounds across generations of training on generated data (Shumailov et al., Nature 2024)`,
          { code: 'E_LINEAGE', file: s.files[fi].path, row: r },
        );
      }
    });
  }
}

/** The sampled rows' tokens and documents by depth and generator, for a source with lineage columns. */
export function sourceLineage(s: SourceState, sel: { rows: Uint32Array }): SourceLineage | undefined {
  if (!s.generationColumn && !s.generatorColumn) return undefined;
  const out: SourceLineage = { by_generation: {}, by_generator: {} };
  const add = (into: Record<string, { tokens: number; documents: number }>, key: string, tokens: number) => {
    const e = (into[key] ??= { tokens: 0, documents: 0 });
    e.tokens += tokens;
    e.documents++;
  };
  for (let i = 0; i < sel.rows.length; i++) {
    const a = sel.rows[i];
    const sr = s.avail[a];
    // the file holding source row sr (fileBase ascending)
    let lo = 0;
    let hi = s.fileBase.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s.fileBase[mid] <= sr) lo = mid;
      else hi = mid - 1;
    }
    const lin = s.scans[lo].lineage;
    const row = sr - s.fileBase[lo];
    add(out.by_generation, String(lin?.generation ? lin.generation[row] : s.generation), s.availTokens[a]);
    add(out.by_generator, (lin?.generator ? lin.generator[row] : s.generator) ?? 'unknown', s.availTokens[a]);
  }
  return out;
}

/** Token and document shares of the sampled rows by generation depth and by generator. */
export function lineageRecord(recipe: Pick<Recipe, 'sources'>, sources: readonly SourceRecord[]): LineageRecord {
  const total = sources.reduce((a, s) => a + s.tokens_sampled, 0);
  const byGeneration: Record<string, LineageShare> = {};
  const byGenerator: Record<string, LineageShare> = {};
  const add = (
    into: Record<string, LineageShare>,
    key: string,
    s: Pick<SourceRecord, 'tokens_sampled' | 'rows_sampled'>,
  ) => {
    const e = (into[key] ??= { tokens: 0, documents: 0, share: 0 });
    e.tokens += s.tokens_sampled;
    e.documents += s.rows_sampled;
    e.share = total > 0 ? e.tokens / total : 0;
  };
  let recursive = 0;
  sources.forEach((s, i) => {
    if (s.lineage) {
      // per row (lineage columns): the sampled rows' own depths and generators
      for (const [k, v] of Object.entries(s.lineage.by_generation)) {
        if (Number(k) >= 2) recursive += v.tokens;
        add(byGeneration, k, { tokens_sampled: v.tokens, rows_sampled: v.documents });
      }
      for (const [k, v] of Object.entries(s.lineage.by_generator)) {
        add(byGenerator, k, { tokens_sampled: v.tokens, rows_sampled: v.documents });
      }
      return;
    }
    const depth = generationOf(recipe.sources[i]);
    if (depth >= 2) recursive += s.tokens_sampled;
    add(byGeneration, String(depth), s);
    add(byGenerator, s.kind === 'real' ? 'human' : (s.generator ?? 'unknown'), s);
  });
  return { by_generation: byGeneration, by_generator: byGenerator, recursive_share: total > 0 ? recursive / total : 0 };
}

/** `recursive_generations` when generation >= 2 holds more of the sampled tokens than `guards.max_recursive_share`. */
export function lineageWarnings(
  recipe: Pick<Recipe, 'sources' | 'guards'>,
  lineage: LineageRecord,
  sources: readonly SourceRecord[] = [],
): WarningRecord[] {
  const max = recipe.guards?.max_recursive_share;
  if (max === undefined || lineage.recursive_share <= max) return [];
  const deep = recipe.sources
    .filter(
      (s, i) =>
        generationOf(s) >= 2 || Object.keys(sources[i]?.lineage?.by_generation ?? {}).some((k) => Number(k) >= 2),
    )
    .map((s) => s.name);
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
