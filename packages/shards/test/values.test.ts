/**
 * Values and column names that used to change silently (issue 19.3, 19.5, 19.12): every case
 * either round-trips exactly through every format or is refused naming the file and row.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Batch, collect, dict, InputError } from '@curate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFileWriter,
  createShardWriter,
  createSplitWriter,
  inferColumns,
  inspectShard,
  readShard,
  type WriteFormat,
} from '../src/index.js';
import { type Duck, lit, openDuck } from './duck.js';
import { entries, rejection, useTmp } from './helpers.js';

const tmp = useTmp();
let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());

const EXT: Record<WriteFormat, string> = { jsonl: '.jsonl', parquet: '.parquet', arrow: '.arrow' };

/** `curate convert`: every batch of `input` through a widening shard writer; the one shard written. */
async function convert(input: string, format: WriteFormat): Promise<string> {
  const dir = await tmp();
  const w = createShardWriter({ dir, format, widen: true });
  for await (const b of readShard(input)) await w.write(b);
  const [shard] = await w.close();
  return shard.path;
}

async function writeOne(format: WriteFormat, batch: Batch): Promise<string> {
  const path = join(await tmp(), `x${EXT[format]}`);
  const w = await createFileWriter(format, path, { columns: inferColumns(batch), compression: 'none' });
  await w.write(batch);
  await w.close();
  return path;
}

const ODD = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'null'];

/** The one line the CLI prints for an error: `file: row N: message`. */
function line(err: unknown): string {
  return (err as InputError).toLine();
}

describe('column names JavaScript objects treat specially (19.3)', () => {
  it('a DuckDB Parquet file with __proto__, constructor, toString, hasOwnProperty and null columns keeps them all through every format', async () => {
    const src = join(await tmp(), 'odd.parquet');
    const select = ODD.map((n, i) => `'v${i}' AS "${n}"`).join(', ');
    await duck.rows(`COPY (SELECT ${select}) TO ${lit(src)} (FORMAT parquet)`);
    const want = [ODD.map((n, i) => [n, `v${i}`])];
    expect(await entries(src)).toEqual(want);
    for (const format of ['jsonl', 'parquet', 'arrow'] as const) {
      const out = await convert(src, format);
      expect(await entries(out), format).toEqual(want);
      // and back through every other format
      for (const again of ['jsonl', 'parquet', 'arrow'] as const) {
        expect(await entries(await convert(out, again)), `${format} -> ${again}`).toEqual(want);
      }
    }
  });

  it('an empty column name and one named "null" stay two columns in every format (Arrow lost one)', async () => {
    const src = join(await tmp(), 'empty.jsonl');
    await writeFile(src, '{"":"empty","null":"nul","__proto__":"p"}\n');
    const want = [
      [
        ['', 'empty'],
        ['null', 'nul'],
        ['__proto__', 'p'],
      ],
    ];
    for (const format of ['jsonl', 'parquet', 'arrow'] as const) {
      const out = await convert(src, format);
      expect(await entries(out), format).toEqual(want);
      for (const again of ['jsonl', 'parquet', 'arrow'] as const)
        expect(await entries(await convert(out, again)), `${format} -> ${again}`).toEqual(want);
    }
  });

  it('rejected rows (filter/dedup/decontam --out DIR/rejected) and inspect samples keep a __proto__ column', async () => {
    const src = join(await tmp(), 'odd.jsonl');
    await writeFile(src, '{"__proto__":"p","text":"t"}\n');
    const [batch] = await collect(readShard(src));
    const dir = await tmp();
    const w = createSplitWriter({ dir, format: 'jsonl', rejected: true });
    await w.reject(batch, ['filter:x']);
    const { rejected } = await w.close();
    expect(await readFile(rejected[0].path, 'utf8')).toBe('{"__proto__":"p","text":"t","reason":"filter:x"}\n');
    const info = await inspectShard(src, { sample: 1 });
    expect(Object.keys(info.sample[0])).toEqual(['__proto__', 'text']);
  });

  it('a JSONL row without "toString" reads null for a requested toString column, not Object.prototype.toString', async () => {
    const p = join(await tmp(), 'a.jsonl');
    await writeFile(p, '{"toString":"mine","a":1}\n{"a":2}\n');
    const [b] = await collect(readShard(p, { columns: ['toString', 'a'] }));
    expect(b.columns.toString).toEqual(['mine', null]);
  });

  it('batch columns and nested objects from every reader keep a __proto__ key as data', async () => {
    const p = join(await tmp(), 'a.jsonl');
    await writeFile(p, '{"__proto__":{"__proto__":1,"x":[{"__proto__":2}]}}\n');
    for (const format of ['jsonl', 'parquet', 'arrow'] as const) {
      const out = await convert(p, format);
      const [[[name, value]]] = await entries(out);
      expect(name).toBe('__proto__');
      expect(JSON.stringify(value), format).toBe('{"__proto__":1,"x":[{"__proto__":2}]}');
    }
  });
});

