/**
 * One conformance suite for every output format and codec: write the same
 * varied batches, read them back with our reader AND with an independent reader
 * (DuckDB for JSONL and Parquet; for Arrow IPC, DuckDB has no reader without a
 * downloadable extension here, so apache-arrow's own reader checks the file and
 * DuckDB checks a Parquet copy made by our Arrow reader).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Batch, batchRows, collect, makeBatch, type Row } from '@curate/core';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ColumnSpec,
  createFileWriter,
  createShardWriter,
  readShard,
  readShards,
  type WriteCompression,
  type WriteFormat,
} from '../src/index.js';
import { type Duck, diff, lit, openDuck } from './duck.js';
import { useTmp } from './helpers.js';

const tmp = useTmp();

const COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'string' },
  { name: 'text', type: 'string' },
  { name: 'n', type: 'int64' },
  { name: 'big', type: 'int64' },
  { name: 'x', type: 'double' },
  { name: 'flag', type: 'boolean' },
  { name: 'meta', type: 'json' },
];

const LONG = 'long text ✓ 長い '.repeat(6500); // ~100 KB of UTF-8
const TEXTS = [
  'plain ascii',
  '',
  null,
  'unicode: héllo wörld — 日本語 — עברית — emoji 🧪👩🏽‍🔬 — combining é',
  'quotes " and \\ backslash, tab\t, newline\n, CR\r, NUL \u0000 and U+2028 \u2028',
  LONG,
  '{"looks":"like json"}',
];

function varied(start: number, n: number): Batch {
  const cols: Record<string, unknown[]> = { id: [], text: [], n: [], big: [], x: [], flag: [], meta: [] };
  for (let k = 0; k < n; k++) {
    const i = start + k;
    cols.id.push(`doc-${i}`);
    cols.text.push(TEXTS[i % TEXTS.length]);
    cols.n.push(
      i % 5 === 4 ? null : [0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER][i % 4] + (i % 4 < 2 ? i : 0),
    );
    cols.big.push(i % 3 === 2 ? null : (i % 2 ? -1n : 1n) * (2n ** 62n + BigInt(i)));
    cols.x.push(i % 6 === 5 ? null : [0.1, -2.5, 1e-300, 1.7976931348623157e308, 3, 123456.789][i % 6]);
    cols.flag.push(i % 3 === 0 ? true : i % 3 === 1 ? false : null);
    cols.meta.push(i % 4 === 3 ? null : { k: `v${i}`, nums: [i, i + 0.5], nested: { ok: i % 2 === 0, s: 'ü' } });
  }
  return makeBatch(cols);
}

const INPUT = [varied(0, 13), varied(13, 1), varied(14, 16)];
const ALL_ROWS = INPUT.flatMap((b) => batchRows(b));

/**
 * What a format gives back for a written row (documented type mappings). `json`
 * columns come back as values everywhere: nested JSON in JSONL, the JSON logical
 * type in Parquet, `arrow.json` extension columns in Arrow.
 */
function expectedRow(row: Row, _format: WriteFormat): Row {
  // bigints beyond 2^53 come back exact from every format: JSONL writes their digits and our
  // reader keeps such integers as bigint; Arrow/Parquet keep int64.
  return { ...row };
}

const CASES: { format: WriteFormat; compression: WriteCompression; ext: string }[] = [
  { format: 'jsonl', compression: 'none', ext: '.jsonl' },
  { format: 'jsonl', compression: 'gzip', ext: '.jsonl.gz' },
  { format: 'jsonl', compression: 'zstd', ext: '.jsonl.zst' },
  { format: 'arrow', compression: 'none', ext: '.arrow' },
  { format: 'arrow', compression: 'zstd', ext: '.arrow' },
  { format: 'parquet', compression: 'snappy', ext: '.parquet' },
  { format: 'parquet', compression: 'zstd', ext: '.parquet' },
];

