import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readParquetColumns, writeParquetColumns } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'curate-pcols-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function columnsOf(rows: number) {
  const ints = Int32Array.from({ length: rows }, (_, i) => ((i * 7919) % 100003) - 50000);
  const big = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 1_000_000_007n);
  const dbl = Float64Array.from({ length: rows }, (_, i) => i / 3);
  const str = Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : `row ${i}`));
  const bin = Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : Uint8Array.of(i & 255, (i >> 8) & 255)));
  const columns = [
    { name: 'i', type: 'int32' as const, data: ints },
    { name: 'b', type: 'int64' as const, data: big },
    { name: 'd', type: 'double' as const, data: dbl },
    { name: 's', type: 'string' as const, data: str },
    { name: 'y', type: 'binary' as const, data: bin },
  ];
  return { columns, ints, big, dbl, str, bin };
}

describe('readParquetColumns (attribute side files)', () => {
  // 1,000 rows: one row group, its columns handed over as read; 70,000: two row groups, joined
  it.each([1000, 70000])('gives back every value written (%i rows)', async (rows) => {
    const { columns, ints, big, dbl, str, bin } = columnsOf(rows);
    const path = join(dir, `c${rows}.parquet`);
    const { sha256 } = await writeParquetColumns(path, rows, columns);
    const r = await readParquetColumns(path, { sha256 });
    expect(r.rows).toBe(rows);
    expect(r.names).toEqual(['i', 'b', 'd', 's', 'y']);
    expect(Array.from(r.columns.i as ArrayLike<number>)).toEqual(Array.from(ints));
    expect(Array.from(r.columns.b as ArrayLike<bigint>)).toEqual(Array.from(big));
    expect(Array.from(r.columns.d as ArrayLike<number>)).toEqual(Array.from(dbl));
    const s = Array.from(r.columns.s as ArrayLike<Uint8Array | null>, (v) =>
      v === null || v === undefined ? null : Buffer.from(v).toString('utf8'),
    );
    expect(s).toEqual(str);
    const y = Array.from(r.columns.y as ArrayLike<Uint8Array | null>, (v) => (v ? Array.from(v) : null));
    expect(y).toEqual(bin.map((v) => (v ? Array.from(v) : null)));
    // a number column is a typed array (of one row group: the reader's; of two: joined with `set`),
    // never copied into boxed values
    expect(r.columns.i).toBeInstanceOf(Int32Array);
    expect(r.columns.b).toBeInstanceOf(BigInt64Array);
    expect(r.columns.d).toBeInstanceOf(Float64Array);
    expect(r.columns.i.length).toBe(rows);
  });

  it('reads the columns asked for, and refuses a file whose sha256 is not the one expected', async () => {
    const path = join(dir, 'sub.parquet');
    await writeParquetColumns(path, 100, columnsOf(100).columns);
    const r = await readParquetColumns(path, { columns: ['d'] });
    expect(Object.keys(r.columns)).toEqual(['d']);
    await expect(readParquetColumns(path, { sha256: '0'.repeat(64) })).rejects.toThrow(/checksum mismatch/);
  });
});
