import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { BYTES_PER_SIGNER, defaultWorkers } from '../src/files.js';
import { decontamFiles, dedupFiles } from '../src/index.js';
import { plantCorpus, readJsonlDir } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dedup-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!HAS_SHARED)('dedupFiles', () => {
  it('removes planted copies, keeps every column, explains every removal, same result for 1, 2 and 4 workers', async () => {
    const inputs = await plantCorpus(join(dir, 'in'), 3);
    const s1 = await dedupFiles({ inputs, out: join(dir, 'out1'), workers: 1, batchSize: 100 });
    const events: string[] = [];
    // A progress listener (a function) must not be sent to worker threads (it cannot be cloned).
    const s2 = await dedupFiles({
      inputs,
      out: join(dir, 'out2'),
      workers: 2,
      batchSize: 100,
      progress: (e) => events.push(e.phase),
    });
    expect(events.length).toBeGreaterThan(0);
    expect(s1.documents_in).toBe(s2.documents_in);
    const kept1 = await readJsonlDir(join(dir, 'out1'));
    const rej1 = await readJsonlDir(join(dir, 'out1', 'rejected'));
    expect(kept1).toEqual(await readJsonlDir(join(dir, 'out2')));
    expect(rej1).toEqual(await readJsonlDir(join(dir, 'out2', 'rejected')));
    // more workers than files: every worker reads every file and signs its share of batches
    await dedupFiles({ inputs, out: join(dir, 'out4'), workers: 4, batchSize: 100 });
    expect(await readJsonlDir(join(dir, 'out4', 'rejected'))).toEqual(rej1);
    expect(kept1.length + rej1.length).toBe(s1.documents_in);
    expect(s1.kept).toBe(kept1.length);
    // every synthetic copy is removed, in favour of a real document, never the other way round
    expect(kept1.filter((r) => r.kind === 'synthetic')).toEqual([]);
    expect(rej1.filter((r) => r.kind === 'real').map((r) => r.id)).toEqual(['empty2']);
    for (const r of rej1) {
      expect(r.reason).toMatch(/^dedup:(exact:dup_of=b\d+|near:cluster=\d+:kept=b\d+|exact:dup_of=empty1)$/);
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['id', 'text', 'kind', 'reason']));
    }
    expect(kept1.find((r) => r.id === 'short')).toBeDefined();
    expect(s1.removed['dedup:exact']).toBeGreaterThanOrEqual(61);
    expect(s1.removed['dedup:near']).toBeGreaterThan(40);
    expect(s1.near?.clusters).toBeGreaterThan(30);
    expect(s1.no_shingles).toBe(2);
    expect(JSON.parse(JSON.stringify(s1)).near.bands).toBe(16);
  }, 60_000);

  it('fails with one clear error for a missing text column or input file', async () => {
    const p = join(dir, 'notext.jsonl');
    await writeFile(p, '{"body": "x"}\n');
    await expect(dedupFiles({ inputs: [p], out: join(dir, 'err3'), workers: 1 })).rejects.toMatchObject({
      code: 'E_MISSING_COLUMN',
    });
    await expect(dedupFiles({ inputs: [p], out: join(dir, 'err4'), workers: 2 })).rejects.toMatchObject({
      code: 'E_MISSING_COLUMN',
      file: p,
    });
    await expect(dedupFiles({ inputs: [join(dir, 'nope.jsonl')], out: join(dir, 'err5') })).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
    expect((await readdir(dir)).filter((x) => x.includes('err'))).toEqual([]); // nothing half-written
  });
});

describe.skipIf(!HAS_SHARED)('decontamFiles', () => {
  it('drops contaminated rows with the eval set and row, keeps clean ones', async () => {
    const solutions = shared('decontam', 'gsm8k_example_model_solutions.jsonl');
    const s = await decontamFiles({
      inputs: [solutions],
      against: [shared('decontam', 'gsm8k_test.jsonl')],
      text: '{question}\n\n{175b_verification.solution}',
      out: join(dir, 'dc'),
    });
    expect(s.documents_in).toBe(1319);
    expect(s.kept).toBe(0);
    expect(s.sources[solutions].dropped).toEqual({ 'decontam:gsm8k_test': 1319 });
    const rej = await readJsonlDir(join(dir, 'dc', 'rejected'));
    expect(rej[0].reason).toBe('decontam:gsm8k_test:row=0');
    expect(rej[0]['175b_verification']).toBeDefined(); // every input column kept
    const t = await decontamFiles({
      inputs: [shared('decontam', 'gsm8k_train.jsonl')],
      against: [shared('decontam', 'gsm8k_test.jsonl')],
      text: '{question}\n{answer}',
      out: join(dir, 'dc-train'),
    });
    expect(t.documents_in).toBe(7473);
    expect(t.documents_in - t.kept).toBeLessThanOrEqual(74);
    expect((await readJsonlDir(join(dir, 'dc-train'))).length).toBe(t.kept);
  });
  it('one clear error for an eval file that does not exist', async () => {
    await expect(
      decontamFiles({
        inputs: [shared('decontam', 'gsm8k_train.jsonl')],
        against: ['/no/such/eval.jsonl'],
        out: join(dir, 'dc2'),
      }),
    ).rejects.toMatchObject({ code: 'E_DECONTAM_EVAL_NOT_FOUND', file: '/no/such/eval.jsonl' });
  });
});

describe('default signer count', () => {
  it('uses one thread below 64 MiB of input and up to two (never more than the cores) above', () => {
    expect(defaultWorkers(40e6)).toBe(1);
    expect(defaultWorkers(BYTES_PER_SIGNER)).toBe(1);
    expect(defaultWorkers(BYTES_PER_SIGNER + 1)).toBe(Math.min(2, availableParallelism()));
    expect(defaultWorkers(10e9)).toBe(Math.min(2, availableParallelism()));
    expect(defaultWorkers(0)).toBe(1);
  });
});
