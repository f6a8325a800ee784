import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Batch, collect, InputError } from '@curate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParquetFileWriter, inspectParquet, parquetReader } from '../src/parquet/index.js';
import type { ColumnSpec } from '../src/types.js';
import { utf8Text } from '../src/utf8-text.js';
import { type Duck, diffValue, lit, openDuck } from './parquet-helpers.js';

const COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'string' },
  { name: 'text', type: 'string' },
  { name: 'n', type: 'int64' },
  { name: 'score', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'meta', type: 'json' },
];

const SPECIAL = [
  '',
  'plain ascii',
  'emoji 😀 family 👩‍👩‍👧‍👦 flag 🏳️‍🌈',
  'CJK 漢字かな交じり文 한국어 中文',
  'RTL שלום עולם مرحبا بالعالم',
  'controls \u0001\u0002\t\n\r\u001b\u007f\u001f end',
  'combining e\u0301 and zero width\u200bjoiner',
  '\uFEFFbom first',
  'x'.repeat(1 << 20), // 1 MiB string
  `long unicode ${'é✓😀'.repeat(50000)}`,
];
const INTS = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53 - 1), 4_000_000_000];
const BIGS = [2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n];
const DOUBLES = [0, -1.5, Math.PI, 1e300, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, 123456789.125];

/** Deterministic rows covering every edge case, with nulls in every column. */
function makeRows(count: number, seed: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const k = i + seed;
    rows.push({
      id: `doc-${k}`,
      text:
        k % 13 === 5
          ? null
          : k % 17 < SPECIAL.length && k % 3 === 0
            ? SPECIAL[k % 17]
            : `row ${k} ${'abc '.repeat(k % 50)}`,
      n: k % 11 === 3 ? null : k % 19 < BIGS.length ? BIGS[k % 19] : INTS[k % INTS.length] * (k % 2 ? 1 : -1) || k,
      score: k % 7 === 2 ? null : DOUBLES[k % DOUBLES.length],
      ok: k % 5 === 4 ? null : k % 2 === 0,
      meta: k % 9 === 1 ? null : { k, tags: ['a', `t${k % 4}`], nested: { x: k / 2, s: '漢😀' } },
    });
  }
  return rows;
}

function toBatch(rows: Record<string, unknown>[], offset = 0): Batch {
  const columns: Record<string, unknown[]> = {};
  for (const c of COLUMNS) columns[c.name] = rows.map((r) => r[c.name]);
  return { length: rows.length, columns, file: 'input.jsonl', offset };
}

/**
 * What DuckDB's JS client should return for a row we wrote: json as its text,
 * int64 as bigint; the client drops a leading U+FEFF when it converts to JS, so
 * the exact bytes of `text` are checked separately with md5 inside DuckDB.
 */
function expectedForDuck(r: Record<string, unknown>): Record<string, unknown> {
  return {
    ...r,
    text: typeof r.text === 'string' ? r.text.replace(/^\uFEFF/, '') : r.text,
    n: r.n == null ? null : BigInt(r.n as number | bigint),
    meta: r.meta == null ? null : JSON.stringify(r.meta),
  };
}

