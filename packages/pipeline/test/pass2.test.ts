import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { shardBytes, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

describe('pass 2 on worker threads', () => {
  it('writes the same bytes as pass 2 in the main thread (1 worker), with c4 clean rewriting text', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: pass2
seed: 11
tokenizer: cl100k_base
target: { tokens: 40000, ratio: { real: 0.6, synthetic: 0.4 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}"], text: text, columns: [genre] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 2 }
quality:
  - c4: { mode: clean, min_sentences: 2 }
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, shard_rows: 60, write_rejected: false }
report: false
`,
    );
    const a = join(dir, 'one');
    const b = join(dir, 'two');
    await runRecipeFile(recipe, { out: a, workers: 1 });
    await runRecipeFile(recipe, { out: b, workers: 2 });
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(1);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
  });
});
