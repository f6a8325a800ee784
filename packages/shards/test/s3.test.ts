/**
 * s3:// wherever a path is accepted, against a real S3-protocol server (s3rver on 127.0.0.1 behind
 * the fault-injecting proxy of s3-server.ts): globs and listing across pages, every reader, Parquet
 * column pruning over ranged GETs, faults (503 SlowDown, dropped connections, slow answers), and
 * output prefixes with manifest.json as the commit marker.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Batch, collect } from '@curate/core';
import { parquetMetadata } from 'hyparquet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3, type TestS3 } from '../../../tools/test/s3-server.js';
import {
  createShardWriter,
  expandInputs,
  inputReadingOutput,
  prepareOutputDir,
  readShard,
  resetS3Client,
  resetTransferCounts,
  storageFor,
  transferCounts,
  type WriteCompression,
  type WriteFormat,
} from '../src/index.js';
import { rejection } from './helpers.js';

let s3: TestS3;
let local: string;
const saved = { ...process.env };

beforeAll(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env, {
    CURATE_S3_LIST_PAGE: '3',
    CURATE_S3_PART_BYTES: '65536',
    CURATE_S3_RETRY_BASE_MS: '2',
    CURATE_S3_RETRY_MAX_MS: '20',
    CURATE_S3_TIMEOUT_MS: '2000',
  });
  resetS3Client();
  local = await mkdtemp(join(tmpdir(), 'curate-s3-'));
});

afterAll(async () => {
  process.env = saved;
  resetS3Client();
  await s3.stop();
  await rm(local, { recursive: true, force: true });
});

afterEach(() => s3.setFaults({}));

function batch(rows: number, start = 0): Batch {
  const cols: Record<string, unknown[]> = {};
  for (let c = 0; c < 10; c++) {
    cols[`c${c}`] = Array.from(
      { length: rows },
      (_, i) => `col ${c} row ${start + i} ${'x'.repeat(((start + i) * 7 + c) % 50)}`,
    );
  }
  cols.n = Array.from({ length: rows }, (_, i) => start + i);
  return { length: rows, columns: cols };
}

/** Write a local file of `format`, then upload it to `url`. */
async function put(url: string, format: WriteFormat, rows: number, compression?: WriteCompression, name = 'f') {
  const dir = join(local, `${name}-${Math.random().toString(36).slice(2)}`);
  const w = createShardWriter({ dir, format, compression, rowGroupRows: 1000 });
  for (let i = 0; i < rows; i += 1000) await w.write(batch(Math.min(1000, rows - i), i));
  const [shard] = await w.close();
  await storageFor(url).upload(url, shard.path);
  return shard.path;
}

async function rowsOf(path: string, columns?: string[]) {
  const out: unknown[][] = [];
  for await (const b of readShard(path, { columns })) {
    const names = Object.keys(b.columns);
    for (let i = 0; i < b.length; i++) out.push(names.map((n) => b.columns[n][i]));
  }
  return out;
}

describe('inputs on s3://', () => {
  it('expands globs, prefixes and objects, listing page by page, in path order', async () => {
    for (const k of ['a.jsonl', 'b.jsonl', 'c.jsonl', 'd.jsonl', 'sub/e.jsonl', 'notes.txt', '.hidden.jsonl']) {
      await storageFor('s3://test/').writeFile(`s3://test/in/${k}`, '{"text":"x"}\n');
    }
    const glob = await expandInputs(['s3://test/in/*.jsonl']);
    expect(glob.map((f) => f.path)).toEqual(['a', 'b', 'c', 'd'].map((x) => `s3://test/in/${x}.jsonl`));
    const deep = await expandInputs(['s3://test/in/**/*.jsonl']);
    expect(deep.map((f) => f.path)).toContain('s3://test/in/sub/e.jsonl');
    const dir = await expandInputs(['s3://test/in']);
    expect(dir.map((f) => f.path)).toEqual([
      ...['a', 'b', 'c', 'd'].map((x) => `s3://test/in/${x}.jsonl`),
      's3://test/in/sub/e.jsonl',
    ]);
    const one = await expandInputs(['s3://test/in/b.jsonl']);
    expect(one).toEqual([{ path: 's3://test/in/b.jsonl', format: 'jsonl', size: 13 }]);
    const none = await rejection(expandInputs(['s3://test/in/*.parquet']));
    expect(none.code).toBe('E_NO_MATCH');
    const missing = await rejection(expandInputs(['s3://test/nothing-here']));
    expect(missing.code).toBe('E_NOT_FOUND');
    expect((missing as unknown as { toLine(): string }).toLine()).toBe(
      's3://test/nothing-here: file or directory not found',
    );
  });

  it.each([
    ['parquet', undefined],
    ['jsonl', 'none'],
    ['jsonl', 'gzip'],
    ['jsonl', 'zstd'],
    ['arrow', undefined],
  ] as [WriteFormat, WriteCompression | undefined][])(
    'reads %s (%s) from S3 as from disk',
    async (format, compression) => {
      const ext =
        format === 'jsonl'
          ? compression === 'gzip'
            ? '.jsonl.gz'
            : compression === 'zstd'
              ? '.jsonl.zst'
              : '.jsonl'
          : `.${format}`;
      const url = `s3://test/formats/data${ext}`;
      const file = await put(url, format, 2500, compression);
      expect(await rowsOf(url)).toEqual(await rowsOf(file));
    },
  );
});

