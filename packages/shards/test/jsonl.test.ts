import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { batchRows, collect, InputError, makeBatch } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { createFileWriter, inspectShard, readShard } from '../src/index.js';
import { zstdCompress } from '../src/parquet/codecs.js';
import { fileLines } from '../src/text.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();

async function rows(path: string, options = {}) {
  const batches = await collect(readShard(path, options));
  return batches.flatMap((b) => batchRows(b));
}

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('JSONL reader', () => {
  it('reads plain, gzip and zstd files alike, and as decoded text chunks split into lines would: rows, batches, errors', async () => {
    const d = await tmp();
    const big = 'w'.repeat(9 << 20); // one line longer than a read chunk and than a batch's characters
    const parts = [
      Buffer.from('\uFEFF{"t":"one","n":1}\r\n\r\n \u00a0 \n'), // BOM, CRLF, a blank line of NBSP
      Buffer.from('{"t":"caf\u00e9 \ud83d\ude00","late":[1,{"x":null}]}\n'),
      Buffer.concat([Buffer.from('{"t":"bad '), Buffer.from([0xe2, 0x82]), Buffer.from('"}\n')]), // truncated UTF-8
      Buffer.from(`{"t":"${big}"}\n`),
      Buffer.from(Array.from({ length: 3000 }, (_, i) => `{"t":"row ${i}","i":${i}}`).join('\n')), // no final newline
    ];
    const body = Buffer.concat(parts);
    const plain = join(d, 'same.jsonl');
    const gz = join(d, 'same.jsonl.gz');
    await writeFile(plain, body);
    await writeFile(gz, gzipSync(body));
    const zst = join(d, 'same.jsonl.zst');
    const zstdCompressSync = (await zstdCompress()).compress;
    await writeFile(zst, zstdCompressSync(body));
    const a = await collect(readShard(plain));
    const b = await collect(readShard(gz));
    expect(a.length).toBeGreaterThan(2); // batches cut by rows and by characters
    expect(a.map((x) => [x.offset, x.length])).toEqual(b.map((x) => [x.offset, x.length]));
    for (let i = 0; i < a.length; i++) expect(a[i].columns).toEqual(b[i].columns);
    const c = await collect(readShard(zst));
    expect(c.map((x) => [x.offset, x.length])).toEqual(a.map((x) => [x.offset, x.length]));
    for (let i = 0; i < a.length; i++) expect(c[i].columns).toEqual(a[i].columns);
    // an independent reference: the decompressed text decoded as a stream, split into lines, parsed
    const ref: Record<string, unknown>[] = [];
    for await (const lines of fileLines(gz, 'gzip'))
      for (const t of lines) if (t.length && !(t.charCodeAt(0) <= 32 && t.trim() === '')) ref.push(JSON.parse(t));
    const got: Record<string, unknown>[] = [];
    for (const x of b)
      for (let r = 0; r < x.length; r++)
        got.push(
          Object.fromEntries(
            Object.keys(x.columns).flatMap((k) => (x.columns[k][r] === null ? [] : [[k, x.columns[k][r]]])),
          ),
        );
    expect(got.length).toBe(ref.length);
    expect(got).toEqual(ref);
    expect(a[0].columns.t[1]).toBe('caf\u00e9 \ud83d\ude00');
    expect(a[0].columns.t[2]).toBe('bad \uFFFD');
    // the same error, naming the same line, from both paths
    const broken = Buffer.concat([body.subarray(0, 200), Buffer.from('\n{"t": oops}\n')]);
    await writeFile(plain, broken);
    await writeFile(gz, gzipSync(broken));
    await writeFile(zst, zstdCompressSync(broken));
    const ea = await rejection(collect(readShard(plain)));
    const eb = await rejection(collect(readShard(gz)));
    const ec = await rejection(collect(readShard(zst)));
    expect(ec.message).toBe(ea.message);
    expect(ec.row).toBe(ea.row);
    expect(ea).toBeInstanceOf(InputError);
    expect(ea.message).toBe(eb.message);
    expect(ea.row).toBe(eb.row);
    expect(ea.row).toBe(5); // the cut line after 0 one, 1 blank, 2 NBSP, 3 café, 4 bad
  });

  it('reads columns as the union of keys in first-seen order, missing keys null', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, '{"a":1,"b":"x"}\n{"c":true}\n{"b":"y","a":null}\n');
    const [batch] = await collect(readShard(p));
    expect(Object.keys(batch.columns)).toEqual(['a', 'b', 'c']);
    expect(batch.columns).toEqual({ a: [1, null, null], b: ['x', null, 'y'], c: [null, true, null] });
    expect(batch.file).toBe(p);
    expect(batch.offset).toBe(0);
  });

  it('inspectShard gives rows, value kinds per column and a sample', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl.gz');
    await writeFile(p, gzipSync('{"a":1,"b":"x","c":null}\n{"a":2.5,"b":"y","d":[1]}\n{"a":3,"b":{"k":1},"e":true}\n'));
    const info = await inspectShard(p, { sample: 2 });
    expect(info).toMatchObject({ path: p, format: 'jsonl', compression: 'gzip', rows: 3 });
    expect(info.columns).toEqual([
      { name: 'a', type: 'double' },
      { name: 'b', type: 'mixed' },
      { name: 'c', type: 'null' },
      { name: 'd', type: 'list' },
      { name: 'e', type: 'boolean' },
    ]);
    expect(info.sample).toEqual([
      { a: 1, b: 'x', c: null, d: null, e: null },
      { a: 2.5, b: 'y', c: null, d: [1], e: null },
    ]);
  });

  it('keeps odd keys such as "__proto__" and "constructor" as columns', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, '{"__proto__":{"x":1},"constructor":"c","toString":2}\n');
    const [batch] = await collect(readShard(p));
    expect(Object.keys(batch.columns)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(batch.columns.constructor).toEqual(['c']);
    expect(Object.getPrototypeOf(batch.columns)).toBe(null);
  });

  it('handles a BOM, CRLF, blank lines and a missing final newline', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, '\uFEFF{"t":"one"}\r\n\r\n  \n{"t":"two\\r\\n"}\r\n{"t":"three"}');
    expect(await rows(p)).toEqual([{ t: 'one' }, { t: 'two\r\n' }, { t: 'three' }]);
  });

  it('replaces invalid UTF-8 with U+FFFD instead of failing', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, Buffer.concat([Buffer.from('{"t":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}\n')]));
    expect(await rows(p)).toEqual([{ t: 'a\uFFFD\uFFFDb' }]);
  });

  it('names file and row (= line index, blank lines counted) of a broken line', async () => {
    const d = await tmp();
    const p = join(d, 'bad.jsonl');
    await writeFile(p, '{"a":1}\n\n{"a":2}\n{"a":\n');
    const err = await rejection(rows(p));
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('E_JSON_PARSE');
    expect(err.file).toBe(p);
    expect(err.row).toBe(3);
    expect((err as unknown as InputError).toLine()).toMatch(/bad\.jsonl: row 4: invalid JSON: .+/);
  });

  it('rejects a line that is not an object, and an array line among objects', async () => {
    const d = await tmp();
    const p = join(d, 'arr.jsonl');
    await writeFile(p, '{"a":1}\n[1,2]\n');
    const err = await rejection(rows(p));
    expect(err.code).toBe('E_JSONL_MIXED');
    expect(err.row).toBe(1);
    expect(err.message).toContain('this line is a bare array but line 1 is an object');
    await writeFile(p, '{"a":1}\n"x"\n');
    const err2 = await rejection(rows(p));
    expect(err2.code).toBe('E_JSON_NOT_OBJECT');
    expect(err2.message).toContain('a string');
  });

  it('batches by batchSize with offsets, carrying columns forward', async () => {
    const d = await tmp();
    const p = join(d, 'many.jsonl');
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify(i === 12 ? { i, late: 'x' } : { i }));
    await writeFile(p, lines.join('\n') + '\n');
    const batches = await collect(readShard(p, { batchSize: 10 }));
    expect(batches.map((b) => [b.offset, b.length])).toEqual([
      [0, 10],
      [10, 10],
      [20, 5],
    ]);
    expect(batches[1].columns.late).toEqual([null, null, 'x', null, null, null, null, null, null, null]);
    expect(batches[2].columns.late).toEqual([null, null, null, null, null]);
  });

  it('projects columns and reports a column no row has', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, '{"a":1,"b":2,"c":3}\n{"a":4,"c":6}\n');
    expect(await rows(p, { columns: ['c', 'b'] })).toEqual([
      { c: 3, b: 2 },
      { c: 6, b: null },
    ]);
    const err = await rejection(rows(p, { columns: ['a', 'nope'] }));
    expect(err.code).toBe('E_MISSING_COLUMN');
    expect(err.file).toBe(p);
    expect(err.message).toContain('"nope"');
  });

  it('reads .jsonl.gz (multi-member) and .json.gz', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl.gz');
    await writeFile(p, Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"a":2}\n')]));
    expect(await rows(p)).toEqual([{ a: 1 }, { a: 2 }]);
    const q = join(d, 'b.json.gz');
    await writeFile(q, gzipSync('[{"a":1},{"a":2}]'));
    expect(await rows(q)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it.skipIf(!hasZstdCli())('reads .jsonl.zst made by the zstd CLI', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, t: `row ${i} `.repeat(20) }));
    await writeFile(p, lines.join('\n') + '\n');
    execFileSync('zstd', ['-q', '-3', p, '-o', `${p}.zst`]);
    const got = await rows(`${p}.zst`, { batchSize: 1000 });
    expect(got.length).toBe(5000);
    expect(got[4321]).toEqual({ i: 4321, t: 'row 4321 '.repeat(20) });
  });

  it('reads .jsonl.zst with the JS decoder too (CURATE_ZSTD=js), and reports corrupt zstd', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i })).join('\n'));
    if (hasZstdCli()) execFileSync('zstd', ['-q', p, '-o', `${p}.zst`]);
    else {
      const w = await createFileWriter('jsonl', `${p}.zst`, {
        columns: [{ name: 'i', type: 'int64' }],
        compression: 'zstd',
      });
      await w.write(makeBatch({ i: Array.from({ length: 3000 }, (_, i) => i) }));
      await w.close();
    }
    const bad = join(d, 'bad.jsonl.zst');
    await writeFile(bad, 'definitely not zstd');
    const before = process.env.CURATE_ZSTD;
    try {
      for (const mode of ['js', 'auto']) {
        process.env.CURATE_ZSTD = mode;
        const got = await rows(`${p}.zst`, { batchSize: 1000 });
        expect(got.length, mode).toBe(3000);
        expect(got[2999], mode).toEqual({ i: 2999 });
        const err = await rejection(rows(bad));
        expect(err, mode).toBeInstanceOf(InputError);
        expect([err.code, err.file], mode).toEqual(['E_READ', bad]);
      }
    } finally {
      if (before === undefined) delete process.env.CURATE_ZSTD;
      else process.env.CURATE_ZSTD = before;
    }
  });

  it('stops the decompressor when the reader stops early', async () => {
    const d = await tmp();
    const p = join(d, 'a.jsonl');
    await writeFile(p, Array.from({ length: 20000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(200) })).join('\n'));
    if (!hasZstdCli()) return;
    execFileSync('zstd', ['-q', p, '-o', `${p}.zst`]);
    for await (const b of readShard(`${p}.zst`, { batchSize: 10 })) {
      expect(b.columns.i[0]).toBe(0);
      break;
    }
  });

  it('reports a corrupt .gz file as an InputError naming it', async () => {
    const d = await tmp();
    const p = join(d, 'bad.jsonl.gz');
    await writeFile(p, 'not gzip at all');
    const err = await rejection(rows(p));
    expect(err).toBeInstanceOf(InputError);
    expect(err.file).toBe(p);
  });
});

describe('JSON array reader', () => {
  it('reads an array of objects with element indexes as offsets', async () => {
    const d = await tmp();
    const p = join(d, 'a.json');
    await writeFile(p, JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ i }))));
    const batches = await collect(readShard(p, { batchSize: 2 }));
    expect(batches.map((b) => [b.offset, b.columns.i])).toEqual([
      [0, [0, 1]],
      [2, [2, 3]],
      [4, [4]],
    ]);
  });

  it('rejects a non-array and a non-object element (with its index)', async () => {
    const d = await tmp();
    const p = join(d, 'o.json');
    await writeFile(p, '{"a":1}');
    expect((await rejection(rows(p))).code).toBe('E_JSON_NOT_ARRAY');
    const q = join(d, 'e.json');
    await writeFile(q, '[{"a":1}, 7]');
    const err = await rejection(rows(q));
    expect([err.code, err.row]).toEqual(['E_JSON_NOT_OBJECT', 1]);
  });
});