async function writeFile(format: WriteFormat, compression: WriteCompression, path: string): Promise<void> {
  const w = await createFileWriter(format, path, { columns: COLUMNS, compression, rowGroupRows: 8 });
  for (const b of INPUT) await w.write(b);
  await w.close();
}

/** DuckDB hands JSON columns over as text. */
function parseMeta(r: Row): Row {
  return { ...r, meta: typeof r.meta === 'string' ? JSON.parse(r.meta) : r.meta };
}

function expectSameRows(got: Row[], want: Row[], label: string) {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i], `${label} row ${i}`).toEqual(want[i]);
}

function expectDuckRows(duck: Row[], want: Row[], label: string) {
  expect(duck.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(diff(want[i], duck[i], `${label} row ${i}`)).toBeUndefined();
}

describe('conformance: every writer round-trips through our reader and DuckDB', () => {
  let duck: Duck;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(() => duck?.close());

  for (const c of CASES) {
    it(`${c.format} ${c.compression}`, async () => {
      const path = join(await tmp(), `data${c.ext}`);
      await writeFile(c.format, c.compression, path);
      const want = ALL_ROWS.map((r) => expectedRow(r, c.format));

      const ours = (await collect(readShard(path))).flatMap((b) => batchRows(b));
      expectSameRows(ours, want, `ours ${c.ext}`);

      if (c.format === 'jsonl') {
        const rows = await duck.rows(
          `SELECT * FROM read_json(${lit(path)}, format='newline_delimited', sample_size=-1, columns={id:'VARCHAR', text:'VARCHAR', n:'BIGINT', big:'BIGINT', x:'DOUBLE', flag:'BOOLEAN', meta:'JSON'})`,
        );
        expectDuckRows(rows.map(parseMeta), want, `duckdb ${c.ext}`);
      } else if (c.format === 'parquet') {
        const rows = await duck.rows(`SELECT * FROM read_parquet(${lit(path)})`);
        expectDuckRows(rows.map(parseMeta), want, `duckdb ${c.ext} ${c.compression}`);
        const types = await duck.rows(`SELECT name, type FROM parquet_schema(${lit(path)}) WHERE num_children IS NULL`);
        expect(types.map((t) => t.name)).toEqual(COLUMNS.map((col) => col.name));
      } else {
        // apache-arrow's own reader on our file.
        const table = tableFromIPC(readFileSync(path));
        expect(table.numRows).toBe(want.length);
        const arrowRows = table.toArray().map((r) => r.toJSON());
        expectSameRows(
          arrowRows,
          want.map((r) => ({
            ...r,
            n: r.n === null ? null : BigInt(r.n as number),
            meta: r.meta === null ? null : JSON.stringify(r.meta),
          })),
          'apache-arrow',
        );
        // And DuckDB on a Parquet copy made from what our Arrow reader returns.
        const copy = join(await tmp(), 'copy.parquet');
        const w = await createFileWriter('parquet', copy, { columns: COLUMNS, compression: 'snappy' });
        for await (const b of readShard(path)) await w.write(b);
        await w.close();
        const copied = await duck.rows(`SELECT * FROM read_parquet(${lit(copy)})`);
        expectDuckRows(copied.map(parseMeta), want, 'duckdb arrow->parquet');
      }
    });
  }

  it('shards rotated by rows read back in order through a glob, for every format', async () => {
    for (const c of CASES) {
      const dir = join(await tmp(), 'out');
      const w = createShardWriter({ dir, format: c.format, compression: c.compression, columns: COLUMNS, maxRows: 7 });
      for (const b of INPUT) await w.write(b);
      const shards = await w.close();
      expect(shards.map((s) => s.rows)).toEqual([7, 7, 7, 7, 2]);
      const rows = (await collect(readShards([join(dir, `shard-*${c.ext}`)]))).flatMap((b) => batchRows(b));
      expectSameRows(
        rows,
        ALL_ROWS.map((r) => expectedRow(r, c.format)),
        `${c.format} ${c.compression} shards`,
      );
    }
  });
});
