import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

describe('c4 clean mode in a mix', () => {
  it('writes the cleaned text whose tokens pass 1 counted', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'clean.yaml',
      `name: clean
seed: 3
tokenizer: cl100k_base
target: { documents: 150, ratio: { real: 1 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}/*.jsonl"], text: text }
quality:
  - c4: { mode: clean, min_sentences: 2 }
output: { dir: out, shard_rows: 1000 }
report: false
`,
    );
    const out = join(dir, 'out');
    const { manifest } = await runRecipeFile(recipe, { out, workers: 2 });
    const rows = await duckRows(`SELECT source_row, text FROM read_parquet('${join(out, '*.parquet')}')`);
    expect(rows.length).toBe(150);
    const enc = getEncoding('cl100k_base');
    const tokens = rows.reduce((a, r) => a + enc.encode(String(r.text), [], []).length, 0);
    expect(tokens).toBe(manifest.sources[0].tokens_sampled);
    // Some written text really was cleaned: it is shorter than the source line it came from.
    const src = readFileSync(join(FIX, 'shards', 'real', 'brown-00000.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).text as string);
    const cleaned = rows.filter(
      (r) => Number(r.source_row) < src.length && String(r.text) !== src[Number(r.source_row)],
    );
    expect(cleaned.length).toBeGreaterThan(0);
    for (const r of cleaned) expect(String(r.text).length).toBeLessThan(src[Number(r.source_row)].length);
  });
});
