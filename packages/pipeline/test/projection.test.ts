/**
 * Reading only the columns a job uses from Parquet inputs (Scanner.readColumns): which columns,
 * when it falls back to all of them, and that the mix of a wide Parquet file (a struct, a list and a
 * large unused text column beside the used ones) equals the mix of the same rows as JSONL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '@curate/recipe';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { Scanner } from '../dist/scan.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');
const BROWN = join(FIX, 'shards', 'real');

/** The Brown fixture's JSONL rows as a wide Parquet file and as JSONL with the same values. */
async function wideInputs(dir: string): Promise<{ parquet: string; jsonl: string }> {
  const parquet = join(dir, 'wide.parquet');
  const jsonl = join(dir, 'wide.jsonl');
  const select = `SELECT id, text, genre,
      {'n': length(text), 'g': genre} AS meta,
      [genre, 'x'] AS tags,
      repeat(text, 4) AS blob,
      (length(text) % 10) / 10.0 AS q
    FROM read_json_auto('${join(BROWN, '*.jsonl')}') ORDER BY id`;
  await duckRows(`COPY (${select}) TO '${parquet}' (FORMAT parquet)`);
  await duckRows(`COPY (${select}) TO '${jsonl}' (FORMAT json)`);
  return { parquet, jsonl };
}

function recipeText(dir: string, input: string, out: string, extra = ''): string {
  return `name: projection
seed: 3
tokenizer: cl100k_base
target: { ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - { name: brown, kind: real, paths: ["${input}"], text: "{text}", id: id, columns: [genre, missing_col] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 2 }
quality:
  - gopher_quality: { min_words: 20 }
  - score: { column: q, min: 0.1, applies_to: real }
${extra}dedup: { exact: {}, near: { threshold: 0.8, score_column: q } }
output: { dir: "${join(dir, out)}", format: jsonl, shard_rows: 100 }
report: false
`;
}

function outputRows(dir: string): unknown[] {
  const rows: unknown[] = [];
  for (const f of readdirSync(dir).sort())
    if (f.startsWith('shard-'))
      for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) if (l) rows.push(JSON.parse(l));
  return rows;
}

describe('Parquet inputs: only the used columns are read', () => {
  it('reads the template, id, score, filter and pass-through columns the file has; all of them when one is missing or a filter does not say', async () => {
    const dir = tempDir();
    const { parquet, jsonl } = await wideInputs(dir);
    const file = { path: parquet, format: 'parquet' as const, size: 0 };
    const scanner = await Scanner.create(
      (await loadRecipe(writeRecipe(dir, 'r.yaml', recipeText(dir, parquet, 'o')))).recipe,
    );
    // file order; blob, meta and tags are never decoded; missing_col (pass-through) stays null
    expect(await scanner.readColumns(0, file)).toEqual(['id', 'text', 'genre', 'q']);
    expect(await scanner.readColumns(0, { path: jsonl, format: 'jsonl' as const, size: 0 })).toBeUndefined();

    // a template column the file lacks: read everything, so the error lists the file's columns as before
    const bad = (
      await loadRecipe(
        writeRecipe(dir, 'bad.yaml', recipeText(dir, parquet, 'o').replace('"{text}"', '"{text} {nope}"')),
      )
    ).recipe;
    expect(await (await Scanner.create(bad)).readColumns(0, file)).toBeUndefined();

    // the grounded filter's columns are read too
    const grounded = (
      await loadRecipe(
        writeRecipe(
          dir,
          'g.yaml',
          recipeText(dir, parquet, 'o').replace(
            'quality:\n',
            'quality:\n  - grounded: { context: blob, applies_to: real }\n',
          ),
        ),
      )
    ).recipe;
    expect(await (await Scanner.create(grounded)).readColumns(0, file)).toEqual(['id', 'text', 'genre', 'blob', 'q']);
  });

  it('mixes a wide Parquet file exactly as the same rows in JSONL', async () => {
    const dir = tempDir();
    const { parquet, jsonl } = await wideInputs(dir);
    const a = await runRecipeFile(writeRecipe(dir, 'p.yaml', recipeText(dir, parquet, 'from-parquet')), { workers: 2 });
    const b = await runRecipeFile(writeRecipe(dir, 'j.yaml', recipeText(dir, jsonl, 'from-jsonl')), { workers: 2 });
    const pa = outputRows(join(dir, 'from-parquet'));
    const pb = outputRows(join(dir, 'from-jsonl'));
    expect(pa.length).toBeGreaterThan(100);
    expect(pa).toEqual(pb);
    // every dropped row explained the same way; the score filter and pass-through columns were read
    const noFiles = (m: typeof a.manifest) =>
      JSON.parse(JSON.stringify(m.sources, (k, v) => (k === 'files' ? undefined : v)));
    expect(noFiles(a.manifest)).toEqual(noFiles(b.manifest));
    const rows = pa as Record<string, unknown>[];
    expect(rows.some((r) => r.source === 'brown' && typeof r.genre === 'string')).toBe(true);
    expect(rows.every((r) => r.missing_col === null)).toBe(true);
    expect(JSON.stringify(a.manifest.sources)).toContain('filter:score');
  });
});
