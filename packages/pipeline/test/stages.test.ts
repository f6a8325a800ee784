/**
 * The staged mix's work dir (issue 12): attributes stored by the scan are reused by later runs, a
 * re-mix that changes only ratio, seed and a threshold re-reads no text in the scan and equals a
 * from-scratch run byte for byte, and what does not verify is recomputed.
 */
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { outputHash, tempDir, writeRecipe } from './helpers.js';

type M = Awaited<ReturnType<typeof runRecipeFile>>['manifest'];
const recipe = (o: { out: string; seed: number; ratio: number; minWords: number; data: string; extra?: string }) => `
name: stages
seed: ${o.seed}
tokenizer: cl100k_base
target: { tokens: 150000, ratio: { real: ${o.ratio}, synthetic: ${Math.round((1 - o.ratio) * 100) / 100} } }
sources:
  - name: dolly
    kind: real
    paths: [${o.data}/dolly*.jsonl]
    text: "{instruction}\\n\\n{context}\\n\\n{response}"
    columns: [category]
  - name: alpaca-eval
    kind: synthetic
    generator: mixed
    paths: [${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}]
    text: "{instruction}\\n\\n{output}"
    max_epochs: 4
quality:
  - length: { min: 3 }
  - gopher_quality: { min_words: ${o.minWords}, min_stop_words: 1 }
  - gopher_repetition: {}
${o.extra ?? ''}
dedup:
  exact: {}
  near: { threshold: 0.8 }
output: { dir: ${o.out}, format: parquet, compression: zstd, shard_rows: 1000, write_rejected: true }
report: false
`;

/** Two Dolly shards (so the scan has several files), cut from the real file. */
function dollyShards(dir: string): string {
  const lines = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8').split('\n').filter(Boolean);
  writeFileSync(join(dir, 'dolly-0.jsonl'), `${lines.slice(0, 3000).join('\n')}\n`);
  writeFileSync(join(dir, 'dolly-1.jsonl'), `${lines.slice(3000, 6000).join('\n')}\n`);
  return dir;
}

