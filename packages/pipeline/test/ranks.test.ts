/**
 * The staged mix as ranks without a scheduler (issue 13): every stage's ranks run here one after
 * another (`runStage`, what `curate mix --stage S --rank i` runs), 4 scan / 2 dedup / 3 scatter and
 * write ranks, and the output equals the single-process run's byte for byte (shards, rejected rows,
 * and the manifest except timings and reuse records). A rank whose predecessor left no markers fails
 * closed with one line naming its stage and rank. The Slurm side is in apps/cli/test/slurm.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CurateError } from '@curate/core';
import { loadRecipe } from '@curate/recipe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparableManifest, e2eRecipe } from '../../../tools/test/e2e-recipe.js';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import {
  assignByBytes,
  estimateRows,
  type RankStageName,
  ROW_COST,
  rangeOwner,
  readRankMarkers,
  resolveStageRank,
  runKeyOf,
  runRecipeFile,
  runStageFile,
  type ScanTask,
  scanUnits,
  TOOL_VERSION,
} from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

const DEMO = resolve(__dirname, '../../../fixtures/recipes/demo.yaml');

/** sha256 of every file of an output directory (shards, rejected shards) by relative path, manifest and report aside. */
function outputFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      if (f.isDirectory()) walk(join(d, f.name), `${rel}${f.name}/`);
      else if (!['manifest.json', 'report.html'].includes(f.name))
        out[rel + f.name] = createHash('sha256')
          .update(readFileSync(join(d, f.name)))
          .digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

const manifestOf = (dir: string) => comparableManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));

/** Every stage's ranks in order, as a shell loop would run them. */
async function runRanks(recipe: string, work: string, out: string, sizes: Record<RankStageName, number>) {
  for (const stage of ['scan', 'dedup', 'plan', 'scatter', 'write', 'finalize'] as RankStageName[]) {
    for (let rank = 0; rank < sizes[stage]; rank++) {
      await runStageFile(recipe, { stage, rank, worldSize: sizes[stage] }, { work, out, workers: 2 });
    }
  }
}

const SIZES: Record<RankStageName, number> = { scan: 4, dedup: 2, plan: 1, scatter: 3, write: 3, finalize: 1 };

let saved: string | undefined;
beforeEach(() => {
  saved = process.env.CURATE_TEST_WRITE_UNIT_ROWS;
});
afterEach(() => {
  if (saved === undefined) delete process.env.CURATE_TEST_WRITE_UNIT_ROWS;
  else process.env.CURATE_TEST_WRITE_UNIT_ROWS = saved;
});

