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
});
