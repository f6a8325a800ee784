import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Batch, collect, InputError } from '@curate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createParquetReader, inspectParquet, parquetReader } from '../src/parquet/index.js';
import type { InputFile } from '../src/types.js';
import { type Duck, diffValue, lit, openDuck } from './parquet-helpers.js';

const input = (path: string): InputFile => ({ path, format: 'parquet', size: 0 });

async function readAll(
  path: string,
  options = {},
  reader = parquetReader,
): Promise<{ batches: Batch[]; rows: Record<string, unknown>[] }> {
  const batches = await collect(reader.read(input(path), options));
  const rows: Record<string, unknown>[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const r: Record<string, unknown> = {};
      for (const [n, col] of Object.entries(b.columns)) r[n] = col[i];
      rows.push(r);
    }
  }
  return { batches, rows };
}

async function errorOf(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

const LFS = 'truth-lens-media-bias__data_test-00000-of-00001.parquet';

describe.skipIf(!HAS_SHARED)('parquet reader on real files, checked against DuckDB', () => {
  let duck: Duck;
  let tmp: string;
  beforeAll(async () => {
    duck = await openDuck();
    tmp = mkdtempSync(join(tmpdir(), 'curate-pq-read-'));
  });
  afterAll(() => {
    duck?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const dir = HAS_SHARED ? shared('parquet') : '';
  const files = HAS_SHARED ? readdirSync(dir).filter((f) => f.endsWith('.parquet') && f !== LFS) : [];

  it('finds the real Parquet files', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of files) {
    it(`reads ${name} exactly as DuckDB does (every cell)`, async () => {
      const path = join(dir, name);
      let expected: Record<string, unknown>[];
      try {
        // parquet-testing's 2 GiB string map makes DuckDB work 40 s before failing: skip asking it.
        const huge = (await inspectParquet(path)).rowGroups.some((g) => g.uncompressedBytes > 2 ** 30);
        if (huge) throw new Error('row group over 1 GiB uncompressed: not asked to DuckDB');
        expected = await duck.rows(`SELECT * FROM read_parquet(${lit(path)})`);
      } catch (err) {
        // DuckDB cannot read it (hadoop LZ4, a 2 GB string map): we must fail cleanly or read it.
        const info = await inspectParquet(path);
        try {
          const { rows } = await readAll(path);
          expect(rows.length).toBe(info.rows);
        } catch (ours) {
          expect(ours, String(err)).toBeInstanceOf(InputError);
          expect((ours as InputError).file).toBe(path);
        }
        return;
      }
      const { rows, batches } = await readAll(path, { batchSize: 700 });
      expect(rows.length).toBe(expected.length);
      expect(batches.every((b) => b.file === path && b.length <= 700)).toBe(true);
      const diffs: string[] = [];
      let strings = 0;
      for (let i = 0; i < rows.length && diffs.length < 5; i++) {
        for (const key of Object.keys(expected[i])) {
          if (typeof expected[i][key] === 'string') strings++;
          const d = diffValue(rows[i][key], expected[i][key], `row ${i} ${key}`);
          if (d) diffs.push(d);
        }
      }
      expect(diffs).toEqual([]);
      if (expected.length && Object.values(expected[0]).some((v) => typeof v === 'string')) {
        expect(strings).toBeGreaterThan(0);
      }
    });
  }

  it('reads the Hadoop-LZ4 file DuckDB refuses: 10000 UUID-like strings', async () => {
    const { rows } = await readAll(join(dir, 'parquet-testing__data_hadoop_lz4_compressed_larger.parquet'));
    expect(rows.length).toBe(10000);
    expect(rows.every((r) => typeof r.a === 'string' && /^[0-9a-f-]{36}$/.test(r.a as string))).toBe(true);
  });

  it('refuses a Git LFS pointer with one line naming the file', async () => {
    const path = join(dir, LFS);
    const err = await errorOf(collect(parquetReader.read(input(path), {})));
    expect(err.code).toBe('E_NOT_PARQUET');
    expect(err.file).toBe(path);
    expect(err.toLine()).toBe(`${path}: not a Parquet file (it is a Git LFS pointer: run git lfs pull)`);
    await expect(inspectParquet(path)).rejects.toThrow(/Git LFS pointer/);
  });

  it('refuses a truncated copy of a real file and a non-Parquet file', async () => {
    const src = readFileSync(join(dir, 'duckdb__data_parquet-testing_candidate.parquet'));
    const cut = join(tmp, 'cut.parquet');
    writeFileSync(cut, src.subarray(0, Math.floor(src.length / 2)));
    const e1 = await errorOf(collect(parquetReader.read(input(cut), {})));
    expect(e1.code).toBe('E_TRUNCATED');
    expect(e1.toLine()).toContain(cut);

    const tiny = join(tmp, 'tiny.parquet');
    writeFileSync(tiny, src.subarray(0, 6));
    expect((await errorOf(collect(parquetReader.read(input(tiny), {})))).code).toBe('E_TRUNCATED');

    const empty = join(tmp, 'empty.parquet');
    writeFileSync(empty, '');
    expect((await errorOf(collect(parquetReader.read(input(empty), {})))).code).toBe('E_TRUNCATED');
    expect((await errorOf(collect(parquetReader.read(input(tmp), {})))).code).toBe('E_NOT_PARQUET');
    expect((await errorOf(inspectParquet(join(tmp, 'missing.parquet')))).code).toBe('E_NOT_FOUND');

    const json = join(tmp, 'data.parquet');
    writeFileSync(json, '{"text": "I am JSON"}\n');
    const e2 = await errorOf(collect(parquetReader.read(input(json), {})));
    expect(e2.code).toBe('E_NOT_PARQUET');
    expect(e2.file).toBe(json);

    // a corrupted middle (footer intact) is an InputError too, not a crash
    const mangled = Buffer.from(src);
    mangled.fill(0x55, 4, mangled.length - 20000);
    const bad = join(tmp, 'mangled.parquet');
    writeFileSync(bad, mangled);
    const e3 = await errorOf(collect(parquetReader.read(input(bad), {})));
    expect(e3.file).toBe(bad);
  });

  it('projects columns and names a missing one', async () => {
    const path = join(dir, 'LS_Intro_to_ML_NLP__train-00000-of-00001.parquet');
    const { batches, rows } = await readAll(path, { columns: ['verse_text'] });
    expect(Object.keys(batches[0].columns)).toEqual(['verse_text']);
    expect(rows.length).toBe(892);
    const err = await errorOf(collect(parquetReader.read(input(path), { columns: ['verse_text', 'text'] })));
    expect(err.code).toBe('E_MISSING_COLUMN');
    expect(err.toLine()).toContain(path);
    expect(err.message).toContain('"text"');
  });

  it('keeps unannotated binary as bytes (like DuckDB) unless binaryAsString', async () => {
    const path = join(dir, 'parquet-testing__data_binary_truncated_min_max.parquet');
    const { rows } = await readAll(path);
    expect(rows[0].binary_no_truncation).toBeInstanceOf(Uint8Array);
    expect(typeof rows[0].utf8_no_truncation).toBe('string');
    const asText = await readAll(path, {}, createParquetReader({ binaryAsString: true }));
    expect(asText.rows[0].binary_no_truncation).toBe(asText.rows[0].utf8_no_truncation);
  });

  it('reads a zstd file written by DuckDB, batches never spanning row groups', async () => {
    const path = join(tmp, 'duck.parquet');
    await duck.con.run(
      `COPY (SELECT i AS id, 'doc ' || i || ' ' || repeat('é✓', i % 7) AS text, i * 0.5 AS score, i % 3 = 0 AS flag,
              CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3000000000 END AS big
             FROM range(25000) t(i))
       TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)`,
    );
    const info = await inspectParquet(path);
    expect(info.rowGroups.length).toBeGreaterThan(1);
    expect(info.codecs).toEqual(['ZSTD']);
    const bounds = [0];
    for (const g of info.rowGroups) bounds.push(bounds[bounds.length - 1] + g.rows);
    const { batches, rows } = await readAll(path, { batchSize: 4096 });
    expect(rows.length).toBe(25000);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(4096);
      const g = bounds.findIndex((s, i) => b.offset! >= s && b.offset! < bounds[i + 1]);
      expect(b.offset! + b.length).toBeLessThanOrEqual(bounds[g + 1]);
    }
    expect(batches.map((b) => b.offset)).toEqual(
      batches.map((_, i) => batches.slice(0, i).reduce((s, x) => s + x.length, 0)),
    );
    const expected = await duck.rows(`SELECT * FROM read_parquet(${lit(path)})`);
    for (let i = 0; i < rows.length; i++) {
      const d = diffValue(rows[i], expected[i], `row ${i}`);
      if (d) expect.fail(d);
    }
    expect(rows[7].big).toBe(21000000000);
    expect(typeof rows[7].big).toBe('number');
  });

  it('inspects a real file', async () => {
    const info = await inspectParquet(join(dir, 'duckdb__data_parquet-testing_candidate.parquet'));
    expect(info.rows).toBe(47009);
    expect(info.createdBy).toBe('DuckDB');
    expect(info.columns.map((c) => c.name)).toEqual([
      'election_years',
      'party_affiliations',
      'office_states',
      'id',
      'name',
      'office',
    ]);
    expect(info.columns[0].type).toBe('LIST<INT32/INT_32>');
    expect(info.columns[3].type).toBe('BYTE_ARRAY/UTF8');
    expect(info.rowGroups.reduce((s, g) => s + g.rows, 0)).toBe(47009);
  });

  it('copies are read the same as the original (no path-dependent state)', async () => {
    const a = join(dir, 'parquet-testing__data_delta_byte_array.parquet');
    const b = join(tmp, 'copy.parquet');
    copyFileSync(a, b);
    expect((await readAll(b)).rows).toEqual((await readAll(a)).rows);
  });
});