describe('assignment', () => {
  it('input files balanced by bytes: greedy by size, stable, every rank a share', () => {
    expect(assignByBytes([10, 50, 20, 20, 5], 2)).toEqual([1, 0, 1, 1, 0]);
    expect(assignByBytes([10, 50, 20, 20, 5], 2)).toEqual(assignByBytes([10, 50, 20, 20, 5], 2));
    expect(assignByBytes([1, 1, 1], 5)).toEqual([0, 1, 2]);
    expect(assignByBytes([], 3)).toEqual([]);
  });
  it('scan units balanced by cost (bytes and rows): files split where whole ones would not balance', () => {
    const task = (id: number, size: number): ScanTask =>
      ({ id, sourceIndex: 0, fileIndex: id, path: `f${id}`, format: 'jsonl', size }) as ScanTask;
    const loads = (u: ReturnType<typeof scanUnits>, n: number) => {
      const l = new Array(n).fill(0);
      for (const x of u) l[x.owner] += x.cost;
      return l;
    };
    // what covers every file's rows exactly once: whole, or parts 0..k-1 of k
    const covered = (u: ReturnType<typeof scanUnits>, files: number) => {
      for (let f = 0; f < files; f++) {
        const mine = u.filter((x) => x.unit.id === f);
        const k = mine[0].unit.parts ?? 1;
        expect(mine.map((x) => x.unit.part ?? 0).sort()).toEqual(Array.from({ length: k }, (_, p) => p));
      }
    };
    // four 25 MB book shards (60 rows) and AlpacaEval (9 MB, 7,244 rows) on 4 ranks: one part of it each
    const tasks = [0, 1, 2, 3].map((i) => task(i, 25_400_000 + i * 1000)).concat(task(4, 9_000_000));
    const rows = [60, 61, 59, 60, 7244];
    const u = scanUnits(tasks, 4, rows);
    covered(u, 5);
    expect(u.filter((x) => x.unit.id === 4).map((x) => x.owner)).toEqual([0, 1, 2, 3].reverse());
    const l = loads(u, 4);
    expect(Math.max(...l) / Math.min(...l)).toBeLessThan(1.01);
    expect(u.reduce((a, x) => a + x.cost, 0)).toBeCloseTo(
      tasks.reduce((a, t, i) => a + t.size + ROW_COST * rows[i], 0),
      3,
    );
    // the same, by bytes alone: whole files would give one rank two; still split
    expect(scanUnits(tasks, 4).filter((x) => x.unit.parts).length).toBeGreaterThan(0);
    // one big file on 3 ranks: its shares
    const big = scanUnits([task(0, 90), task(1, 3)], 3);
    covered(big, 2);
    expect(big.filter((x) => x.unit.id === 0).map((x) => x.unit.parts)).toEqual([3, 3, 3]);
    // many equal small files: whole, evenly
    const small = scanUnits(
      Array.from({ length: 8 }, (_, i) => task(i, 10)),
      4,
    );
    expect(small.every((x) => !x.unit.parts)).toBe(true);
    expect(loads(small, 4)).toEqual([20, 20, 20, 20]);
    // one rank: everything whole on it
    expect(scanUnits(tasks, 1, rows).every((x) => x.owner === 0 && !x.unit.parts)).toBe(true);
    // deterministic
    expect(scanUnits(tasks, 4, rows)).toEqual(u);
  });

  it('rows of a file for the estimate: counted when it is small, scaled from windows spread over it when not', async () => {
    const dir = tempDir();
    const small = join(dir, 's.jsonl');
    writeFileSync(small, '{"a":1}\n{"a":2}\n{"a":3}');
    const at = (path: string, size: number, extra: Partial<ScanTask> = {}) =>
      ({ id: 0, sourceIndex: 0, fileIndex: 0, path, format: 'jsonl', size, ...extra }) as ScanTask;
    expect(await estimateRows(at(small, 23))).toBe(3);
    const big = join(dir, 'b.jsonl');
    const line = `${JSON.stringify({ text: 'x'.repeat(990) })}\n`; // 1,002 bytes
    writeFileSync(big, line.repeat(2000));
    expect(Math.abs((await estimateRows(at(big, 2_004_000))) - 2000)).toBeLessThan(50);
    // short rows first, long ones after: the head alone would say 5x more rows
    const mixed = join(dir, 'm.jsonl');
    const short = `${JSON.stringify({ text: 'y'.repeat(188) })}\n`; // 200 bytes
    writeFileSync(mixed, short.repeat(2000) + line.repeat(1600)); // 400 KB + 1.6 MB
    const est = await estimateRows(at(mixed, 2_003_200));
    expect(est).toBeGreaterThan(3600 * 0.7);
    expect(est).toBeLessThan(3600 * 1.5);
    expect(await estimateRows(at(big, 2_004_000, { format: 'parquet' }))).toBe(0);
    expect(await estimateRows(at(big, 2_004_000, { compression: 'gzip' }))).toBe(0);
  });

  it('write units in contiguous ranges', () => {
    expect(Array.from({ length: 10 }, (_, u) => rangeOwner(u, 10, 3))).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(Array.from({ length: 2 }, (_, u) => rangeOwner(u, 2, 3))).toEqual([0, 1]);
  });
  it('rank and world size from flags, Slurm arrays and Kubernetes Indexed Jobs', () => {
    expect(resolveStageRank('scan', { rank: 2, worldSize: 4 }, {})).toEqual({ stage: 'scan', rank: 2, worldSize: 4 });
    expect(resolveStageRank('scan', {}, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({
      rank: 3,
      worldSize: 4,
    });
    // a resubmission of rank 3 alone: its array has one task, the world size comes from the flag
    expect(
      resolveStageRank('write', { worldSize: 4 }, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '1' }),
    ).toMatchObject({
      rank: 3,
      worldSize: 4,
    });
    expect(resolveStageRank('dedup', { worldSize: 2 }, { JOB_COMPLETION_INDEX: '1' })).toMatchObject({ rank: 1 });
    expect(() => resolveStageRank('dedup', {}, { JOB_COMPLETION_INDEX: '1' })).toThrow(/--world-size/);
    expect(() => resolveStageRank('scan', { rank: 4, worldSize: 4 }, {})).toThrow(/bad rank 4 of world size 4/);
    expect(() => resolveStageRank('plan', { rank: 0, worldSize: 2 }, {})).toThrow(/runs as one rank/);
  });
});

/** The demo mixed in one process (small write units), and where its ranked run goes. */
async function demoSingle(): Promise<{ single: string; out: string; work: string }> {
  process.env.CURATE_TEST_WRITE_UNIT_ROWS = '23';
  const dir = tempDir();
  const single = join(dir, 'single');
  await runRecipeFile(DEMO, { out: single, work: join(dir, 'w1'), workers: 2 });
  return { single, out: join(dir, 'ranked'), work: join(dir, 'w2') };
}

describe('ranks without a scheduler give the single-process bytes', () => {
  it('demo fixtures: 4 scan, 2 dedup, 3 scatter/write ranks', async () => {
    const { single, out, work } = await demoSingle();
    await runRanks(DEMO, work, out, SIZES);
    expect(Object.keys(outputFiles(out)).length).toBeGreaterThan(6);
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
    // every rank left its marker
    const { recipe } = await loadRecipe(DEMO);
    const { expandInputs } = await import('@curate/shards');
    const files = [];
    for (const s of recipe.sources) files.push(await expandInputs(s.paths));
    const run = await runKeyOf(recipe, files, TOOL_VERSION);
    const dedup = await readRankMarkers(join(work, 'ranks', run, 'dedup'));
    expect(dedup.map((m) => [m.rank, m.status])).toEqual([
      [0, 'done'],
      [1, 'done'],
    ]);
  });

  it('with andNext (--then), the last dedup and write ranks run plan and finalize: the same bytes, once each', async () => {
    const { single, out, work } = await demoSingle();
    const thenOf: Record<string, (string | null)[]> = {};
    for (const stage of ['scan', 'dedup', 'scatter', 'write'] as RankStageName[]) {
      thenOf[stage] = [];
      for (let rank = 0; rank < SIZES[stage]; rank++) {
        const r = await runStageFile(
          DEMO,
          { stage, rank, worldSize: SIZES[stage] },
          { work, out, workers: 2, andNext: true },
        );
        thenOf[stage].push(r.next ? `${r.next.stage} ${r.next.marker.status}` : null);
      }
    }
    // only the rank that found its whole stage done ran the next stage: the last dedup rank; the
    // first write rank, which (run in order, the others not started) took every write unit
    expect(thenOf).toEqual({
      scan: [null, null, null, null],
      dedup: [null, 'plan done'],
      scatter: [null, null, null],
      write: ['finalize done', null, null],
    });
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
    // a rank of a stage whose next stage is done does not run it again
    const again = await runStageFile(
      DEMO,
      { stage: 'dedup', rank: 1, worldSize: 2 },
      { work, out, workers: 2, andNext: true },
    );
    expect(again.next).toBeUndefined();
  });

  it.skipIf(!HAS_SHARED)('one big file over 4 scan ranks: row-block parts, merged once, the same bytes', async () => {
    process.env.CURATE_TEST_WRITE_UNIT_ROWS = '2000';
    const dir = tempDir();
    const dolly = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8');
    writeFileSync(join(dir, 'dolly.jsonl'), dolly);
    const libre = readFileSync(shared('instruct_pair', 'synthetic_alpaca_libre_gpt35.jsonl'), 'utf8').split('\n');
    writeFileSync(join(dir, 'libre.jsonl'), `${libre.slice(0, 2000).join('\n')}\n`);
    const recipe = writeRecipe(
      dir,
      'big.yaml',
      `
name: big-file
seed: 5
tokenizer: cl100k_base
target: { ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - { name: dolly, kind: real, paths: [dolly.jsonl], text: "{instruction}\\n\\n{context}\\n\\n{response}" }
  - { name: libre, kind: synthetic, generator: gpt-3.5, paths: [libre.jsonl], text: "{instruction}\\n\\n{output}" }
quality: [{ gopher_repetition: {} }, { c4: { mode: clean } }]
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, format: parquet, compression: zstd, shard_rows: 1500 }
report: false
`,
    );
    const single = join(dir, 'single');
    await runRecipeFile(recipe, { out: single, work: join(dir, 'w1'), workers: 2 });
    const out = join(dir, 'ranked');
    const work = join(dir, 'w2');
    const scans = [];
    const scanRank = async (rank: number) =>
      (await runStageFile(recipe, { stage: 'scan', rank, worldSize: 4 }, { work, out, workers: 1 })).marker;
    for (let rank = 0; rank < 3; rank++) scans.push(await scanRank(rank));
    // rank 3 was killed while merging in an earlier attempt: its claim is stale, and it clears it
    const run0 = readdirSync(join(work, 'ranks'))[0];
    const key = createHash('sha256').update(join(dir, 'dolly.jsonl')).digest('hex').slice(0, 16);
    writeFileSync(join(work, 'ranks', run0, 'scan', 'parts', `${key}.merge.claim`), '{"rank":3,"world_size":4}\n');
    scans.push(await scanRank(3));
    // Dolly (15,011 rows, 13 MB) spans the 4 ranks' shares of the cost: one part each. Libre whole
    // would give one rank a third more than the others: one part of it each too. The rank storing
    // a file's last part merged it.
    expect(scans.map((m) => m.units?.computed.parts)).toEqual([2, 2, 2, 2]);
    expect(scans.map((m) => m.units?.computed.merged_files ?? 0)).toEqual([0, 0, 0, 2]);
    expect(scans.reduce((a, m) => a + (m.units?.computed.files ?? 0), 0)).toBe(0);
    const run = readdirSync(join(work, 'ranks'))[0];
    expect(readdirSync(join(work, 'ranks', run, 'scan', 'parts'))).toEqual([]); // removed once merged
    // a scan rank run again finds the merged attributes: nothing computed
    const again = await runStageFile(recipe, { stage: 'scan', rank: 0, worldSize: 4 }, { work, out, workers: 1 });
    expect(again.marker.units?.computed.parts).toBe(0);
    for (const stage of ['dedup', 'plan', 'scatter', 'write', 'finalize'] as RankStageName[])
      for (let rank = 0; rank < SIZES[stage]; rank++)
        await runStageFile(recipe, { stage, rank, worldSize: SIZES[stage] }, { work, out, workers: 2 });
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
  });

  it('scope per_source, other world sizes (1 scan, 3 dedup, 2 write): the same bytes', async () => {
    process.env.CURATE_TEST_WRITE_UNIT_ROWS = '50';
    const dir = tempDir();
    const text = readFileSync(DEMO, 'utf8')
      .replace('exact: { normalize: true }', 'exact: { normalize: true }\n  scope: per_source')
      .replaceAll('../', `${resolve(__dirname, '../../../fixtures')}/`);
    const recipe = writeRecipe(dir, 'per-source.yaml', text);
    const single = join(dir, 'single');
    await runRecipeFile(recipe, { out: single, work: join(dir, 'w1'), workers: 2 });
    const out = join(dir, 'ranked');
    await runRanks(recipe, join(dir, 'w2'), out, { scan: 1, dedup: 3, plan: 1, scatter: 2, write: 2, finalize: 1 });
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
  });

  it.skipIf(!HAS_SHARED)(
    'real data (Gutenberg + AlpacaEval, filters, exact + near dedup, decontam): 4/2/3 ranks',
    async () => {
      process.env.CURATE_TEST_WRITE_UNIT_ROWS = '700';
      const dir = tempDir();
      const recipe = writeRecipe(dir, 'e2e.yaml', e2eRecipe(join(dir, 'single'), { gutenberg: 3 }));
      const single = join(dir, 'single');
      const { manifest } = await runRecipeFile(recipe, { work: join(dir, 'w1'), workers: 2 });
      expect(manifest.dedup.near?.removed).toBeGreaterThan(0);
      expect(manifest.dedup.exact?.removed).toBeGreaterThan(0);
      const out = join(dir, 'ranked');
      await runRanks(recipe, join(dir, 'w2'), out, SIZES);
      expect(Object.keys(outputFiles(out)).length).toBeGreaterThan(3);
      expect(outputFiles(out)).toEqual(outputFiles(single));
      expect(manifestOf(out)).toEqual(manifestOf(single));
    },
    600_000,
  );
});

describe('fail closed', () => {
  it("a rank whose predecessor's markers are missing fails with one line naming its stage and rank", async () => {
    const dir = tempDir();
    const work = join(dir, 'w');
    const out = join(dir, 'out');
    const stageError = async (stage: RankStageName, rank: number, worldSize: number) => {
      try {
        await runStageFile(DEMO, { stage, rank, worldSize }, { work, out, workers: 1 });
      } catch (e) {
        expect(e).toBeInstanceOf(CurateError);
        expect((e as CurateError).code).toBe('E_STAGE_INCOMPLETE');
        expect((e as Error).message).not.toContain('\n');
        return (e as Error).message;
      }
      throw new Error(`stage ${stage} rank ${rank} did not fail`);
    };
    expect(await stageError('dedup', 1, 2)).toMatch(
      /^stage dedup rank 1 of 2: the scan stage left no attributes .* for \S+brown/,
    );
    for (let r = 0; r < 4; r++)
      await runStageFile(DEMO, { stage: 'scan', rank: r, worldSize: 4 }, { work, out, workers: 1 });
    expect(await stageError('plan', 0, 1)).toMatch(
      /^stage plan rank 0 of 1: the dedup stage has no completion markers/,
    );
    await runStageFile(DEMO, { stage: 'dedup', rank: 0, worldSize: 2 }, { work, out });
    expect(await stageError('plan', 0, 1)).toMatch(
      /^stage plan rank 0 of 1: the dedup stage is incomplete: dedup rank 1 of 2 has no completion marker/,
    );
    expect(await stageError('scatter', 2, 3)).toMatch(
      /^stage scatter rank 2 of 3: the plan stage has no completion marker/,
    );
    await runStageFile(DEMO, { stage: 'dedup', rank: 1, worldSize: 2 }, { work, out });
    await runStageFile(DEMO, { stage: 'plan', rank: 0, worldSize: 1 }, { work, out });
    expect(await stageError('finalize', 0, 1)).toMatch(/^stage finalize rank 0 of 1: scatter unit/);
    expect(existsSync(out)).toBe(false);
    // the write ranks compute the scatter units no rank stored (a scatter stage of its own is optional)
    const w = await runStageFile(DEMO, { stage: 'write', rank: 1, worldSize: 3 }, { work, out });
    expect(w.complete).toBe(true);
    expect(w.marker.units?.computed.scatter).toBeGreaterThan(0);
  });
});
