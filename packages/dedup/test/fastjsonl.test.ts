import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createFileWriter } from '@curate/shards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupFiles } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dedup-fast-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file under d (relative path -> bytes). */
async function tree(d: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(d, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      out[p.slice(d.length)] = (await readFile(p)).toString('hex');
    }
  }
  return out;
}

const T = 'The quick brown fox jumps over the lazy dog near the river bank today';
// Lines the raw path must copy, re-serialise or parse exactly like the generic reader and writer.
const reasonRows = [
  '{"id":"k","text":"has reason","reason":"mine","n":5}',
  '{"id":"l","text":"has reason","reason":"other","n":5}',
];
const tricky = [
  JSON.stringify({ id: 'a', text: T, n: 1 }),
  `{"id": "b", "text": "${T}", "n": 2}`, // Python separators
  JSON.stringify({ id: 'c', text: T.toUpperCase(), n: 3 }), // exact dup of a after normalisation
  '{"id":"d","text":"caf\\u00e9 \\u00C9t\\u00e9 na\\/ve \\u001F x","n":1.0}',
  '{"n":-0,"text":"Caf\\u00e9 \\u00c9t\\u00e9 na/ve \\u001f x","id":"e"}', // same text, other key order
  '{"id":"f","text":"nested","n":{"b":1,"1":2,"a":{"x":[1,2.50,1e2]}}}',
  '{"id":"g","text":"nested","n":{"a":1,"a":2}}',
  '',
  '   ',
  '{"id":"h","text":"big","n":12345678901234567890}',
  '{"id":"h2","text":"a new column in the middle of a batch","late":[true,false,null],"n":0}',
  `{"id":"i","text":"${T} bad \xff\xfe byte","n":4}`,
  `{"id":"j","text":"${T} bad \xff\xfe byte","n":4}`,
  '{"id":"m","text":"“curly” quotes — and Straße ﬁne Ｆｕｌｌ","n":6}',
  '{"id":"n","text":"“curly” quotes — and strasse fine full","n":6}',
  '{"id":"o","text":"“CURLY” QUOTES — AND STRASSE FINE FULL","n":6}',
  '{"id":"p","n":7}', // no text: rendered as ''
  '{"id":"q","text":null,"n":7}',
  '{"id":"r","text":42,"n":8}',
  '{"id":"s","text":"42","n":8}',
  '{"id":"t","text":"tab\\there\\nnewline \\"quoted\\" back\\\\slash","n":9}',
  '{"id":"u","text":"tab here newline \\"quoted\\" back\\\\slash","n":9}',
  '{"id":"v","text":"ΣΊΣΥΦΟΣ σίσυφος İstanbul","n":10}',
  '{"id":"w","text":"σίσυφος σίσυφος i̇stanbul","n":10}',
  '{"id":"x","text":"e\\u0301 combining","n":11}',
  '{"id":"y","text":"é combining","n":11}',
  '{"id":"z","text":"emoji 😀 \\ud83d\\ude00 here","n":12}',
  '{"id":"z2","text":"emoji 😀 😀 here","n":12}',
];

/** A summary without timings, worker count and the output directory in output paths. */
function comparable(s: Awaited<ReturnType<typeof dedupFiles>>) {
  const shard = (x: { path: string }) => ({ ...x, path: x.path.replace(/^.*?\/((rejected\/)?shard-[^/]+)$/, '$1') });
  return {
    ...s,
    timings_s: 0,
    workers: 0,
    outputs: { kept: s.outputs.kept.map(shard), rejected: s.outputs.rejected.map(shard) },
  };
}

async function both(name: string, inputs: string[], extra: Record<string, unknown> = {}) {
  const run = (fast: boolean, workers: number) =>
    dedupFiles({
      inputs,
      out: join(dir, `${name}-${fast}-${workers}`),
      workers,
      batchSize: 3,
      fastJsonl: fast,
      ...extra,
    });
  const slow = await run(false, 1);
  const results = [];
  for (const w of [1, 2, 3]) {
    const fast = await run(true, w);
    results.push(fast);
    expect(await tree(join(dir, `${name}-true-${w}`))).toEqual(await tree(join(dir, `${name}-false-1`)));
    expect(comparable(fast)).toEqual(comparable(slow));
  }
  return slow;
}

