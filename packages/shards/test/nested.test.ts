/**
 * Nested columns (lists, structs, maps) are written as nested columns in every format, proven
 * against DuckDB: a conversation column is `STRUCT("role" VARCHAR, "content" VARCHAR)[]`, not JSON text.
 */
import { readFileSync } from 'node:fs';
import { type Batch, collect, makeBatch } from '@curate/core';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShardWriter, inferColumns, readShard, readShards } from '../src/index.js';
import { columnShape, mergeShapes, shapeName, shapeOf } from '../src/nested.js';
import { type Duck, diff, lit, openDuck } from './duck.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();
let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());

const MESSAGES = [
  [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'héllo 🧪 "quoted"\n' },
    { role: 'assistant', content: 'hi' },
  ],
  [],
  null,
  [{ role: 'user', content: null }],
];

function chatBatch(): Batch {
  return makeBatch({
    id: ['a', 'b', 'c', 'd'],
    messages: MESSAGES,
    tags: [['x', 'y'], [], null, ['z']],
    meta: [{ score: 1, model: 'm1' }, { score: 2.5 }, null, { model: 'm2', extra: { deep: [1, 2] } }],
    counts: [Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i])), { a: 1 }, null, {}],
  });
}

describe('nested shapes', () => {
  it('infers list<struct>, merges fields and numbers, caps wide objects as maps', () => {
    expect(shapeName(columnShape(MESSAGES)!)).toBe('STRUCT("role" VARCHAR, "content" VARCHAR)[]');
    expect(shapeName(mergeShapes(shapeOf({ a: 1 }), shapeOf({ b: 'x', a: 0.5 })))).toBe(
      'STRUCT("a" DOUBLE, "b" VARCHAR)',
    );
    const cols = inferColumns(chatBatch());
    expect(cols.find((c) => c.name === 'counts')?.nested).toEqual({ type: 'map', value: { type: 'int64' } });
    // values of mixed kinds stay declared JSON text
    expect(columnShape([{ a: 1 }, [1]])).toBeUndefined();
    expect(shapeName(columnShape([[1, 'a']])!)).toBe('JSON[]');
  });
});

describe.each(['parquet', 'jsonl', 'arrow'] as const)('%s keeps nested columns', (format) => {
  it('round-trips with our reader and DuckDB sees real nested types', async () => {
    const dir = await tmp();
    const w = createShardWriter({ dir, format });
    await w.write(chatBatch());
    const [shard] = await w.close();
    const back = (await collect(readShards([shard.path]))).flatMap((b) => b.columns.messages);
    expect(back).toEqual(MESSAGES);
    let path = shard.path;
    if (format === 'arrow') {
      // DuckDB has no Arrow IPC reader here: check the Arrow type, then DuckDB reads a Parquet copy
      const t = tableFromIPC(readFileSync(shard.path));
      expect(String(t.schema.fields.find((f) => f.name === 'messages')?.type)).toBe(
        'List<Struct<{role:Utf8, content:Utf8}>>',
      );
      const pq = await tmp();
      const w2 = createShardWriter({ dir: pq, format: 'parquet' });
      for await (const b of readShard({ path: shard.path, format: 'arrow', size: shard.bytes })) await w2.write(b);
      path = (await w2.close())[0].path;
    }
    const reader = format === 'jsonl' ? 'read_json' : 'read_parquet';
    const types = await duck.rows(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${reader}(${lit(path)}))`,
    );
    const typeOf = Object.fromEntries(types.map((r) => [r.column_name, r.column_type]));
    expect(typeOf.messages).toBe('STRUCT("role" VARCHAR, "content" VARCHAR)[]');
    expect(typeOf.tags).toBe('VARCHAR[]');
    if (format !== 'jsonl') {
      expect(typeOf.meta).toBe('STRUCT(score DOUBLE, model VARCHAR, extra STRUCT(deep BIGINT[]))');
      expect(typeOf.counts).toBe('MAP(VARCHAR, BIGINT)');
    }
    const rows = await duck.rows(`SELECT messages FROM ${reader}(${lit(path)})`);
    expect(
      diff(
        MESSAGES,
        rows.map((r) => r.messages),
      ),
    ).toBeUndefined();
  });
});

it('a value that does not fit the fixed shape is an error naming the column, path and row', async () => {
  const dir = await tmp();
  const w = createShardWriter({
    dir,
    format: 'parquet',
    columns: [{ name: 'messages', type: 'json', nested: columnShape(MESSAGES) }],
  });
  const e = await rejection(
    w.write({ ...makeBatch({ messages: [[{ role: 'user', content: 5 }]] }), file: 'in.jsonl', offset: 7 }),
  );
  expect(e.message).toContain(
    'column "messages" is STRUCT("role" VARCHAR, "content" VARCHAR)[]: at [0].content expected a string but found number',
  );
  expect(e.row).toBe(7);
  await w.abort();
});

it('a later batch with a new struct field widens the shape (new shard) when widening, and fits without it otherwise', async () => {
  const dir = await tmp();
  const w = createShardWriter({ dir, format: 'parquet', widen: true });
  await w.write(makeBatch({ meta: [{ a: 1 }, { a: 2 }] }));
  await w.write(makeBatch({ meta: [{ a: 3 }] }));
  await w.write(makeBatch({ meta: [{ a: 4, b: 'x' }] }));
  const shards = await w.close();
  expect(shards.map((s) => s.rows)).toEqual([3, 1]);
  const rows = await duck.rows(
    `SELECT meta.a AS a, meta.b AS b FROM read_parquet([${shards.map((s) => lit(s.path)).join(', ')}], union_by_name = true) ORDER BY a`,
  );
  expect(rows).toEqual([
    { a: 1n, b: null },
    { a: 2n, b: null },
    { a: 3n, b: null },
    { a: 4n, b: 'x' },
  ]);
});
