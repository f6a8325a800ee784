/**
 * Provenance columns (id, text, source, kind, source_row, epoch, generator, generation, reason) are curate's:
 * an input column of the same name is refused as a pass-through column, and passes through only
 * under another name (`{ generator: input_generator }`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecipeError } from '@curate/core';
import { loadRecipe } from '@curate/recipe';
import { describe, expect, it } from 'vitest';
import { runRecipe, runRecipeFile } from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma'.split(
  ' ',
);

/** JSONL rows whose own `generator`, `source` and `kind` columns would collide with provenance. */
function writeInput(dir: string, name: string, n: number, salt: number): string {
  const p = join(dir, name);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    // every 10th row repeats the previous text: exact dedup rejects it (rows in rejected/)
    const k = i % 10 === 9 ? i - 1 : i;
    const text =
      Array.from({ length: 30 }, (_, j) => WORDS[(k * 7 + j * 3 + salt) % WORDS.length]).join(' ') +
      ` doc ${name} ${k}.`;
    lines.push(JSON.stringify({ text, generator: `input-model-${i % 3}`, source: 'web', kind: 'scraped', n: i }));
  }
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

function recipeYaml(dir: string, columns: string): string {
  return `name: prov
seed: 3
tokenizer: words
sources:
  - { name: human, kind: real, paths: ["${join(dir, 'real.jsonl')}"], text: text }
  - { name: synth, kind: synthetic, generator: gen-A, paths: ["${join(dir, 'synth.jsonl')}"], text: text }
dedup: { exact: {} }
output: { dir: out, format: jsonl, write_rejected: true, columns: ${columns} }
report: false
`;
}

function readRows(dir: string): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('provenance columns are never overwritten', () => {
  it('a pass-through column named like a provenance column is refused with one line naming it and a rename', async () => {
    const dir = tempDir();
    writeInput(dir, 'real.jsonl', 40, 0);
    writeInput(dir, 'synth.jsonl', 40, 5);
    for (const col of ['generator', 'source', 'kind', 'id', 'source_row', 'epoch', 'text']) {
      const recipe = writeRecipe(dir, `r-${col}.yaml`, recipeYaml(dir, `[n, ${col}]`));
      const err = await runRecipeFile(recipe, { out: join(dir, `o-${col}`) }).catch((e) => e);
      expect(err, col).toBeInstanceOf(RecipeError);
      expect(err.message, col).toContain(`output.columns[1]: "${col}" is a provenance column curate writes`);
      expect(err.message, col).toContain(`{ ${col}: input_${col} }`);
      expect(err.toLine().split('\n'), col).toHaveLength(1);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('o-'))).toEqual([]);
    // A recipe object that skipped validation is refused by runRecipe itself, before any work.
    const { recipe } = await loadRecipe(writeRecipe(dir, 'ok.yaml', recipeYaml(dir, '[n]')));
    const raw = { ...recipe, output: { ...recipe.output, columns: ['generator'] } };
    const err = await runRecipe(raw, { out: join(dir, 'o-raw') }).catch((e) => e);
    expect(err).toBeInstanceOf(RecipeError);
    expect(err.code).toBe('E_RESERVED_COLUMN');
    expect(err.toLine()).toMatch(/^output\.columns\[0\]: "generator" is a provenance column/);
  });

  it('renamed, the input columns pass through beside the provenance (kept and rejected rows, 1 and 2 workers)', async () => {
    const dir = tempDir();
    writeInput(dir, 'real.jsonl', 40, 0);
    writeInput(dir, 'synth.jsonl', 40, 5);
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      recipeYaml(dir, '[n, { generator: input_generator }, { source: input_source }, { kind: input_kind }]'),
    );
    for (const workers of [1, 2]) {
      const out = join(dir, `out-${workers}`);
      await runRecipeFile(recipe, { out, workers });
      const rows = readRows(out);
      const rejected = readRows(join(out, 'rejected'));
      expect(rows.length).toBe(72);
      expect(rejected.length).toBe(8);
      for (const r of [...rows, ...rejected]) {
        expect(['human', 'synth']).toContain(r.source);
        expect(r.kind).toBe(r.source === 'human' ? 'real' : 'synthetic');
        expect(r.generator).toBe(r.source === 'synth' ? 'gen-A' : null);
        // lineage on every row, though the recipe states no depth: 0 people, 1 a model
        expect(r.generation).toBe(r.source === 'synth' ? 1 : 0);
        expect(r.input_generator).toBe(`input-model-${Number(r.n) % 3}`);
        expect(r.input_source).toBe('web');
        expect(r.input_kind).toBe('scraped');
        expect(r.source_row).toBe(r.n);
      }
    }
  });
});
