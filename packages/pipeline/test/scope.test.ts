import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

function recipe(dir: string, scope: 'global' | 'per_source'): string {
  return writeRecipe(
    dir,
    `${scope}.yaml`,
    `name: scope
seed: 5
tokenizer: words
target: { documents: 100, ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}/*.jsonl"], text: text }
  - { name: markov, kind: synthetic, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text }
dedup:
  scope: ${scope}
  exact: {}
  near: { threshold: 0.8 }
output: { dir: out }
report: false
`,
  );
}

describe('dedup scope', () => {
  it('global dedup removes synthetic copies of real rows; per_source keeps them (they are in different sources)', async () => {
    const dir = tempDir();
    const global = await runRecipeFile(recipe(dir, 'global'), { dryRun: true });
    const per = await runRecipeFile(recipe(dir, 'per_source'), { dryRun: true });
    const dups = (m: typeof global.manifest, s: string) => {
      const src = m.sources.find((x) => x.name === s);
      return (src?.dropped['dedup:exact'] ?? 0) + (src?.dropped['dedup:near'] ?? 0);
    };
    expect(dups(global.manifest, 'markov')).toBeGreaterThanOrEqual(14);
    expect(global.manifest.dedup.copies?.synthetic_of_real).toBe(dups(global.manifest, 'markov'));
    expect(per.manifest.dedup.copies?.synthetic_of_real ?? 0).toBe(0);
    expect(dups(per.manifest, 'markov')).toBe(per.manifest.dedup.copies?.synthetic_of_synthetic ?? 0);
    expect(dups(per.manifest, 'markov')).toBeLessThan(dups(global.manifest, 'markov'));
  });
});
