import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED } from '../../../tools/test/shared-data.js';
import { dedupFiles, resolveRank, runDedupStage } from '../src/index.js';
import { plantCorpus, readJsonl } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dedup-stages-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rowsOf(d: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const f of (await readdir(d)).filter((x) => x.endsWith('.jsonl'))) out.push(...(await readJsonl(join(d, f))));
  return out.sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

describe('resolveRank', () => {
  it('takes explicit values, then Slurm array variables, then the Kubernetes completion index', () => {
    expect(resolveRank({ rank: 2, worldSize: 4 }, {})).toEqual({ rank: 2, worldSize: 4 });
    expect(resolveRank({}, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({
      rank: 3,
      worldSize: 4,
    });
    expect(
      resolveRank({}, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' }),
    ).toEqual({ rank: 3, worldSize: 4 });
    expect(resolveRank({ worldSize: 8 }, { JOB_COMPLETION_INDEX: '5' })).toEqual({ rank: 5, worldSize: 8 });
    expect(() => resolveRank({}, { JOB_COMPLETION_INDEX: '5' })).toThrow(/world size/);
    expect(() => resolveRank({ rank: 4, worldSize: 4 }, {})).toThrow(/rank/);
    expect(resolveRank({}, {})).toEqual({ rank: 0, worldSize: 1 });
  });
});

describe.skipIf(!HAS_SHARED)('stages', () => {
  it('4 ranks give exactly the single-process result; a missing rank fails closed', async () => {
    const inputs = await plantCorpus(join(dir, 'in'), 6);
    const single = await dedupFiles({ inputs, out: join(dir, 'single'), workers: 1, batchSize: 50 });
    const work = join(dir, 'work');
    const opts = { inputs, workDir: work, out: join(dir, 'ranked'), batchSize: 70 };
    for (let r = 0; r < 4; r++) await runDedupStage('signatures', { ...opts, rank: r, worldSize: 4 });
    // buckets with a different world size than signatures
    for (let r = 0; r < 3; r++) await runDedupStage('buckets', { ...opts, rank: r, worldSize: 3 });
    const c = await runDedupStage('clusters', opts);
    for (let r = 0; r < 4; r++) await runDedupStage('remove', { ...opts, rank: r, worldSize: 4 });

    expect(c.summary?.clusters).toBe(single.near?.clusters);
    expect(c.summary?.cluster_sizes).toEqual(single.near?.cluster_sizes);
    const kept = await rowsOf(join(dir, 'ranked'));
    const rej = await rowsOf(join(dir, 'ranked', 'rejected'));
    expect(kept).toEqual(await rowsOf(join(dir, 'single')));
    expect(rej).toEqual(await rowsOf(join(dir, 'single', 'rejected')));
    expect(rej.length).toBe(single.documents_in - single.kept);
    expect(rej.length).toBeGreaterThan(100);

    await unlink(join(work, 'signatures', 'manifest-rank-00002-of-00004.json'));
    await expect(runDedupStage('buckets', { ...opts, rank: 0, worldSize: 1 })).rejects.toMatchObject({
      code: 'E_DEDUP_STAGE_INCOMPLETE',
      message: expect.stringMatching(/rank\(s\) 2 of 4/),
    });
    await expect(runDedupStage('clusters', opts)).rejects.toMatchObject({ code: 'E_DEDUP_STAGE_INCOMPLETE' });
    await expect(runDedupStage('remove', { ...opts, workDir: join(dir, 'empty') })).rejects.toMatchObject({
      code: 'E_DEDUP_STAGE_INCOMPLETE',
    });
  }, 90_000);
});