describe('lossy values (19.5)', () => {
  it('JSON integers beyond 2^53 stay exact (bigint) through JSONL, Parquet and Arrow, and DuckDB reads the same digits', async () => {
    const p = join(await tmp(), 'ids.jsonl');
    const text =
      '{"id":1234567890123456789,"neg":-9007199254740993,"nested":{"id":9223372036854775807,"list":[9007199254740993]}}\n';
    await writeFile(p, text);
    const [b] = await collect(readShard(p));
    expect(b.columns.id).toEqual([1234567890123456789n]);
    expect(b.columns.neg).toEqual([-9007199254740993n]);
    expect(b.columns.nested).toEqual([{ id: 9223372036854775807n, list: [9007199254740993n] }]);
    const asJsonl = await convert(p, 'jsonl');
    expect(await readFile(asJsonl, 'utf8')).toBe(text);
    const pq = await convert(p, 'parquet');
    const [row] = await duck.rows(
      `SELECT id::VARCHAR AS id, neg::VARCHAR AS neg, to_json(nested)::VARCHAR AS nested FROM read_parquet(${lit(pq)})`,
    );
    expect(row).toEqual({
      id: '1234567890123456789',
      neg: '-9007199254740993',
      nested: '{"id":9223372036854775807,"list":[9007199254740993]}',
    });
    for (const f of [pq, await convert(p, 'arrow'), await convert(pq, 'arrow')]) {
      expect(await readFile(await convert(f, 'jsonl'), 'utf8'), f).toBe(text);
    }
  });

  it('an integer beyond int64 is kept as an exact JSON number, not refused or rounded', async () => {
    const p = join(await tmp(), 'huge.jsonl');
    await writeFile(p, '{"n":123456789012345678901234567890}\n');
    for (const format of ['jsonl', 'parquet', 'arrow'] as const) {
      expect(await readFile(await convert(await convert(p, format), 'jsonl'), 'utf8'), format).toBe(
        '{"n":123456789012345678901234567890}\n',
      );
    }
  });

  it('a number beyond the double range (1e400) is refused naming file and row, not turned into null', async () => {
    const p = join(await tmp(), 'inf.jsonl');
    await writeFile(p, '{"x":1}\n{"x":1e400}\n');
    const err = await rejection(collect(readShard(p)));
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('E_JSON_NUMBER');
    expect(line(err)).toBe(`${p}: row 2: a number beyond the range of a double (±1.8e308) would become Infinity`);
    await writeFile(p, '{"x":{"deep":[-1e999]}}\n');
    expect((await rejection(collect(readShard(p)))).code).toBe('E_JSON_NUMBER');
  });

  it('NaN and Infinity (e.g. from a Parquet DOUBLE) are refused by the JSONL writer naming file, row and column', async () => {
    const src = join(await tmp(), 'nan.parquet');
    await duck.rows(`COPY (SELECT * FROM (VALUES (1.5), ('nan'::DOUBLE)) t(x)) TO ${lit(src)} (FORMAT parquet)`);
    const err = await rejection(convert(src, 'jsonl'));
    expect(err.code).toBe('E_JSON_NUMBER');
    expect(line(err)).toBe(`${src}: row 2: column "x": NaN has no JSON form, so JSONL cannot hold it`);
    // Parquet and Arrow hold them
    for (const format of ['parquet', 'arrow'] as const) {
      const vals = (await entries(await convert(src, format))).map((r) => r[0][1]);
      expect(vals).toEqual([1.5, Number.NaN]);
    }
  });

  it('-0 keeps its sign: a double column in every format, -0.0 in JSONL, DuckDB reads -0.0', async () => {
    const p = join(await tmp(), 'z.jsonl');
    await writeFile(p, '{"z":-0}\n{"z":1}\n');
    const [b] = await collect(readShard(p));
    expect(Object.is(b.columns.z[0], -0)).toBe(true);
    expect(inferColumns(b)).toEqual([{ name: 'z', type: 'double' }]);
    const pq = await convert(p, 'parquet');
    expect(await duck.rows(`SELECT z::VARCHAR AS z FROM read_parquet(${lit(pq)})`)).toEqual([
      { z: '-0.0' },
      { z: '1.0' },
    ]);
    for (const f of [pq, await convert(p, 'arrow'), await convert(p, 'jsonl')]) {
      expect(await readFile(await convert(f, 'jsonl'), 'utf8'), f).toBe('{"z":-0.0}\n{"z":1.0}\n');
    }
    const nested = await writeOne('jsonl', { length: 1, columns: { m: [{ z: -0 }] } });
    expect(await readFile(nested, 'utf8')).toBe('{"m":{"z":-0}}\n');
  });

  it('a float column whose values are whole (1.0, 2.0) stays DOUBLE: from JSONL tokens and from Parquet/Arrow schemas', async () => {
    const p = join(await tmp(), 'f.jsonl');
    await writeFile(p, '{"score":1.0,"n":1}\n{"score":2e0,"n":2}\n');
    const [b] = await collect(readShard(p));
    expect(inferColumns(b)).toEqual([
      { name: 'score', type: 'double' },
      { name: 'n', type: 'int64' },
    ]);
    const pq = await convert(p, 'parquet');
    const types = await duck.rows(`SELECT name, type FROM parquet_schema(${lit(pq)}) WHERE num_children IS NULL`);
    expect(types).toEqual([
      { name: 'score', type: 'DOUBLE' },
      { name: 'n', type: 'INT64' },
    ]);
    // Parquet -> Parquet, Parquet -> Arrow -> Parquet and JSONL -> JSONL keep the type
    for (const f of [await convert(pq, 'parquet'), await convert(await convert(pq, 'arrow'), 'parquet')]) {
      const t = await duck.rows(`SELECT name, type FROM parquet_schema(${lit(f)}) WHERE num_children IS NULL`);
      expect(t, f).toEqual(types);
    }
    expect(await readFile(await convert(p, 'jsonl'), 'utf8')).toBe('{"score":1.0,"n":1}\n{"score":2.0,"n":2}\n');
    expect(
      await duck.rows(`SELECT typeof(score) AS t FROM read_json(${lit(await convert(pq, 'jsonl'))}) LIMIT 1`),
    ).toEqual([{ t: 'DOUBLE' }]);
  });

  it('an all-null Parquet column keeps its declared type', async () => {
    const src = join(await tmp(), 'nulls.parquet');
    await duck.rows(
      `COPY (SELECT NULL::BIGINT AS n, NULL::DOUBLE AS x, NULL::BOOLEAN AS b) TO ${lit(src)} (FORMAT parquet)`,
    );
    const out = await convert(src, 'parquet');
    expect(await duck.rows(`SELECT name, type FROM parquet_schema(${lit(out)}) WHERE num_children IS NULL`)).toEqual([
      { name: 'n', type: 'INT64' },
      { name: 'x', type: 'DOUBLE' },
      { name: 'b', type: 'BOOLEAN' },
    ]);
  });

  it('a lone surrogate round-trips in JSONL and is refused by Parquet and Arrow naming file and row (UTF-8 cannot hold it)', async () => {
    const p = join(await tmp(), 's.jsonl');
    await writeFile(p, '{"t":"ok"}\n{"t":"a\\ud800b"}\n{"t":"pair \\ud83d\\ude00"}\n');
    const [b] = await collect(readShard(p));
    expect(b.columns.t[1]).toBe('a\ud800b');
    expect(await readFile(await convert(p, 'jsonl'), 'utf8')).toBe('{"t":"ok"}\n{"t":"a\\ud800b"}\n{"t":"pair 😀"}\n');
    for (const format of ['parquet', 'arrow'] as const) {
      const err = await rejection(convert(p, format));
      expect(err.code, format).toBe('E_LONE_SURROGATE');
      expect(line(err), format).toBe(
        `${p}: row 2: column "t" has a string with a lone surrogate (\\ud800 at character 1), which UTF-8 cannot hold (it would become U+FFFD)`,
      );
    }
    // inside a JSON value it is escaped, so it survives everywhere
    await writeFile(p, '{"m":{"t":"a\\udc00"}}\n');
    for (const format of ['parquet', 'arrow'] as const) {
      expect((await entries(await convert(p, format)))[0][0][1], format).toEqual({ t: 'a\udc00' });
    }
  });
});

