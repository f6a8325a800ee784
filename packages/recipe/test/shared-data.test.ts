import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { HAS_SHARED, REPO_ROOT, SHARED_DATA, shared } from '../../../tools/test/shared-data.js';
import { formatIssue, loadRecipe, qualitySteps, RecipeValidationError } from '../src/index.js';
import { tempTree } from './helpers.js';

/** The ARCHITECTURE §4 sketch on the shared data: Dolly real, alpaca-libre synthetic, GSM8K decontamination. */
function sketch() {
  return {
    name: 'instruct-mix',
    seed: 42,
    tokenizer: 'cl100k_base',
    target: { tokens: 5000000, ratio: { real: 0.7, synthetic: 0.3 } },
    sources: [
      {
        name: 'dolly',
        kind: 'real',
        paths: [shared('instruct_pair', 'human_dolly15k.jsonl')],
        text: '{instruction}\n\n{context}\n\n{response}',
        max_epochs: 1,
      },
      {
        name: 'alpaca-libre',
        kind: 'synthetic',
        generator: 'gpt-3.5-turbo',
        paths: [`${shared('instruct_pair')}/synthetic_alpaca_libre_*.jsonl`],
        text: '{instruction}\n\n{input}\n\n{output}',
        share: 1,
        max_epochs: 2,
      },
    ],
    quality: [
      { gopher_quality: {} },
      { gopher_repetition: {} },
      { c4: {} },
      { fineweb: {} },
      { language: { keep: ['en'], min_confidence: 0.5 } },
      { score: { column: 'judge_score', min: 7, applies_to: 'synthetic' } },
      { grounded: { context: 'input', max_unsupported: 0.2, applies_to: 'synthetic' } },
    ],
    dedup: {
      exact: { normalize: true },
      near: { threshold: 0.8, ngram: 5, num_perm: 128, prefer: 'real' },
      decontaminate: [{ name: 'gsm8k', paths: [shared('decontam', 'gsm8k_test.jsonl')], text: 'question', ngram: 13 }],
    },
    guards: { max_synthetic_fraction: 0.5, max_epochs_warning: 4 },
    output: {
      dir: 'out/instruct-mix',
      format: 'parquet',
      compression: 'zstd',
      shard_size: '128MB',
      write_rejected: true,
      columns: ['instruction', 'response'],
    },
    report: true,
  };
}

describe.skipIf(!HAS_SHARED)('recipes over the shared data', () => {
  it('the ARCHITECTURE sketch validates with every path checked', async () => {
    const { dir, cleanup } = await tempTree({});
    try {
      const file = join(dir, 'instruct-mix.yaml');
      await writeFile(file, stringify(sketch()));
      const { recipe, warnings, hash } = await loadRecipe(file);
      expect(warnings).toEqual([]);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(recipe.sources.map((s) => [s.name, s.kind, s.max_epochs])).toEqual([
        ['dolly', 'real', 1],
        ['alpaca-libre', 'synthetic', 2],
      ]);
      expect(recipe.target.ratio).toEqual({ real: 0.7, synthetic: 0.3 });
      expect(recipe.output).toMatchObject({ dir: join(dir, 'out/instruct-mix'), shard_size: 128_000_000 });
      expect(qualitySteps(recipe).map((s) => s.filter)).toEqual([
        'gopher_quality',
        'gopher_repetition',
        'c4',
        'fineweb',
        'language',
        'score',
        'grounded',
      ]);
      const grounded = qualitySteps(recipe)[6];
      expect(grounded.filter === 'grounded' && grounded.params).toEqual({
        context: 'input',
        max_unsupported: 0.2,
        min_response_words: 5,
        applies_to: 'synthetic',
      });
    } finally {
      await cleanup();
    }
  });

  it('a typo in a shared path is caught before any work, naming the path', async () => {
    const { dir, cleanup } = await tempTree({});
    try {
      const r = sketch();
      r.sources[1].paths = [`${shared('instruct_pair')}/synthetic_alpaca_libre_*.parquet`];
      const file = join(dir, 'r.yaml');
      await writeFile(file, stringify(r));
      const err = (await loadRecipe(file).catch((e: unknown) => e)) as RecipeValidationError;
      expect(err).toBeInstanceOf(RecipeValidationError);
      expect(err.issues.map(formatIssue)).toEqual([`sources[1].paths[0]: no file matches "${r.sources[1].paths[0]}"`]);
    } finally {
      await cleanup();
    }
  });

  it('the committed examples load', async () => {
    // The examples point at ../shared beside the checkout; elsewhere only the schema is checked.
    const beside = resolve(SHARED_DATA) === resolve(REPO_ROOT, '..', 'shared', 'data');
    for (const name of ['architecture-sketch.yaml', 'instruct-mix.yaml', 'minimal.json']) {
      const { recipe, warnings } = await loadRecipe(join(REPO_ROOT, 'examples', name), {
        checkPaths: beside,
      });
      expect(warnings).toEqual([]);
      expect(recipe.sources[0].name).toBe('dolly');
    }
  });
});
