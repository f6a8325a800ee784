/**
 * Pinned output: the demo and a real-data recipe give the same shard bytes as before the pipeline
 * became stages (issue 12). The hashes were recorded from the single-function runRecipe at commit
 * a299cc3; a change here means the output changed, which must be deliberate (update with a reason).
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { outputHash, tempDir, writeRecipe } from './helpers.js';

export const REAL_RECIPE = (dir: string) => `
name: pinned-real
seed: 11
tokenizer: cl100k_base
target: { tokens: 400000, ratio: { real: 0.6, synthetic: 0.4 } }
sources:
  - name: dolly
    kind: real
    paths: [${shared('instruct_pair', 'human_dolly15k.jsonl')}]
    text: "{instruction}\\n\\n{context}\\n\\n{response}"
    columns: [category]
  - name: alpaca-eval
    kind: synthetic
    generator: mixed (AlpacaEval model outputs)
    paths: [${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}]
    text: "{instruction}\\n\\n{output}"
    max_epochs: 3
  - name: gsm8k-gpt3
    kind: synthetic
    generator: GPT-3 175B
    paths: [${shared('decontam', 'gsm8k_example_model_solutions.jsonl')}]
    text: "{question}\\n\\n{175b_verification.solution}"
quality:
  - length: { min: 5 }
  - gopher_repetition: {}
  - c4: { mode: clean, applies_to: synthetic }
  - fineweb: { applies_to: [alpaca-eval] }
dedup:
  exact: {}
  near: { threshold: 0.7, seed: 11 } # the MinHash seed was the mix seed before it became its own setting
  decontaminate:
    - { name: gsm8k_test, paths: [${shared('decontam', 'gsm8k_test.jsonl')}], text: question }
output: { dir: ${dir}, format: parquet, compression: zstd, shard_rows: 3000, write_rejected: true }
report: false
`;

describe('pinned output (same bytes before and after the stages refactor)', () => {
  it('demo recipe', async () => {
    const out = join(tempDir(), 'demo');
    const { manifest } = await runRecipeFile(resolve(__dirname, '../../../fixtures/recipes/demo.yaml'), {
      out,
      workers: 2,
    });
    expect({ rows: manifest.totals.rows_written, hash: outputHash(manifest) }).toEqual(PINNED.demo);
  });
  it.skipIf(!HAS_SHARED)(
    'real-data recipe (Dolly, AlpacaEval, GSM8K solutions; c4 clean, dedup, decontam)',
    async () => {
      const dir = tempDir();
      const recipe = writeRecipe(dir, 'real.yaml', REAL_RECIPE(join(dir, 'out')));
      const { manifest } = await runRecipeFile(recipe, { workers: 2 });
      expect({ rows: manifest.totals.rows_written, hash: outputHash(manifest) }).toEqual(PINNED.real);
    },
    240_000,
  );
});

const PINNED = {
  demo: { rows: 200, hash: '548c0393a75a40c80ef9b40bac4f1aa0d65ae188c36fe7a5e2e6abe229774c5c' },
  real: { rows: 2070, hash: 'c1b088f64da1fd9b8bf1a3df24d5e95445f21cbc1d8aa309065009c4a6db0011' },
};