describe('deep nesting (19.12)', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

  it('a JSONL line nested deeper than 1000 levels is refused naming file and row, not a stack overflow', async () => {
    const p = join(await tmp(), 'deep.jsonl');
    await writeFile(p, `{"ok":${deep(999)}}\n{"x":${deep(5000)}}\n`);
    const err = await rejection(collect(readShard(p)));
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('E_JSON_DEPTH');
    expect(line(err)).toBe(`${p}: row 2: nested deeper than 1000 levels`);
    const arr = join(await tmp(), 'deep.json');
    await writeFile(arr, `[{"x":${deep(5000)}}]`);
    expect((await rejection(collect(readShard(arr)))).code).toBe('E_JSON_DEPTH');
  });

  it('writers refuse a value nested deeper than 1000 levels naming file and row', async () => {
    let v: unknown = [];
    for (let i = 0; i < 5000; i++) v = [v];
    const columns = dict<unknown[]>();
    columns.x = [[1], v];
    for (const format of ['jsonl', 'parquet', 'arrow'] as const) {
      const path = join(await tmp(), `x${EXT[format]}`);
      const w = await createFileWriter(format, path, { columns: [{ name: 'x', type: 'json' }], compression: 'none' });
      const err = await rejection(w.write({ length: 2, columns, file: 'in.jsonl', offset: 10 }));
      expect(err.code, format).toBe('E_JSON_DEPTH');
      expect(line(err), format).toMatch(/^in\.jsonl: row 12: column "x": nested deeper than 1000 levels/);
    }
  });
});
