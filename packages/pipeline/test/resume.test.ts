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
      // killed in finalize: every write unit was done and is not redone
      if (stage === 'finalize') {
        expect(resumed.work?.write).toEqual({ reused: { scatter: 5, rejected: 1, write: 1 }, computed: {} });
      } else {
        expect(resumed.work?.write).toEqual({ reused: {}, computed: { scatter: 5, rejected: 1, write: 1 } });
      }
      const fresh = (await runRecipeFile(recipe, { work: false, out: join(dir, 'fresh'), workers: 2 })).manifest;
      expect(outputHash(resumed)).toBe(outputHash(fresh));
      expect(resumed.sources).toEqual(fresh.sources);
      expect(resumed.dedup).toEqual(fresh.dedup);
      expect(resumed.metrics).toEqual(fresh.metrics);
      // committed: the work dir keeps the attributes, not the write units
      expect(readdirSync(join(work, 'write'))).toEqual([]);
    }, 300_000);
  }

  // Write units: scatter (one per input file) and write (one per range of output positions; the
  // test seam makes them 1,000 rows, so 5 here), killed after some were committed.
  for (const [at, step, done, threaded] of [
    ['scatter:2', 'scatter', 2, false],
    ['write:2', 'write', 2, false],
    ['write:3', 'write', 3, true],
  ] as const) {
    it(`after ${done} ${step} units${threaded ? ' (on the scan threads)' : ''}: the rerun redoes only the others`, async () => {
      const dir = tempDir();
      const recipe = dollyRecipe(dir);
      if (threaded) {
        writeFileSync(recipe, readFileSync(recipe, 'utf8').replace('write_rejected: true', 'write_rejected: false'));
      }
      const work = join(dir, 'work');
      const env = { CURATE_TEST_WRITE_UNIT_ROWS: '1000' };
      const child = runChild(recipe, work, { ...env, CURATE_TEST_KILL_AT: at });
      const [, signal] = await new Promise<[number | null, string | null]>((r) =>
        child.on('exit', (c, s) => r([c, s])),
      );
      expect(signal).toBe('SIGKILL');
      expect(existsSync(join(dir, 'out'))).toBe(false);
      process.env.CURATE_TEST_WRITE_UNIT_ROWS = '1000';
      try {
        const resumed = (await runRecipeFile(recipe, { work, workers: 1 })).manifest;
        const units = resumed.work?.write;
        const scatter = threaded ? 1 : 5; // one scatter unit per file, or per row range on 1 thread
        if (step === 'scatter') {
          expect(units).toEqual({
            reused: { scatter: done },
            computed: { scatter: scatter - done, rejected: 1, write: 5 },
          });
        } else {
          expect(units?.reused).toMatchObject({ write: done });
          expect(units?.computed).toEqual({ write: 5 - done });
        }
        const fresh = (await runRecipeFile(recipe, { work: false, out: join(dir, 'fresh'), workers: 2 })).manifest;
        expect(outputHash(resumed)).toBe(outputHash(fresh));
        expect(resumed.output.shards.length).toBe(5);
        expect(resumed.sources).toEqual(fresh.sources);
        expect(resumed.metrics).toEqual(fresh.metrics);
      } finally {
        delete process.env.CURATE_TEST_WRITE_UNIT_ROWS;
      }
    }, 300_000);
  }

  it('a write unit whose shard was damaged after its marker is redone (fails closed)', async () => {
    const dir = tempDir();
    const recipe = dollyRecipe(dir);
    const work = join(dir, 'work');
    const child = runChild(recipe, work, { CURATE_TEST_WRITE_UNIT_ROWS: '1000', CURATE_TEST_KILL_AT: 'write:2' });
    await new Promise((r) => child.on('exit', r));
    const [key] = readdirSync(join(work, 'write'));
    const unit = join(work, 'write', key, 'write', 'u00000');
    const [shard] = readdirSync(unit);
    const bytes = readFileSync(join(unit, shard));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(unit, shard), bytes);
    process.env.CURATE_TEST_WRITE_UNIT_ROWS = '1000';
    try {
      const resumed = (await runRecipeFile(recipe, { work, workers: 1 })).manifest;
      expect(resumed.work?.write?.reused).toMatchObject({ write: 1 });
      expect(resumed.work?.write?.computed).toEqual({ write: 4 });
      const fresh = (await runRecipeFile(recipe, { work: false, out: join(dir, 'fresh'), workers: 1 })).manifest;
      expect(outputHash(resumed)).toBe(outputHash(fresh));
    } finally {
      delete process.env.CURATE_TEST_WRITE_UNIT_ROWS;
    }
  }, 300_000);

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