describe('parquet writer round-trips through DuckDB', () => {
  let duck: Duck;
  let tmp: string;
  beforeAll(async () => {
    duck = await openDuck();
    tmp = mkdtempSync(join(tmpdir(), 'curate-pq-write-'));
  });
  afterAll(() => {
    duck?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const compression of ['snappy', 'zstd', 'none', 'gzip'] as const) {
    it(`${compression}: DuckDB and our reader read back every value, in several row groups`, async () => {
      const path = join(tmp, `rt-${compression}.parquet`);
      const w = await createParquetFileWriter(path, { columns: COLUMNS, compression, rowGroupRows: 700 });
      const all: Record<string, unknown>[] = [];
      let lastBytes = 0;
      for (const [size, seed] of [
        [500, 0],
        [1200, 500],
        [1, 1700],
        [330, 1701],
      ]) {
        const rows = makeRows(size, seed);
        await w.write(toBatch(rows, all.length));
        all.push(...rows);
        expect(w.bytes).toBeGreaterThanOrEqual(lastBytes);
        lastBytes = w.bytes;
      }
      // row groups already on disk before close: the writer streams (the latest group may still be in flight)
      expect(statSync(path).size).toBeGreaterThan(1000);
      await w.close();
      expect(w.bytes).toBe(statSync(path).size);

      const got = await duck.rows(`SELECT * FROM read_parquet(${lit(path)})`);
      expect(got.length).toBe(all.length);
      for (let i = 0; i < all.length; i++) {
        const d = diffValue(got[i], expectedForDuck(all[i]), `row ${i}`);
        if (d) expect.fail(d);
      }
      const md5 = await duck.rows(`SELECT md5(text) AS h FROM read_parquet(${lit(path)})`);
      for (let i = 0; i < all.length; i++) {
        const t = all[i].text as string | null;
        expect(md5[i].h, `row ${i} md5`).toBe(t == null ? null : createHash('md5').update(t, 'utf8').digest('hex'));
      }
      const groups = await duck.rows(
        `SELECT row_group_id, any_value(row_group_num_rows) AS n, any_value(compression) AS codec
         FROM parquet_metadata(${lit(path)}) GROUP BY row_group_id ORDER BY row_group_id`,
      );
      expect(groups.map((g) => Number(g.n))).toEqual([700, 700, 631]);
      expect(new Set(groups.map((g) => g.codec))).toEqual(
        new Set([compression === 'none' ? 'UNCOMPRESSED' : compression.toUpperCase()]),
      );
      const types = await duck.rows(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`);
      expect(types.map((t) => t.column_type)).toEqual(['VARCHAR', 'VARCHAR', 'BIGINT', 'DOUBLE', 'BOOLEAN', 'JSON']);

      // our own reader: same values; json parsed back, int64 as numbers when safe
      const batches = await collect(parquetReader.read({ path, format: 'parquet', size: 0 }, { batchSize: 500 }));
      expect(batches.reduce((s, b) => s + b.length, 0)).toBe(all.length);
      for (const b of batches) {
        for (let i = 0; i < b.length; i++) {
          const want = all[b.offset! + i];
          for (const c of COLUMNS) {
            const d = diffValue(b.columns[c.name][i], want[c.name], `row ${b.offset! + i} ${c.name}`);
            if (d) expect.fail(d);
          }
        }
      }
    });
  }

  it('sizes row groups by bytes (~32 MiB) when rowGroupRows is not given', async () => {
    const path = join(tmp, 'bybytes.parquet');
    const w = await createParquetFileWriter(path, { columns: [{ name: 'text', type: 'string' }], compression: 'zstd' });
    const para = 'The quick brown fox jumps over the lazy dog. '.repeat(45); // ~2 KB
    for (let b = 0; b < 10; b++) {
      const text = Array.from({ length: 4000 }, (_, i) => `${b}-${i} ${para}`);
      await w.write({ length: text.length, columns: { text } });
    }
    await w.close();
    const info = await inspectParquet(path);
    expect(info.rows).toBe(40000);
    expect(info.rowGroups.length).toBe(3);
    expect(info.rowGroups[0].uncompressedBytes).toBeGreaterThan(30 * 2 ** 20);
    expect(info.rowGroups[0].uncompressedBytes).toBeLessThan(40 * 2 ** 20);
    const [{ n }] = await duck.rows(`SELECT count(*) AS n FROM read_parquet(${lit(path)}) WHERE text LIKE '9-3999 %'`);
    expect(Number(n)).toBe(1);
  });

  it('writes a Utf8Text (text already encoded) exactly as the string it encodes, row groups cut at the same rows', async () => {
    // by rows, every edge case of makeRows (emoji, CJK, a BOM, 1 MiB strings), and by bytes (~32 MiB
    // groups) with non-ASCII text, where UTF-8 bytes and UTF-16 lengths differ
    const cases: [string, Record<string, unknown>[][], number | undefined][] = [
      ['rows', [makeRows(900, 0), makeRows(800, 900)], 700],
      [
        'bytes',
        Array.from({ length: 6 }, (_, b) =>
          Array.from({ length: 4000 }, (_, i) => ({ id: `${b}-${i}`, text: `${b}-${i} ${'é✓ fox 😀 '.repeat(150)}` })),
        ),
        undefined,
      ],
    ];
    for (const [name, batches, rowGroupRows] of cases) {
      const asString = join(tmp, `utf8-${name}-string.parquet`);
      const asBytes = join(tmp, `utf8-${name}-bytes.parquet`);
      for (const [path, bytes] of [
        [asString, false],
        [asBytes, true],
      ] as const) {
        const w = await createParquetFileWriter(path, { columns: COLUMNS, compression: 'zstd', rowGroupRows });
        let offset = 0;
        for (const rows of batches) {
          const batch = toBatch(rows, offset);
          if (bytes) {
            batch.columns.text = batch.columns.text.map((t) => {
              if (typeof t !== 'string') return t;
              const b = Buffer.from(`..${t}..`, 'utf8'); // a view inside a larger buffer
              return utf8Text(b, 2, b.length - 2, t.length);
            });
          }
          await w.write(batch);
          offset += rows.length;
        }
        await w.close();
      }
      const a = await readFile(asString);
      const b = await readFile(asBytes);
      expect(b.equals(a), name).toBe(true);
      if (name === 'bytes') expect((await inspectParquet(asBytes)).rowGroups.length).toBe(2);
    }
  });

  it('writes an empty file DuckDB reads as zero rows with the schema', async () => {
    const path = join(tmp, 'empty.parquet');
    const w = await createParquetFileWriter(path, { columns: COLUMNS, compression: 'zstd' });
    await w.close();
    const [{ n }] = await duck.rows(`SELECT count(*) AS n FROM read_parquet(${lit(path)})`);
    expect(Number(n)).toBe(0);
    expect((await inspectParquet(path)).columns.map((c) => c.name)).toEqual(COLUMNS.map((c) => c.name));
    expect(await collect(parquetReader.read({ path, format: 'parquet', size: 0 }, {}))).toEqual([]);
  });

  it('fills absent columns with nulls and rejects a wrong type naming file, row and column', async () => {
    const path = join(tmp, 'types.parquet');
    const w = await createParquetFileWriter(path, { columns: COLUMNS, compression: 'snappy' });
    await w.write({ length: 2, columns: { id: ['a', 'b'] } });
    await expect(
      w.write({ length: 3, columns: { id: ['c', 'd', 'e'], n: [1, 2.5, 3] }, file: 'in.jsonl', offset: 10 }),
    ).rejects.toSatisfy((e: unknown) => {
      const err = e as InputError;
      return (
        err instanceof InputError &&
        err.code === 'E_COLUMN_TYPE' &&
        err.toLine().startsWith('in.jsonl: row 12: column "n"')
      );
    });
    await expect(w.write({ length: 1, columns: { n: [2n ** 63n] } })).rejects.toThrow(/column "n" is int64/);
    await expect(w.write({ length: 1, columns: { n: [1e20] } })).rejects.toThrow(/column "n" is int64/);
    await w.close();
    const got = await duck.rows(`SELECT * FROM read_parquet(${lit(path)})`);
    expect(got.length).toBe(2);
    expect(got[0]).toEqual({ id: 'a', text: null, n: null, score: null, ok: null, meta: null });
  });

  it('reads back a DuckDB zstd file written from the same rows identically', async () => {
    // DuckDB writes, we read: the other direction of the round trip
    const path = join(tmp, 'duck-written.parquet');
    await duck.con.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${lit(join(tmp, 'rt-zstd.parquet'))})`);
    await duck.con.run(`COPY t TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd)`);
    const want = makeRows(500, 0).concat(makeRows(1200, 500), makeRows(1, 1700), makeRows(330, 1701));
    const batches = await collect(parquetReader.read({ path, format: 'parquet', size: 0 }, {}));
    let i = 0;
    for (const b of batches) {
      for (let r = 0; r < b.length; r++, i++) {
        for (const c of COLUMNS) {
          const d = diffValue(b.columns[c.name][r], want[i][c.name], `row ${i} ${c.name}`);
          if (d) expect.fail(d);
        }
      }
    }
    expect(i).toBe(want.length);
  });
});
