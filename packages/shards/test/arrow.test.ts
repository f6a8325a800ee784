import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { batchRows, collect, makeBatch } from '@curate/core';
import {
  Field,
  Float64,
  List,
  RecordBatchReader,
  Struct,
  Table,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { createFileWriter, inferColumns, inspectShard, readShard } from '../src/index.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();

/** A table with the types real Arrow producers write: dictionary strings, int64, structs, lists. */
function richTable(): Table {
  const base = tableFromArrays({
    label: ['a', 'b', null, 'a'], // tableFromArrays dictionary-encodes strings
    n: new BigInt64Array([1n, -2n, 2n ** 60n, 0n]),
    x: new Float64Array([0.5, -1.25, 3, Number.NaN]),
  });
  const meta = vectorFromArray(
    [{ k: 'v', w: 1 }, null, { k: null, w: 2 }, { k: 'z', w: 3 }],
    new Struct([new Field('k', new Utf8(), true), new Field('w', new Float64(), true)]),
  );
  const tags = vectorFromArray([['x', 'y'], [], null, ['z']], new List(new Field('item', new Utf8(), true)));
  const text = vectorFromArray(['héllo ✓', '', null, 'x'.repeat(1000)], new Utf8());
  return new Table({
    ...Object.fromEntries(base.schema.fields.map((f, i) => [f.name, base.getChildAt(i)!])),
    meta,
    tags,
    text,
  });
}

const expected = [
  { label: 'a', n: 1, x: 0.5, meta: { k: 'v', w: 1 }, tags: ['x', 'y'], text: 'héllo ✓' },
  { label: 'b', n: -2, x: -1.25, meta: null, tags: [], text: '' },
  { label: null, n: 2n ** 60n, x: 3, meta: { k: null, w: 2 }, tags: null, text: null },
  { label: 'a', n: 0, x: Number.NaN, meta: { k: 'z', w: 3 }, tags: ['z'], text: 'x'.repeat(1000) },
];

describe('Arrow IPC reader', () => {
  for (const [ext, mode] of [
    ['arrow', 'file'],
    ['feather', 'file'],
    ['arrows', 'stream'],
  ] as const) {
    it(`reads .${ext} (${mode}) into plain JS values`, async () => {
      const p = join(await tmp(), `t.${ext}`);
      await writeFile(p, tableToIPC(richTable(), mode));
      const batches = await collect(readShard(p));
      expect(batches.map((b) => [b.file, b.offset, b.length])).toEqual([[p, 0, 4]]);
      expect(batchRows(batches[0])).toEqual(expected);
      const projected = await collect(readShard(p, { columns: ['text', 'n'] }));
      expect(Object.keys(projected[0].columns)).toEqual(['text', 'n']);
      const err = await rejection(collect(readShard(p, { columns: ['nope'] })));
      expect([err.code, err.file]).toEqual(['E_MISSING_COLUMN', p]);
    });
  }

  it('reads record batch by record batch with running offsets, split by batchSize', async () => {
    const p = join(await tmp(), 'multi.arrow');
    const t = tableFromArrays({ i: Float64Array.from({ length: 10 }, (_, i) => i) });
    const batches = [t.slice(0, 4), t.slice(4, 10)].flatMap((s) => s.batches);
    await writeFile(p, tableToIPC(new Table(batches), 'file'));
    const got = await collect(readShard(p, { batchSize: 4 }));
    expect(got.map((b) => [b.offset, b.columns.i])).toEqual([
      [0, [0, 1, 2, 3]],
      [4, [4, 5, 6, 7]],
      [8, [8, 9]],
    ]);
  });

  it('refuses a file that is not Arrow, naming it', async () => {
    const p = join(await tmp(), 'bad.arrow');
    await writeFile(p, 'this is not arrow');
    const err = await rejection(collect(readShard(p)));
    expect([err.code, err.file]).toEqual(['E_ARROW_READ', p]);
  });
});

describe('Arrow IPC writer', () => {
  it('round-trips through our writer, apache-arrow and our reader', async () => {
    const p = join(await tmp(), 'out.arrow');
    const batch = makeBatch({
      s: ['a', null, 'ü', ''],
      i: [1, null, 2 ** 53 - 1, -5],
      big: [2n ** 62n, 1n, null, -(2n ** 62n)],
      d: [0.1, null, -2.5, 1e300],
      b: [true, false, null, true],
      j: [{ a: [1, 2] }, null, [3], { b: 'x' }],
    });
    const columns = inferColumns(batch);
    const w = await createFileWriter('arrow', p, { columns, compression: 'none' });
    await w.write(batch);
    await w.write(makeBatch({ s: ['second'], i: [7], big: [null], d: [1], b: [false], j: [null] }));
    await w.close();
    expect(w.bytes).toBeGreaterThan(0);

    const table = tableFromIPC(await import('node:fs').then((fs) => fs.readFileSync(p)));
    expect(table.batches.length).toBe(2);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      's:Utf8',
      'i:Int64',
      'big:Int64',
      'd:Float64',
      'b:Bool',
      'j:Utf8',
    ]);
    expect(table.getChild('big')!.get(0)).toBe(2n ** 62n);
    expect(table.getChild('j')!.get(0)).toBe('{"a":[1,2]}');
    expect(table.schema.fields[5].metadata.get('ARROW:extension:name')).toBe('arrow.json');

    const rows = (await collect(readShard(p))).flatMap((b) => batchRows(b));
    expect(rows).toEqual([
      { s: 'a', i: 1, big: 2n ** 62n, d: 0.1, b: true, j: { a: [1, 2] } },
      { s: null, i: null, big: 1, d: null, b: false, j: null },
      { s: 'ü', i: 2 ** 53 - 1, big: null, d: -2.5, b: null, j: [3] },
      { s: '', i: -5, big: -(2n ** 62n), d: 1e300, b: true, j: { b: 'x' } },
      { s: 'second', i: 7, big: null, d: 1, b: false, j: null },
    ]);
    const reader = await RecordBatchReader.from(await import('node:fs').then((fs) => fs.readFileSync(p)));
    expect(reader.isFile()).toBe(true);

    const info = await inspectShard(p, { sample: 2 });
    expect(info.rows).toBe(5);
    expect(info.columns).toEqual([
      { name: 's', type: 'Utf8' },
      { name: 'i', type: 'Int64' },
      { name: 'big', type: 'Int64' },
      { name: 'd', type: 'Float64' },
      { name: 'b', type: 'Bool' },
      { name: 'j', type: 'Utf8 (arrow.json)' },
    ]);
    expect(info.sample).toEqual(rows.slice(0, 2));
  });

  it('rejects a value of the wrong type with the column name', async () => {
    const p = join(await tmp(), 'bad.arrow');
    const w = await createFileWriter('arrow', p, { columns: [{ name: 'n', type: 'int64' }], compression: 'none' });
    const err = await rejection(w.write(makeBatch({ n: [1.5] }, { file: 'in.jsonl' })));
    expect(err.code).toBe('E_COLUMN_TYPE');
    expect(err.message).toContain('"n"');
    expect(err.file).toBe('in.jsonl');
  });
});