describe.skipIf(!HAS_SHARED)('staged mix: attributes in the work dir', () => {
  it('re-mix with another ratio, seed and Gopher threshold reads no text in scan and equals a from-scratch run', async () => {
    const dir = tempDir();
    const data = dollyShards(dir);
    const work = join(dir, 'work');
    const first = writeRecipe(dir, 'a.yaml', recipe({ out: join(dir, 'a'), seed: 1, ratio: 0.7, minWords: 50, data }));
    const a = (await runRecipeFile(first, { work, workers: 2 })).manifest;
    expect(a.work?.scan).toMatchObject({ files: 3, reused: 0, computed: 3 });
    // attribute shards exist per input, one Parquet per group, with markers
    const inputs = readdirSync(join(work, 'attributes'));
    expect(inputs).toHaveLength(3);
    const groups = readdirSync(join(work, 'attributes', inputs[0]));
    expect(groups.some((g) => g.startsWith('q-gopher_quality.') && g.endsWith('.parquet'))).toBe(true);

    const second = writeRecipe(dir, 'b.yaml', recipe({ out: join(dir, 'b'), seed: 9, ratio: 0.6, minWords: 30, data }));
    const b = (await runRecipeFile(second, { work, workers: 2 })).manifest;
    expect(b.work?.scan).toMatchObject({ files: 3, reused: 3, computed: 0, bytes_read: 0, groups_computed: 0 });
    // the threshold moved: other rows are dropped for word_count
    const wc = (m: M) => m.sources[0].dropped['filter:gopher_quality:word_count'] ?? 0;
    expect(wc(b)).toBeLessThan(wc(a));

    expect(b.work?.dedup.reused).toBe(false); // other rows take part: recomputed

    const fresh = (await runRecipeFile(second, { work: false, out: join(dir, 'c'), workers: 1 })).manifest;
    expect(fresh.work).toBeUndefined();
    expect(outputHash(b)).toBe(outputHash(fresh));
    expect(b.sources).toEqual(fresh.sources);
    expect(b.dedup).toEqual(fresh.dedup);

    // only the seed and ratio change: the dedup verdicts are reused too, and the output is still exact
    const third = writeRecipe(dir, 'd.yaml', recipe({ out: join(dir, 'd'), seed: 5, ratio: 0.8, minWords: 30, data }));
    const d = (await runRecipeFile(third, { work, workers: 2 })).manifest;
    expect(d.work?.dedup.reused).toBe(true);
    const freshD = (await runRecipeFile(third, { work: false, out: join(dir, 'e'), workers: 2 })).manifest;
    expect(outputHash(d)).toBe(outputHash(freshD));
    expect(d.dedup).toEqual(freshD.dedup);

    // a filter added: only its column is computed (one group per file), the rest is reused
    const fourth = writeRecipe(
      dir,
      'f.yaml',
      recipe({
        out: join(dir, 'f'),
        seed: 5,
        ratio: 0.8,
        minWords: 30,
        data,
        extra: '  - fineweb: { applies_to: real }',
      }),
    );
    const f = (await runRecipeFile(fourth, { work, workers: 2 })).manifest;
    expect(f.work?.scan).toMatchObject({ reused: 1, computed: 2, groups_computed: 2 });
    expect(Object.keys(f.sources[0].dropped).some((r) => r.startsWith('filter:fineweb:'))).toBe(true);
    const freshF = (await runRecipeFile(fourth, { work: false, out: join(dir, 'g'), workers: 1 })).manifest;
    expect(outputHash(f)).toBe(outputHash(freshF));
    expect(f.sources).toEqual(freshF.sources);
  }, 300_000);

  it('an input modified after tagging (same name, new bytes) is rescanned; a corrupt attribute shard is recomputed', async () => {
    const dir = tempDir();
    const data = dollyShards(dir);
    const work = join(dir, 'work');
    const r = writeRecipe(dir, 'a.yaml', recipe({ out: join(dir, 'a'), seed: 1, ratio: 0.7, minWords: 50, data }));
    await runRecipeFile(r, { work, workers: 1 });
    // rewrite one shard with other rows of the same size class
    const lines = readFileSync(join(data, 'dolly-1.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(data, 'dolly-1.jsonl'), `${lines.reverse().join('\n')}\n`);
    const t = statSync(join(data, 'dolly-0.jsonl')).mtime;
    utimesSync(join(data, 'dolly-1.jsonl'), t, new Date(t.getTime() + 5000));
    const m = (await runRecipeFile(r, { work, workers: 1, overwrite: true })).manifest;
    expect(m.work?.scan).toMatchObject({ reused: 2, computed: 1 });
    const fresh = (await runRecipeFile(r, { work: false, out: join(dir, 'f1'), workers: 1 })).manifest;
    expect(outputHash(m)).toBe(outputHash(fresh));

    // truncate one attribute Parquet file: its input is recomputed, nothing wrong is reused
    const inDirs = readdirSync(join(work, 'attributes'));
    const gdir = join(work, 'attributes', inDirs[0]);
    const pq = readdirSync(gdir).find((f) => f.startsWith('tokens.') && f.endsWith('.parquet')) as string;
    const bytes = readFileSync(join(gdir, pq));
    writeFileSync(join(gdir, pq), bytes.subarray(0, bytes.length - 10));
    const m2 = (await runRecipeFile(r, { work, workers: 1, overwrite: true })).manifest;
    expect(m2.work?.scan).toMatchObject({ reused: 2, computed: 1 });
    expect(outputHash(m2)).toBe(outputHash(fresh));
  }, 300_000);

  it('one-line errors: work dir is a file, written by another format, locked by a live run', async () => {
    const dir = tempDir();
    const data = dollyShards(dir);
    const r = writeRecipe(dir, 'a.yaml', recipe({ out: join(dir, 'a'), seed: 1, ratio: 0.7, minWords: 50, data }));
    writeFileSync(join(dir, 'afile'), 'x');
    await expect(runRecipeFile(r, { work: join(dir, 'afile') })).rejects.toMatchObject({ code: 'E_WORK_IS_FILE' });
    const w2 = join(dir, 'w2');
    await expect(runRecipeFile(r, { work: w2, dryRun: true })).resolves.toBeDefined();
    expect(existsSync(w2)).toBe(false); // a dry run stores nothing
    const { mkdirSync } = await import('node:fs');
    mkdirSync(w2);
    writeFileSync(join(w2, 'curate-work.json'), JSON.stringify({ format: 99, tool: '9.9.9' }));
    await expect(runRecipeFile(r, { work: w2 })).rejects.toMatchObject({ code: 'E_WORK_VERSION' });
    const w3 = join(dir, 'w3');
    mkdirSync(w3);
    // the lock of a live process (this one's parent) on this host
    const { hostname } = await import('node:os');
    writeFileSync(join(w3, 'lock'), JSON.stringify({ pid: process.ppid, host: hostname(), started: 'now' }));
    await expect(runRecipeFile(r, { work: w3 })).rejects.toMatchObject({ code: 'E_WORK_LOCKED' });
    // a dead run's lock is taken over
    writeFileSync(join(w3, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: 'then' }));
    const m = (await runRecipeFile(r, { work: w3, workers: 1 })).manifest;
    expect(m.work?.scan.computed).toBe(3);
    expect(existsSync(join(w3, 'lock'))).toBe(false);
  }, 300_000);
});
