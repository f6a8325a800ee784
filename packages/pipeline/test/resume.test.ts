/**
 * Resume (issue 12): a run killed with SIGKILL during the scan keeps the attribute shards of the
 * files it finished; the rerun reuses them (counted in the manifest), computes the rest, and its
 * output equals an uninterrupted run byte for byte.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { outputHash, tempDir, writeRecipe } from './helpers.js';

function markers(work: string): number {
  const a = join(work, 'attributes');
  if (!existsSync(a)) return 0;
  let n = 0;
  for (const d of readdirSync(a))
    if (readdirSync(join(a, d)).some((f) => f.startsWith('minhash.') && f.endsWith('.json'))) n++;
  return n;
}

function dollyRecipe(dir: string): string {
  const lines = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8').split('\n').filter(Boolean);
  for (let i = 0; i < 5; i++)
    writeFileSync(join(dir, `dolly-${i}.jsonl`), `${lines.slice(i * 3000, (i + 1) * 3000).join('\n')}\n`);
  return writeRecipe(
    dir,
    'r.yaml',
    `
name: resume
seed: 3
tokenizer: cl100k_base
target: { documents: 5000 }
sources:
  - { name: dolly, kind: real, paths: [dolly-*.jsonl], text: "{instruction}\\n\\n{context}\\n\\n{response}" }
quality: [{ gopher_repetition: {} }, { length: { min: 5 } }]
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, format: parquet, compression: zstd, shard_rows: 2000, write_rejected: true }
report: false
`,
  );
}

function runChild(recipe: string, work: string, env: Record<string, string> = {}) {
  const dist = new URL('../dist/index.js', import.meta.url).href;
  return spawn(
    process.execPath,
    [
      '-e',
      `import(${JSON.stringify(dist)}).then((m) => m.runRecipeFile(${JSON.stringify(recipe)}, { work: ${JSON.stringify(work)}, workers: 1 }))`,
    ],
    { stdio: 'ignore', env: { ...process.env, ...env } },
  );
}

describe.skipIf(!HAS_SHARED)('resume after SIGKILL', () => {
  for (const stage of ['dedup', 'write', 'finalize'] as const) {
    it(`during ${stage}: the rerun redoes no scan unit and equals an uninterrupted run`, async () => {
      const dir = tempDir();
      const recipe = dollyRecipe(dir);
      const work = join(dir, 'work');
      const child = runChild(recipe, work, { CURATE_TEST_KILL_AT: stage });
      const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
        child.on('exit', (c, s) => r([c, s])),
      );
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
      expect(existsSync(join(dir, 'out'))).toBe(false); // nothing that looks complete
      expect(markers(work)).toBe(5);
      const resumed = (await runRecipeFile(recipe, { work, workers: 1 })).manifest;
      expect(resumed.work?.scan).toMatchObject({ reused: 5, computed: 0, bytes_read: 0 });
      // killed after dedup stored its verdicts (write, finalize): they are reused too
      expect(resumed.work?.dedup.reused).toBe(stage !== 'dedup');
      const fresh = (await runRecipeFile(recipe, { work: false, out: join(dir, 'fresh'), workers: 2 })).manifest;
      expect(outputHash(resumed)).toBe(outputHash(fresh));
      expect(resumed.sources).toEqual(fresh.sources);
      expect(resumed.dedup).toEqual(fresh.dedup);
    }, 300_000);
  }

  it('during scan: finished files are not scanned again and the output equals an uninterrupted run', async () => {
    const dir = tempDir();
    const recipe = dollyRecipe(dir);
    const work = join(dir, 'work');
    const child = runChild(recipe, work);
    // kill it once one or two files are tagged (well before the five are)
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (markers(work) >= 1) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(t);
        reject(new Error('the run finished before it was killed'));
      });
    });
    await new Promise((r) => child.once('exit', r));
    const done = markers(work);
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(5);
    expect(existsSync(join(dir, 'out'))).toBe(false); // nothing that looks complete

    const resumed = (await runRecipeFile(recipe, { work, workers: 1 })).manifest;
    expect(resumed.work?.scan.reused).toBe(done);
    expect(resumed.work?.scan.computed).toBe(5 - done);
    const fresh = (await runRecipeFile(recipe, { work: false, out: join(dir, 'fresh'), workers: 2 })).manifest;
    expect(outputHash(resumed)).toBe(outputHash(fresh));
    expect(resumed.sources).toEqual(fresh.sources);
  }, 300_000);
});