describe('Parquet over ranged GETs', () => {
  it('fetches only the footer and the used column chunks (2 of 11 columns)', async () => {
    const url = 's3://test/pq/wide.parquet';
    const file = await put(url, 'parquet', 20_000, 'snappy');
    const bytes = await readFile(file);
    const md = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const used = new Set(['c3', 'c7']);
    let usedBytes = 0;
    for (const rg of md.row_groups)
      for (const c of rg.columns)
        if (used.has(c.meta_data?.path_in_schema[0] ?? '')) usedBytes += Number(c.meta_data?.total_compressed_size);
    expect(md.row_groups.length).toBeGreaterThan(1);
    s3.sent.clear();
    resetTransferCounts();
    expect(await rowsOf(url, ['c3', 'c7'])).toEqual(await rowsOf(file, ['c3', 'c7']));
    const fetched = s3.sentTotal('test/pq/wide.parquet');
    expect(transferCounts(url).bytesFetched).toBe(fetched);
    expect(fetched).toBeGreaterThanOrEqual(usedBytes);
    expect(fetched).toBeLessThanOrEqual(1.2 * usedBytes);
    expect(fetched).toBeLessThan(0.3 * bytes.length);
  });
});

describe('faults', () => {
  it('gives the same rows under 10% 503s, dropped connections and slow answers, and counts retries', async () => {
    const pq = 's3://test/faults/a.parquet';
    const js = 's3://test/faults/b.jsonl.gz';
    const pqFile = await put(pq, 'parquet', 8000, 'zstd');
    const jsFile = await put(js, 'jsonl', 8000, 'gzip');
    resetTransferCounts();
    s3.setFaults({ error503: 0.1, drop: 0.1, slow: 0.05, slowMs: 50, seed: 7 });
    expect(await rowsOf(pq)).toEqual(await rowsOf(pqFile));
    expect(await rowsOf(js)).toEqual(await rowsOf(jsFile));
    expect(s3.faultsInjected.error503 + s3.faultsInjected.drop).toBeGreaterThan(0);
    expect(transferCounts('s3://test/faults/').retries).toBeGreaterThan(0);
  });

  it('after the last retry: one line naming the URL', async () => {
    await storageFor('s3://test/x').writeFile('s3://test/faults/down.jsonl', '{"a":1}\n');
    process.env.CURATE_S3_ATTEMPTS = '3';
    resetS3Client();
    try {
      s3.setFaults({ error503: 1 });
      const e = await rejection(collect(readShard('s3://test/faults/down.jsonl')));
      expect(e.code).toBe('E_S3_UNAVAILABLE');
      expect((e as unknown as { toLine(): string }).toLine()).toMatch(
        /^s3:\/\/test\/faults\/down\.jsonl: S3 HEAD failed after 3 attempts: HTTP 503 \(check the endpoint/,
      );
      expect(e.message).not.toContain('\n');
    } finally {
      delete process.env.CURATE_S3_ATTEMPTS;
      resetS3Client();
    }
  });
});

describe('output prefixes on s3://', () => {
  const names = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of storageFor(prefix).list(`${prefix}/`)) out.push(o.path.slice(prefix.length + 1));
    return out;
  };

  async function writeOut(dir: string, rows: number, options: { overwrite?: boolean } = {}) {
    const out = await prepareOutputDir(dir, { ...options, command: 'test' });
    const w = createShardWriter({ dir: out.tmpDir, format: 'parquet', maxRows: 3000 });
    await w.write(batch(rows));
    const shards = await w.close();
    await out.commit();
    return out.finalShards({ kept: shards, rejected: [] }).kept;
  }

  it('uploads shards (multipart), then manifest.json last; same bytes as a local output', async () => {
    const shards = await writeOut('s3://test/out/one', 7000);
    expect(shards.map((s) => s.path)).toEqual(
      [0, 1, 2].map((i) => `s3://test/out/one/shard-0000${i}-of-00003.parquet`),
    );
    expect(await names('s3://test/out/one')).toEqual([
      '.curate-output',
      'manifest.json',
      'shard-00000-of-00003.parquet',
      'shard-00001-of-00003.parquet',
      'shard-00002-of-00003.parquet',
    ]);
    const localDir = join(local, 'same');
    const localOut = await prepareOutputDir(localDir);
    const w = createShardWriter({ dir: localOut.tmpDir, format: 'parquet', maxRows: 3000 });
    await w.write(batch(7000));
    await w.close();
    await localOut.commit();
    for (let i = 0; i < 3; i++) {
      const name = `shard-0000${i}-of-00003.parquet`;
      const remote = await storageFor('s3://x/y').read(`s3://test/out/one/${name}`, 0, 1 << 30);
      expect(Buffer.compare(Buffer.from(remote), await readFile(join(localDir, name)))).toBe(0);
    }
    expect(await s3.openUploads()).toEqual([]);
  });

  it('--overwrite as for local dirs: a complete output needs it, stale shards go, a foreign prefix is refused', async () => {
    await writeOut('s3://test/out/two', 7000);
    const e = await rejection(writeOut('s3://test/out/two', 100));
    expect(e.code).toBe('E_OUTPUT_EXISTS');
    await writeOut('s3://test/out/two', 100, { overwrite: true });
    expect(await names('s3://test/out/two')).toEqual([
      '.curate-output',
      'manifest.json',
      'shard-00000-of-00001.parquet',
    ]);
    await storageFor('s3://test/').writeFile('s3://test/out/theirs/notes.txt', 'mine');
    const f = await rejection(writeOut('s3://test/out/theirs', 10, { overwrite: true }));
    expect(f.code).toBe('E_OUTPUT_FOREIGN');
    const p = await rejection(prepareOutputDir('s3://test/in', { protect: ['s3://test/in/a.jsonl'] }));
    expect(p.code).toBe('E_OUTPUT_PROTECTED');
    expect(await inputReadingOutput(['s3://test/out/**/*.parquet'], 's3://test/out/x', '.parquet')).toBe(
      's3://test/out/**/*.parquet',
    );
  });

  /** Shard files and their bytes in a local directory tree (the staging of a remote output). */
  async function localShards(dir: string): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    // not storageFor(dir).list: a background upload may delete a file between readdir and stat
    for (const name of await readdir(dir)) {
      if (!/\.jsonl$/.test(name)) continue;
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (!st) continue;
      files++;
      bytes += st.size;
    }
    return { files, bytes };
  }

  /** 1 KiB rows of varied text: 100 rows are ~100 KiB of JSONL, above the 64 KiB part size. */
  function kbRows(rows: number, start = 0): Batch {
    const text = Array.from({ length: rows }, (_, i) => `${start + i} ${'abcdefghij'.repeat(100)}`);
    return { length: rows, columns: { id: text.map((_, i) => String(start + i)), text } };
  }

  it('uploads each shard as it completes: local disk holds a few shards, not the output', async () => {
    const out = await prepareOutputDir('s3://test/out/bounded', { command: 'test' });
    const w = createShardWriter({ dir: out.tmpDir, format: 'jsonl', maxRows: 100 });
    let peak = { files: 0, bytes: 0 };
    for (let b = 0; b < 24; b++) {
      await w.write(kbRows(100, b * 100));
      const now = await localShards(out.tmpDir);
      if (now.bytes > peak.bytes) peak = now;
    }
    const shards = await w.close();
    expect(shards.length).toBe(24);
    // 24 shards of ~100 KiB: at most the one being written, two uploading and one waiting for a slot
    expect(peak.files).toBeLessThanOrEqual(4);
    expect(peak.bytes).toBeLessThan(5 * 110_000);
    expect((await localShards(out.tmpDir)).files).toBe(0);
    // final names only (no temporary keys), no manifest before commit
    const before = await names('s3://test/out/bounded');
    expect(before.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(before).not.toContain('manifest.json');
    expect(before).toContain('shard-00023-of-00024.jsonl');
    await out.commit();
    const m = JSON.parse(
      new TextDecoder().decode(await storageFor('s3://x/y').read('s3://test/out/bounded/manifest.json', 0, 1 << 20)),
    );
    expect(m.files.map((f: { path: string }) => f.path)).toContain('shard-00023-of-00024.jsonl');
    // the recorded sha256 and bytes are those of the objects
    const { sha256File } = await import('../src/index.js');
    const s = out.finalShards({ kept: shards, rejected: [] }).kept[5];
    expect(s.path).toBe('s3://test/out/bounded/shard-00005-of-00024.jsonl');
    expect(await sha256File(s.path)).toBe(s.sha256);
    expect((await storageFor(s.path).stat(s.path))?.size).toBe(s.bytes);
    const rows: unknown[] = [];
    for await (const bt of readShard(s.path)) rows.push(...bt.columns.id);
    expect(rows[0]).toBe('500');
    expect(await s3.openUploads()).toEqual([]);
  });

  it('an upload failing mid-run: no manifest.json, no orphaned parts, no objects left; an old output stays complete', async () => {
    process.env.CURATE_S3_ATTEMPTS = '2';
    resetS3Client();
    try {
      // a complete old output at the prefix
      await writeOut('s3://test/out/midrun', 7000);
      const old = await names('s3://test/out/midrun');
      const out = await prepareOutputDir('s3://test/out/midrun', { command: 'test', overwrite: true });
      const w = createShardWriter({ dir: out.tmpDir, format: 'jsonl', maxRows: 100 });
      await w.write(kbRows(300));
      s3.setFaults({ uploadPart503: 1 }); // every part of every later multipart upload fails
      const e = await rejection(async () => {
        for (let b = 3; b < 30; b++) await w.write(kbRows(100, b * 100));
        await w.close();
      });
      expect(e.code).toBe('E_S3_UNAVAILABLE');
      expect(e.message).toMatch(/^S3 UploadPart \d+ failed after 2 attempts: HTTP 503 SlowDown/);
      await w.abort();
      await out.abort();
      s3.setFaults({});
      expect(await s3.openUploads()).toEqual([]);
      // the old output is untouched and complete: nothing of the failed run remains
      expect(await names('s3://test/out/midrun')).toEqual(old);
      // the same on an empty prefix: nothing at all remains
      s3.setFaults({});
      const out2 = await prepareOutputDir('s3://test/out/midrun2', { command: 'test' });
      const w2 = createShardWriter({ dir: out2.tmpDir, format: 'jsonl', maxRows: 100 });
      await w2.write(kbRows(300));
      s3.setFaults({ uploadPart503: 1 });
      await rejection(async () => {
        for (let b = 3; b < 30; b++) await w2.write(kbRows(100, b * 100));
        await w2.close();
      });
      await w2.abort();
      await out2.abort();
      s3.setFaults({});
      expect(await names('s3://test/out/midrun2')).toEqual([]);
      expect(await s3.openUploads()).toEqual([]);
    } finally {
      delete process.env.CURATE_S3_ATTEMPTS;
      resetS3Client();
    }
  });

  it('a prefix without manifest.json is incomplete: replaced without --overwrite; failed uploads leave no parts', async () => {
    await storageFor('s3://test/').writeFile('s3://test/out/partial/.curate-output', '{}');
    await storageFor('s3://test/').writeFile('s3://test/out/partial/shard-00000-of-00009.parquet', 'half');
    await writeOut('s3://test/out/partial', 7000);
    expect(await names('s3://test/out/partial')).toContain('manifest.json');
    expect(await names('s3://test/out/partial')).not.toContain('shard-00000-of-00009.parquet');
    // every request failing during the commit: nothing looks complete, no orphaned parts
    process.env.CURATE_S3_ATTEMPTS = '2';
    resetS3Client();
    try {
      const out = await prepareOutputDir('s3://test/out/failed');
      const w = createShardWriter({ dir: out.tmpDir, format: 'parquet' });
      await w.write(batch(7000));
      await w.close();
      s3.setFaults({ error503: 0.5, seed: 1 });
      const e = await rejection(out.commit());
      expect(e.code).toBe('E_S3_UNAVAILABLE');
      s3.setFaults({});
      expect(await names('s3://test/out/failed')).not.toContain('manifest.json');
      expect(await s3.openUploads()).toEqual([]);
    } finally {
      delete process.env.CURATE_S3_ATTEMPTS;
      resetS3Client();
    }
  });
});
