import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { batchRows, collect, makeBatch } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { createShardWriter, createSplitWriter, prepareOutputDir, readShards, sha256File } from '../src/index.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();

function numbers(start: number, n: number) {
  return makeBatch({
    id: Array.from({ length: n }, (_, i) => `doc-${start + i}`),
    n: Array.from({ length: n }, (_, i) => start + i),
  });
}

describe('createShardWriter', () => {
  it('rotates by rows with exact names and row counts', async () => {
    const dir = join(await tmp(), 'out');
    const w = createShardWriter({ dir, format: 'jsonl', maxRows: 4 });
    await w.write(numbers(0, 3));
    await w.write(numbers(3, 6));
    await w.write(numbers(9, 1));
    const shards = await w.close();
    expect(shards.map((s) => [s.path.slice(dir.length + 1), s.rows])).toEqual([
      ['shard-00000-of-00003.jsonl', 4],
      ['shard-00001-of-00003.jsonl', 4],
      ['shard-00002-of-00003.jsonl', 2],
    ]);
    expect((await readdir(dir)).sort()).toEqual(shards.map((s) => s.path.slice(dir.length + 1)));
    const text = await readFile(shards[0].path, 'utf8');
    expect(text).toBe('{"id":"doc-0","n":0}\n{"id":"doc-1","n":1}\n{"id":"doc-2","n":2}\n{"id":"doc-3","n":3}\n');
    for (const s of shards) {
      expect(s.bytes).toBe((await stat(s.path)).size);
      expect(s.sha256).toBe(await sha256File(s.path));
    }
    const back = (await collect(readShards([dir]))).flatMap((b) => batchRows(b));
    expect(back.map((r) => r.n)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('rotates by bytes (gzip, arrow) and keeps every row', async () => {
    for (const [format, compression, ext] of [
      ['jsonl', 'gzip', '.jsonl.gz'],
      ['arrow', 'none', '.arrow'],
      ['jsonl', 'none', '.jsonl'],
    ] as const) {
      const dir = join(await tmp(), 'out');
      const w = createShardWriter({ dir, format, compression, maxBytes: 64 * 1024, prefix: 'part' });
      const total = 20000;
      for (let s = 0; s < total; s += 2500) {
        const b = numbers(s, 2500);
        (b.columns as Record<string, unknown[]>).text = b.columns.id.map(
          (id) => `${id} ${Math.sin(Number(String(id).slice(4)))}`,
        );
        await w.write(b);
      }
      const shards = await w.close();
      expect(shards.length, format).toBeGreaterThan(2);
      shards.forEach((s, i) => {
        expect(s.path).toBe(
          join(dir, `part-${String(i).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}${ext}`),
        );
      });
      expect(shards.reduce((a, s) => a + s.rows, 0)).toBe(total);
      // Every shard but the last reached the limit, and none is far above it.
      for (const s of shards.slice(0, -1)) {
        expect(s.bytes, `${format} ${s.path}`).toBeGreaterThanOrEqual(compression === 'gzip' ? 16 * 1024 : 64 * 1024);
        expect(s.bytes, `${format} ${s.path}`).toBeLessThan(64 * 1024 * 3);
      }
      const back = await collect(readShards([join(dir, '*')]));
      expect(back.reduce((a, b) => a + b.length, 0)).toBe(total);
      if (compression === 'gzip')
        expect(gunzipSync(await readFile(shards[0].path)).toString()).toMatch(/^\{"id":"doc-0"/);
    }
  });

  it('writes no shard for zero rows', async () => {
    const dir = join(await tmp(), 'out');
    const w = createShardWriter({ dir, format: 'jsonl' });
    await w.write(numbers(0, 0));
    expect(await w.close()).toEqual([]);
    expect(existsSync(dir) ? await readdir(dir) : []).toEqual([]);
  });

  it('fixes the schema at the first batch: new column -> error, missing column -> null', async () => {
    const dir = join(await tmp(), 'out');
    const w = createShardWriter({ dir, format: 'jsonl' });
    await w.write(numbers(0, 2));
    await w.write(makeBatch({ n: [5] }));
    const err = await rejection(w.write(makeBatch({ n: [6], extra: ['x'] }, { file: 'in.jsonl' })));
    expect([err.code, err.file]).toEqual(['E_SCHEMA_CHANGED', 'in.jsonl']);
    const [shard] = await w.close();
    expect(await readFile(shard.path, 'utf8')).toBe('{"id":"doc-0","n":0}\n{"id":"doc-1","n":1}\n{"id":null,"n":5}\n');
  });

  it('with widen, a new column starts a new shard with the column added; every row is kept', async () => {
    const dir = join(await tmp(), 'out');
    const w = createShardWriter({ dir, format: 'parquet', widen: true });
    await w.write(numbers(0, 2));
    await w.write(makeBatch({ n: [6], extra: ['x'] }, { file: 'in.jsonl' }));
    await w.write(makeBatch({ n: [7] }));
    const shards = await w.close();
    expect(shards.map((s) => s.rows)).toEqual([2, 2]);
    const rows = (await collect(readShards(shards.map((s) => s.path)))).flatMap(batchRows);
    expect(rows).toEqual([
      { id: 'doc-0', n: 0 },
      { id: 'doc-1', n: 1 },
      { id: null, n: 6, extra: 'x' },
      { id: null, n: 7, extra: null },
    ]);
  });

  it('abort() mid-way leaves no shard file and no temp file', async () => {
    const dir = join(await tmp(), 'out');
    const w = createShardWriter({ dir, format: 'arrow', maxRows: 100 });
    for (let s = 0; s < 450; s += 50) await w.write(numbers(s, 50));
    expect((await readdir(dir)).filter((f) => f.startsWith('.tmp-')).length).toBeGreaterThan(1);
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('createSplitWriter', () => {
  it('writes kept rows and rejected rows with their reason', async () => {
    const dir = join(await tmp(), 'out');
    const w = createSplitWriter({ dir, format: 'jsonl', rejected: true });
    await w.keep(numbers(0, 3));
    await w.reject(numbers(3, 2), ['filter:c4:lorem', 'dedup:exact']);
    const { kept, rejected } = await w.close();
    expect(kept.map((s) => s.path)).toEqual([join(dir, 'shard-00000-of-00001.jsonl')]);
    expect(rejected.map((s) => s.path)).toEqual([join(dir, 'rejected', 'shard-00000-of-00001.jsonl')]);
    expect(await readFile(rejected[0].path, 'utf8')).toBe(
      '{"id":"doc-3","n":3,"reason":"filter:c4:lorem"}\n{"id":"doc-4","n":4,"reason":"dedup:exact"}\n',
    );
  });

  it('ignores rejected rows unless asked to write them', async () => {
    const dir = join(await tmp(), 'out');
    const w = createSplitWriter({ dir, format: 'jsonl' });
    await w.keep(numbers(0, 1));
    await w.reject(numbers(1, 1), ['x']);
    expect((await w.close()).rejected).toEqual([]);
    expect(existsSync(join(dir, 'rejected'))).toBe(false);
  });
});

describe('prepareOutputDir', () => {
  it('writes in a sibling temp dir and renames it into place on commit', async () => {
    const root = await tmp();
    const dir = join(root, 'out');
    const out = await prepareOutputDir(dir, {});
    expect(out.tmpDir.startsWith(join(root, '.out.tmp-'))).toBe(true);
    await writeFile(join(out.tmpDir, 'manifest.json'), '{}');
    expect(existsSync(dir)).toBe(false);
    await out.commit();
    expect((await readdir(dir)).sort()).toEqual(['.curate-output', 'manifest.json']);
    expect(await readdir(root)).toEqual(['out']);
  });

  it('refuses an existing non-empty dir unless overwrite, and a file path', async () => {
    const root = await tmp();
    const dir = join(root, 'out');
    const first = await prepareOutputDir(dir, {});
    await writeFile(join(first.tmpDir, 'shard-00000-of-00001.jsonl'), 'old');
    await first.commit();
    const err = await rejection(prepareOutputDir(dir, {}));
    expect([err.code, err.file]).toEqual(['E_OUTPUT_EXISTS', dir]);
    const second = await prepareOutputDir(dir, { overwrite: true });
    await writeFile(join(second.tmpDir, 'new.jsonl'), 'new');
    await second.commit();
    expect((await readdir(dir)).sort()).toEqual(['.curate-output', 'new.jsonl']);
    expect(await readdir(root)).toEqual(['out']);
    await writeFile(join(root, 'file'), 'x');
    expect((await rejection(prepareOutputDir(join(root, 'file'), { overwrite: true }))).code).toBe('E_OUTPUT_IS_FILE');
  });

  it('accepts an existing empty dir; abort removes the temp dir', async () => {
    const root = await tmp();
    const dir = join(root, 'out');
    await mkdir(dir);
    const a = await prepareOutputDir(dir, {});
    await writeFile(join(a.tmpDir, 'x.jsonl'), '');
    await a.abort();
    expect(await readdir(root)).toEqual(['out']);
    expect(await readdir(dir)).toEqual([]);
    const b = await prepareOutputDir(dir, {});
    await writeFile(join(b.tmpDir, 'y.jsonl'), '');
    await b.commit();
    expect((await readdir(dir)).sort()).toEqual(['.curate-output', 'y.jsonl']);
    expect(await readdir(root)).toEqual(['out']);
  });
});
