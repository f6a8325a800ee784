import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { dedupFiles, ExactDeduper, exactKey, exactKey64 } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dedup-spill-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Removals as plain data, and the group counts. */
function run(budget: number | undefined, docs: [number, string | bigint, string, 'real' | 'synthetic', number?][]) {
  const spillDir = join(dir, 'spill');
  const d = new ExactDeduper({ memoryRows: budget, spillDir, prefer: 'real' });
  for (const [i, k, id, kind, score] of docs) d.add(i, k, { id, kind, score });
  const spilledBefore = d.spilled;
  const r = d.resolve();
  return {
    spilled: spilledBefore,
    result: { removals: [...r], size: r.size, groups: r.groups, groupCount: d.groupCount, docs: d.size },
  };
}

describe('ExactDeduper past its memory budget (issue 19.11)', () => {
  it('spills to disk and gives the same removals, kept documents and counts, then removes its files', async () => {
    mkdirSync(join(dir, 'spill'), { recursive: true });
    // 3,000 documents over 400 keys, added out of order, mixed kinds and scores, string and bigint keys
    for (const keyOf of [(t: string) => exactKey(t), (t: string) => exactKey64(t), (t: string) => `raw:${t}`]) {
      const docs: [number, string | bigint, string, 'real' | 'synthetic', number?][] = [];
      for (let i = 0; i < 3000; i++) {
        const j = (i * 7919) % 3000; // a permutation: batches arrive in any order
        docs.push([
          j * 3,
          keyOf(`text ${(j * 31) % 400}`),
          `doc-${j}`,
          j % 5 === 0 ? 'real' : 'synthetic',
          j % 7 === 0 ? j % 11 : undefined,
        ]);
      }
      const mem = run(undefined, docs);
      expect(mem.spilled).toBe(false);
      for (const budget of [1, 10, 2999]) {
        const disk = run(budget, docs);
        expect(disk.spilled).toBe(true);
        expect(disk.result).toEqual(mem.result);
      }
      expect(mem.result.groupCount).toBe(400);
      expect(mem.result.size).toBe(2600);
    }
    expect(await readdir(join(dir, 'spill'))).toEqual([]); // spill folders removed
  });

  it('a million identical rows with a small budget: first occurrence kept, nothing left on disk', () => {
    const spillDir = join(dir, 'same');
    mkdirSync(spillDir, { recursive: true });
    const d = new ExactDeduper({ memoryRows: 1000, spillDir });
    const key = exactKey64('the same text');
    for (let i = 0; i < 1_000_000; i++) d.add(i, key, { id: `s${i}` });
    expect(readdirSync(spillDir).length).toBe(1); // one spill folder while adding
    const r = d.resolve();
    expect(r.size).toBe(999_999);
    expect(r.groups).toBe(1);
    expect(r.get(0)).toBeUndefined();
    expect(r.get(999_999)).toEqual({ keptIndex: 0, keptId: 's0' });
    expect(d.groupCount).toBe(1);
    expect(readdirSync(spillDir)).toEqual([]);
  });

  it('dispose() removes the spill files of a deduper that is never resolved', () => {
    const spillDir = join(dir, 'gave-up');
    mkdirSync(spillDir, { recursive: true });
    const d = new ExactDeduper({ memoryRows: 5, spillDir });
    for (let i = 0; i < 20; i++) d.add(i, `k${i % 3}`, { id: `d${i}` });
    expect(readdirSync(spillDir).length).toBe(1);
    d.dispose();
    expect(readdirSync(spillDir)).toEqual([]);
  });

  it('a disk error names the path', () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const d = new ExactDeduper({ memoryRows: 2, spillDir: file });
    d.add(0, 'a', { id: 'a0' });
    d.add(1, 'a', { id: 'a1' });
    expect(() => d.add(2, 'a', { id: 'a2' })).toThrow(expect.objectContaining({ code: 'E_DEDUP_SPILL', file }));
    expect(() => d.add(2, 'a', { id: 'a2' })).toThrow(/not-a-folder/);
  });
});

describe.skipIf(!HAS_SHARED)('curate dedup with exact dedup on disk', () => {
  it('writes the same bytes with and without spilling, and leaves no spill files', async () => {
    const input = shared('decontam', 'mmlu_test.jsonl');
    expect(existsSync(input)).toBe(true);
    const base = { inputs: [input], text: 'question', near: false };
    const a = await dedupFiles({ ...base, out: join(dir, 'mem') });
    const b = await dedupFiles({ ...base, out: join(dir, 'disk'), exactMemoryRows: 100 });
    expect(a.removed['dedup:exact']).toBeGreaterThan(0);
    expect({ ...b, timings_s: 0, outputs: 0 }).toEqual({ ...a, timings_s: 0, outputs: 0 });
    for (const f of ['shard-00000-of-00001.jsonl', 'rejected/shard-00000-of-00001.jsonl'])
      expect(readFileSync(join(dir, 'disk', f)).equals(readFileSync(join(dir, 'mem', f)))).toBe(true);
    expect((await readdir(join(dir, 'disk'), { recursive: true })).filter((x) => x.includes('spill'))).toEqual([]);
  });
});