describe('corrupt Arrow IPC files', () => {
  // Two corruptions of a zstd Arrow file of the Brown fixture, found by flipping random bytes:
  // one made apache-arrow re-read the same message forever, one declared 218M rows in a 43 KB file
  // (converting them exhausted memory). Both must end as an InputError naming the file.
  it('a corrupt file ends in an InputError, not a spin or an out-of-memory crash', async () => {
    const { readFileSync } = await import('node:fs');
    const { InputError } = await import('@curate/core');
    const fixture = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'shards', 'real', 'brown-00000.jsonl');
    const rows = readFileSync(fixture, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; text: string });
    const d = await tmp();
    const src = join(d, 'src.arrow');
    const w = await createFileWriter('arrow', src, {
      columns: [
        { name: 'id', type: 'string' },
        { name: 'text', type: 'string' },
      ],
      compression: 'zstd',
    });
    await w.write({ length: rows.length, columns: { id: rows.map((r) => r.id), text: rows.map((r) => r.text) } });
    await w.close();
    const bytes = readFileSync(src);
    for (const edits of [
      [
        [4286, 153],
        [25, 238],
      ],
      [[91, 13]],
    ]) {
      const b = Buffer.from(bytes);
      for (const [at, v] of edits) b[at] = v;
      const p = join(d, 'corrupt.arrow');
      await writeFile(p, b);
      let timer: NodeJS.Timeout | undefined;
      const spin = new Promise<unknown>((res) => {
        timer = setTimeout(() => res(new Error('still reading after 20 s')), 20_000);
      });
      const r = await Promise.race([
        collect(readShard(p)).then(
          () => 'rows',
          (e) => e,
        ),
        spin,
      ]);
      clearTimeout(timer);
      expect(r).toBeInstanceOf(InputError);
      expect((r as InstanceType<typeof InputError>).code).toBe('E_ARROW_READ');
      expect((r as InstanceType<typeof InputError>).file).toBe(p);
    }
  }, 60_000);
});