describe('raw JSONL fast path', () => {
  it('writes the same bytes, rows, reasons and summary as the generic reader and writer', async () => {
    const p1 = join(dir, 'a.jsonl');
    const p2 = join(dir, 'b.jsonl');
    await writeFile(p1, encode(`\ufeff${tricky.join('\r\n')}\r\n`));
    const p0 = join(dir, 'a0.jsonl'); // sorts before b.jsonl: its columns fix the schema
    await writeFile(p0, encode(`${[...reasonRows, ...tricky].join('\n')}\n`));
    // second file: a subset of the columns, no final newline
    await writeFile(
      p2,
      encode([JSON.stringify({ text: T, id: 'z3' }), JSON.stringify({ id: 'z4', text: 'fresh text here' })].join('\n')),
    );
    const s = await both('mix', [p1, p2]);
    expect(s.removed['dedup:exact']).toBeGreaterThanOrEqual(8);
    // the same files gzip- and zstd-compressed: read as a stream by the fast path, same output bytes
    const gz = join(dir, 'a.jsonl.gz');
    const zst = join(dir, 'b.jsonl.zst');
    await writeFile(gz, gzipSync(await readFile(p1)));
    // b.jsonl's lines are JSON.stringify output: the shards JSONL writer writes the same bytes (zstd frames)
    const w = await createFileWriter('jsonl', zst, {
      columns: [
        { name: 'text', type: 'string' },
        { name: 'id', type: 'string' },
      ],
      compression: 'zstd',
    });
    const bRows = (await readFile(p2, 'utf8')).split('\n').map((l) => JSON.parse(l));
    await w.write({ length: bRows.length, columns: { text: bRows.map((r) => r.text), id: bRows.map((r) => r.id) } });
    await w.close();
    const sc = await both('mixz', [gz, zst]);
    expect(await tree(join(dir, 'mixz-true-1'))).toEqual(await tree(join(dir, 'mix-true-1')));
    expect(sc.removed).toEqual(s.removed);
    const noRej = await both('norej', [p1], { writeRejected: false });
    expect(noRej.kept).toBeLessThan(noRej.documents_in);
    // an input column named reason: replaced by the reason in rejected rows
    const r = await both('reason', [p0, p2]);
    expect(r.removed['dedup:exact']).toBeGreaterThanOrEqual(9);
  }, 60_000);

  it('fails like the generic path on bad lines; widens the schema like it on a new column', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify({ id: 'a', text: T })}\n{"id":"b","text":"x",}\n`);
    for (const fast of [true, false]) {
      await expect(
        dedupFiles({ inputs: [bad], out: join(dir, `bad-${fast}`), workers: 1, fastJsonl: fast }),
      ).rejects.toMatchObject({ code: 'E_JSON_PARSE', row: 1, file: bad });
    }
    // invalid text strings are left to JSON.parse: raw control character, bad escape, a duplicate key
    for (const [i, line] of [
      '{"id":"c","text":"raw\ttab"}',
      '{"id":"c","text":"bad \\x escape"}',
      '{"text":"\u0001","text":1}',
    ].entries()) {
      const p = join(dir, `bad${i}.jsonl`);
      await writeFile(p, `${JSON.stringify({ id: 'a', text: T })}\n\n${line}\n`);
      for (const fast of [true, false]) {
        await expect(
          dedupFiles({ inputs: [p], out: join(dir, `bad${i}-${fast}`), workers: 1, fastJsonl: fast }),
          line,
        ).rejects.toMatchObject({ code: 'E_JSON_PARSE', row: 2, file: p });
      }
    }
    // a second file with a new column: the output widens (a new shard), in both paths alike
    const p1 = join(dir, 's1.jsonl');
    const p2 = join(dir, 's2.jsonl');
    await writeFile(p1, `${JSON.stringify({ id: 'a', text: T })}\n${JSON.stringify({ id: 'a2', text: T })}\n`);
    await writeFile(
      p2,
      `${JSON.stringify({ id: 'b', text: 'other words', extra: 1 })}\n${JSON.stringify({ id: 'c', text: T, extra: 2 })}\n`,
    );
    const s = await both('widen', [p1, p2]);
    expect(s.outputs.kept.length).toBe(2);
    expect(s.outputs.rejected.length).toBe(2);
  });
});

/** UTF-8 of the text, except \xff and \xfe which stay single invalid bytes. */
function encode(s: string): Buffer {
  const parts = s.split(/([\xfe\xff])/);
  return Buffer.concat(
    parts.map((p) => (p === '\xff' || p === '\xfe' ? Buffer.from([p.charCodeAt(0)]) : Buffer.from(p, 'utf8'))),
  );
}
