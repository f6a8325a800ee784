/**
 * Page-at-a-time reading of flat columns (src/parquet/pages.ts): the same
 * batches as hyparquet's whole-row-group read on every real file and on files
 * DuckDB and our writer make, with tiny windows and header budgets that force
 * every retry path; and a first batch that costs a page, not a row group.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Batch, collect, InputError } from '@curate/core';
import { parquetSchema } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createFileWriter } from '../src/formats.js';
import { readDecompressors } from '../src/parquet/codecs.js';
import { createParquetReader } from '../src/parquet/index.js';
import { ColumnPages, flatChunk } from '../src/parquet/pages.js';
import { openParquet } from '../src/parquet/source.js';
import type { InputFile } from '../src/types.js';
import { seededRandom } from './helpers.js';
import { type Duck, lit, openDuck } from './parquet-helpers.js';

const input = (path: string): InputFile => ({ path, format: 'parquet', size: 0 });
const byGroup = createParquetReader({ pages: false });
const byPage = createParquetReader();
const tinyReads = createParquetReader({ pageWindow: 1, pageHeaderBytes: 1 });

async function batches(reader: typeof byPage, path: string, batchSize: number): Promise<Batch[] | InputError> {
  try {
    return await collect(reader.read(input(path), { batchSize }));
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
}

/** Batches as comparable plain data (typed arrays and Uint8Arrays to arrays, Dates to numbers). */
function plain(v: unknown): unknown {
  if (v instanceof InputError) return { error: v.code, file: v.file };
  if (v instanceof Date) return { date: v.getTime() };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (ArrayBuffer.isView(v)) return { bytes: Array.from(v as Uint8Array) };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Equal as JSON; on a difference, the message shows where (not megabytes of text). */
function expectSame(got: unknown, want: unknown, label: string): void {
  const a = JSON.stringify(plain(got));
  const b = JSON.stringify(plain(want));
  if (a === b) return;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  expect(a.slice(Math.max(0, i - 80), i + 80), `${label}: first difference at ${i}`).toBe(
    b.slice(Math.max(0, i - 80), i + 80),
  );
}

async function expectSameBatches(path: string, batchSize: number): Promise<number> {
  const want = await batches(byGroup, path, batchSize);
  expectSame(await batches(byPage, path, batchSize), want, `${path}, batches of ${batchSize}`);
  expectSame(await batches(tinyReads, path, batchSize), want, `${path}, 1-byte reads, batches of ${batchSize}`);
  return Array.isArray(want) ? want.reduce((a, b) => a + b.length, 0) : -1;
}

/** Whether the reader takes the page path for every row group of a file (all columns flat). */
async function allFlat(path: string): Promise<boolean> {
  const pq = await openParquet(path);
  try {
    const schema = parquetSchema(pq.metadata);
    return pq.metadata.row_groups.every((rg) =>
      schema.children.every((c) => flatChunk(schema, rg.columns, c.element.name) !== undefined),
    );
  } finally {
    await pq.close();
  }
}

let tmp: string;
let duck: Duck;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'curate-pq-pages-'));
  duck = await openDuck();
});
afterAll(() => {
  duck?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!HAS_SHARED)('page reads on the real Parquet files', () => {
  const dir = HAS_SHARED ? shared('parquet') : '';
  // parquet-testing's 2 GiB string map is a map column (never read by pages) that takes ~3 s a read
  const files = HAS_SHARED
    ? readdirSync(dir).filter((f) => f.endsWith('.parquet') && !f.includes('large_string_map'))
    : [];
  for (const name of files) {
    it(`${name}: same batches as the row-group read`, async () => {
      const path = join(dir, name);
      for (const size of [7, 2048]) await expectSameBatches(path, size);
    });
  }

  it('covers flat files with dictionaries, many pages, v2 pages, delta encodings and every codec', async () => {
    const flat = [];
    for (const f of files) if (!f.startsWith('truth-lens') && (await allFlat(join(dir, f)))) flat.push(f);
    for (const f of [
      'duckdb__data_parquet-testing_dictionary_multipage.parquet',
      'parquet-testing__data_delta_byte_array.parquet',
      'parquet-testing__data_lz4_raw_compressed_larger.parquet',
      'parquet-testing__data_hadoop_lz4_compressed_larger.parquet',
      'LS_Intro_to_ML_NLP__train-00000-of-00001.parquet',
      'hyparquet__test_files_page_index.parquet',
    ])
      expect(flat).toContain(f);
    expect(flat.length).toBeGreaterThanOrEqual(9);
  });
});

describe('page reads on files DuckDB and our writer make', () => {
  it('DuckDB: nulls, ints beyond 2^53, doubles, dates, binary, dictionaries, several row groups; and nested columns (row-group path)', async () => {
    const path = join(tmp, 'duck.parquet');
    await duck.con.run(
      `COPY (SELECT i AS id,
          CASE WHEN i % 7 = 0 THEN NULL ELSE 'text number ' || i || repeat(' word', i % 50) END AS text,
          CASE WHEN i % 3 = 0 THEN NULL ELSE i * 9007199254 END AS big,
          i / 3.0 AS score, DATE '2020-01-01' + (i % 400)::INT AS day,
          ('cat' || (i % 5)) AS category, encode('b' || i) AS raw
        FROM range(20000) t(i)) TO ${lit(path)} (FORMAT parquet, ROW_GROUP_SIZE 4096, COMPRESSION zstd)`,
    );
    expect(await allFlat(path)).toBe(true);
    expect(await expectSameBatches(path, 1000)).toBe(20000);
    await expectSameBatches(path, 4097);

    const nested = join(tmp, 'nested.parquet');
    await duck.con.run(
      `COPY (SELECT i AS id, 'row ' || i AS text, [i, i + 1] AS pair, {'a': i, 'b': 'x' || i} AS st
        FROM range(5000) t(i)) TO ${lit(nested)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
    );
    expect(await allFlat(nested)).toBe(false);
    expect(await expectSameBatches(nested, 999)).toBe(5000);
    // asking only for the flat columns of a nested file takes the page path
    const cols = { batchSize: 999, columns: ['text', 'id'] };
    expectSame(
      await collect(byPage.read(input(nested), cols)),
      await collect(byGroup.read(input(nested), cols)),
      'flat columns of a nested file',
    );
  });

  it.skipIf(!HAS_SHARED)(
    'one 1-page-per-MiB row group of real text: the first batch reads about one page, not the group',
    async () => {
      // ~2 KB passages of Gutenberg books in one row group, as pyarrow or Spark write big groups
      const words = (
        JSON.parse(
          readFileSync(shared('real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl'), 'utf8').split('\n')[0],
        ).text as string
      ).split(/\s+/);
      const texts: string[] = [];
      for (let i = 0; texts.length < 6000; i = (i + 350) % Math.max(1, words.length - 350))
        texts.push(`${texts.length} ${words.slice(i, i + 350).join(' ')}`);
      const path = join(tmp, 'big-group.parquet');
      const w = await createFileWriter('parquet', path, {
        columns: [
          { name: 'id', type: 'int64' },
          { name: 'text', type: 'string' },
        ],
        compression: 'snappy',
        rowGroupRows: 1_000_000,
      });
      await w.write({ length: texts.length, columns: { id: texts.map((_, i) => i), text: texts } });
      await w.close();
      expect(await expectSameBatches(path, 512)).toBe(6000);

      const pq = await openParquet(path);
      try {
        expect(pq.metadata.row_groups.length).toBe(1);
        const schema = parquetSchema(pq.metadata);
        const chunk = flatChunk(schema, pq.metadata.row_groups[0].columns, 'text')!;
        const chunkBytes = Number(chunk.meta_data!.total_compressed_size);
        expect(chunkBytes).toBeGreaterThan(5e6);
        const pages = new ColumnPages(
          pq.buffer,
          schema,
          chunk,
          { compressors: readDecompressors(), parsers: {}, utf8: false },
          (d) => Array.from(d as ArrayLike<unknown>),
        );
        const first = await pages.take(100);
        expect(first[0]).toBe(texts[0]);
        expect(first[99]).toBe(texts[99]);
        // one window (1 MiB) holds the first page: a small share of the chunk was read
        expect(pages.bytesRead).toBeLessThanOrEqual(1 << 20);
        expect(pages.bytesRead / chunkBytes).toBeLessThan(0.25);
        const rest = await pages.take(10_000);
        expect(rest.length).toBe(5900);
        expect(rest[5899]).toBe(texts[5999]);
        expect(pages.bytesRead).toBeGreaterThanOrEqual(chunkBytes - 8);
      } finally {
        await pq.close();
      }
    },
  );
});

describe.skipIf(!HAS_SHARED)('corrupt bytes in real Parquet files', () => {
  // 150 random 1-4 byte corruptions of each file (a fixed seed): every read either succeeds or is an
  // InputError naming the file, in both read modes; never another error, a hang or an unhandled
  // rejection (a duplicated column chunk in the footer once made hyparquet drop a failing read)
  for (const name of [
    'parquet-testing__data_datapage_v2.snappy.parquet',
    'LS_Intro_to_ML_NLP__train-00000-of-00001.parquet',
    'duckdb__data_parquet-testing_dictionary_multipage.parquet',
  ]) {
    it(name, async () => {
      const { writeFileSync } = await import('node:fs');
      const src = readFileSync(shared('parquet', name));
      const path = join(tmp, `fuzz-${name}`);
      const rnd = seededRandom(7);
      const outcomes: Record<string, number> = {};
      for (let t = 0; t < 150; t++) {
        const b = Buffer.from(src);
        const n = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < n; k++) b[4 + Math.floor(rnd() * (b.length - 16))] = Math.floor(rnd() * 256);
        writeFileSync(path, b);
        for (const reader of [byPage, byGroup]) {
          const r = await batches(reader, path, 1000);
          if (r instanceof InputError) expect(r.file).toBe(path);
          const k = r instanceof InputError ? r.code : 'read';
          outcomes[k] = (outcomes[k] ?? 0) + 1;
        }
      }
      expect(Object.keys(outcomes).every((k) => k === 'read' || k.startsWith('E_'))).toBe(true);
      expect(outcomes.read).toBeGreaterThan(0);
    }, 120_000);
  }
});
