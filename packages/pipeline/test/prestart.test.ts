import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { prestartedAdopted, prestartScanThread } from '../dist/prestart.js';
import { shardBytes, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

describe('a scan thread started before the recipe is read (what `curate mix` does first)', () => {
  it('is adopted as the pool first thread, gets the recipe, and the run writes the same bytes', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: prestart
seed: 3
tokenizer: cl100k_base
target: { tokens: 30000, ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}"], text: text, columns: [genre] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 2 }
quality:
  - gopher_quality: {}
  - c4: { mode: clean, min_sentences: 2 }
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, shard_rows: 80 }
report: false
`,
    );
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const before = prestartedAdopted();
    const ra = await runRecipeFile(recipe, { out: a, workers: 2 });
    expect(prestartedAdopted()).toBe(before);
    prestartScanThread();
    const rb = await runRecipeFile(recipe, { out: b, workers: 2 });
    expect(prestartedAdopted()).toBe(before + 1);
    expect(rb.manifest.totals).toEqual(ra.manifest.totals);
    expect(rb.manifest.metrics).toEqual(ra.manifest.metrics);
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(1);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
  });
});
