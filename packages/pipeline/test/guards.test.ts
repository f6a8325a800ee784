import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

function recipe(dir: string, extra: string, ratio = '{ real: 0.3, synthetic: 0.7 }', tokens = 100000): string {
  return writeRecipe(
    dir,
    'r.yaml',
    `name: guards
seed: 1
tokenizer: words
target: { tokens: ${tokens}, ratio: ${ratio} }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}/*.jsonl"], text: text }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 6 }
${extra}
output: { dir: out }
report: false
`,
  );
}

describe('collapse guards', () => {
  it('warns when synthetic data replaces real data, and when a source repeats beyond max_epochs_warning', async () => {
    const dir = tempDir();
    const r = await runRecipeFile(recipe(dir, 'guards: { max_epochs_warning: 1.2 }'), { dryRun: true });
    const codes = r.manifest.warnings.map((w) => w.code);
    expect(codes).toContain('replacement');
    expect(codes).toContain('epochs');
    const rep = r.manifest.warnings.find((w) => w.code === 'replacement');
    expect(rep?.sources).toEqual(expect.arrayContaining(['brown', 'markov']));
    expect(rep?.fact).toMatch(/accumulating/i);
    const brown = r.manifest.sources.find((s) => s.name === 'brown');
    const markov = r.manifest.sources.find((s) => s.name === 'markov');
    expect(brown?.epochs).toBeLessThan(1);
    expect(markov?.epochs).toBeGreaterThan(1);
  });

  it('adding synthetic data on top of all the real data gives no replacement warning', async () => {
    const dir = tempDir();
    const r = await runRecipeFile(recipe(dir, '', '{ real: 0.7, synthetic: 0.3 }', 40000), { dryRun: true });
    expect(r.manifest.warnings.map((w) => w.code)).not.toContain('replacement');
  });

  it('refuses a mix above max_synthetic_fraction before any work', async () => {
    const dir = tempDir();
    await expect(
      runRecipeFile(recipe(dir, 'guards: { max_synthetic_fraction: 0.5 }'), { out: join(dir, 'out') }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/max_synthetic_fraction/) });
  });

  it('an infeasible budget fails naming the limiting source and the largest feasible budget; --allow-shortfall scales down', async () => {
    const dir = tempDir();
    const p = recipe(dir, '', '{ real: 0.7, synthetic: 0.3 }', 10_000_000);
    await expect(runRecipeFile(p, { dryRun: true })).rejects.toMatchObject({
      message: expect.stringMatching(/brown.*largest feasible budget is \d+/),
    });
    const r = await runRecipeFile(p, { dryRun: true, allowShortfall: true });
    expect(r.plan.shortfall?.limitingSource).toBe('brown');
    expect(r.plan.budget).toBeLessThan(10_000_000);
  });

  it('a source emptied by filtering fails before writing, naming the source and its drops', async () => {
    const dir = tempDir();
    const p = recipe(
      dir,
      'quality:\n  - length: { min: 100000, applies_to: synthetic }',
      '{ real: 0.7, synthetic: 0.3 }',
      20000,
    );
    const out = join(dir, 'out');
    await expect(runRecipeFile(p, { out })).rejects.toMatchObject({
      code: 'E_MIX_EMPTY_SOURCE',
      message: expect.stringMatching(/markov.*empty after filtering \(328 rows read, all dropped\)/),
    });
    const { existsSync } = await import('node:fs');
    expect(existsSync(out)).toBe(false);
  });

  it('a source the plan gives no rows (max_epochs 0.01 of a small source) is written with a warning naming it', async () => {
    const dir = tempDir();
    const p = writeRecipe(
      dir,
      'tiny.yaml',
      `name: tiny-epochs
seed: 1
tokenizer: words
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}/*.jsonl"], text: text, max_epochs: 1 }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 0.001 }
output: { dir: out, format: jsonl }
report: false
`,
    );
    const r = await runRecipeFile(p, { out: join(dir, 'out') });
    const markov = r.manifest.sources.find((s) => s.name === 'markov');
    expect(markov?.rows_available).toBeGreaterThan(0);
    expect(markov?.rows_sampled).toBe(0);
    // with no target the mix takes the natural proportion, so markov's cap of 0.1% of its tokens
    // (a few tokens, less than any row) limits brown too: both are named
    const w = r.manifest.warnings.filter((x) => x.code === 'source_unused');
    expect(w.map((x) => x.sources)).toEqual([['brown'], ['markov']]);
    expect(w[1].message).toMatch(
      /^source "markov" \(synthetic\) contributes no rows to the output: its quota of \d+ tokens \(capped by max_epochs 0.001\) selects no whole row$/,
    );
    expect(r.manifest.totals.rows_written).toBe(0);
    // the same warning in a dry run (curate plan)
    const d = await runRecipeFile(p, { dryRun: true });
    expect(d.manifest.warnings.map((x) => x.code)).toContain('source_unused');
  });
});
