import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { CHUNKED_BYTES_PER_SIGNER, defaultWorkers } from '../src/files.js';
import { dedupFiles } from '../src/index.js';

// Signers take chunks of a raw JSONL file in any order and number their rows from 0; the main
// thread places them. These tests check that 1 and 2 signers give the same bytes, ids, errors.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dedup-chunks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(d: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(d, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out[p.slice(d.length + 1)] = (await readFile(p)).toString('base64');
  }
  return out;
}

function comparable(s: Awaited<ReturnType<typeof dedupFiles>>) {
  const shard = (x: { path: string }) => ({ ...x, path: x.path.replace(/^.*?\/((rejected\/)?shard-[^/]+)$/, '$1') });
  return {
    ...s,
    timings_s: 0,
    workers: 0,
    outputs: { kept: s.outputs.kept.map(shard), rejected: s.outputs.rejected.map(shard) },
  };
}

describe.skipIf(!HAS_SHARED)('chunked signing on real data', () => {
  it('gives the same bytes and summary with 1 and 2 signers on multi-MB Gutenberg JSONL (ids, blank lines, copies)', async () => {
    // ~2 KB rows from every Gutenberg shard (byte-identical books give exact copies); every third row
    // has no id (its id is <file>:<row>, placed by the main thread), blank lines now and then
    const lines: string[] = [];
    let bytes = 0;
    const g = shared('real_text', 'gutenberg');
    for (const f of readdirSync(g)
      .filter((x) => x.endsWith('.jsonl'))
      .sort()) {
      for (const l of readFileSync(join(g, f), 'utf8').split('\n')) {
        if (!l || bytes > 6e6) continue;
        const w = (JSON.parse(l).text as string).split(/\s+/).filter(Boolean);
        for (let i = Math.floor(w.length * 0.1); i + 350 < w.length * 0.9 && bytes < 6e6; i += 700) {
          const n = lines.length;
          const row =
            n % 3 === 0
              ? { text: w.slice(i, i + 350).join(' ') }
              : { id: `g${n}`, text: w.slice(i, i + 350).join(' ') };
          const line = n % 97 === 5 ? `${JSON.stringify(row)}\n` : JSON.stringify(row);
          lines.push(line);
          bytes += line.length + 1;
        }
      }
    }
    const input = join(dir, 'gutenberg-2k.jsonl');
    await writeFile(input, `${lines.join('\n')}\n`);
    const one = await dedupFiles({ inputs: [input], out: join(dir, 'g1'), workers: 1 });
    expect(one.removed['dedup:exact']).toBeGreaterThan(10);
    const two = await dedupFiles({ inputs: [input], out: join(dir, 'g2'), workers: 2 });
    const small = await dedupFiles({ inputs: [input], out: join(dir, 'g3'), workers: 2, chunkBytes: 50_000 });
    const reference = await tree(join(dir, 'g1'));
    expect(await tree(join(dir, 'g2'))).toEqual(reference);
    expect(await tree(join(dir, 'g3'))).toEqual(reference);
    expect(comparable(two)).toEqual(comparable(one));
    expect(comparable(small)).toEqual(comparable(one));
    // by default, moderate raw JSONL inputs (from 16 MiB) get 2 signers, other inputs from 64 MiB
    expect(defaultWorkers(20e6, CHUNKED_BYTES_PER_SIGNER)).toBe(Math.min(2, availableParallelism()));
    expect(defaultWorkers(16 << 20, CHUNKED_BYTES_PER_SIGNER)).toBe(1);
    expect(defaultWorkers(20e6)).toBe(1);
  }, 120_000);
});

describe('chunked signing: errors and the first batch', () => {
  const T = 'the quick brown fox jumps over the lazy dog again and again';
  it('reports a bad line in a later chunk with its line number in the file', async () => {
    const p = join(dir, 'bad.jsonl');
    const good = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `${T} ${i}` }));
    await writeFile(p, `${good.join('\n')}\n\n{"id":"b","text":"x",}\n${good[0]}\n{"id":"c",}\n`);
    for (const workers of [1, 2]) {
      await expect(
        dedupFiles({ inputs: [p], out: join(dir, `bad-${workers}`), workers, chunkBytes: 256 }),
      ).rejects.toMatchObject({ code: 'E_JSON_PARSE', row: 41, file: p });
    }
    expect((await readdir(dir)).filter((x) => x.startsWith('bad-'))).toEqual([]);
  });

  it('checks the text column over the first batch as one signer does, across chunks', async () => {
    // batchSize 5: the text first appears at record 3, 4 (inside the first batch) or 5 (after it)
    for (const at of [3, 4, 5, 6]) {
      const p = join(dir, `first${at}.jsonl`);
      const rows = Array.from({ length: 12 }, (_, i) =>
        JSON.stringify(i < at ? { id: `r${i}`, [`k${i % 4}`]: 'no text here' } : { id: `r${i}`, text: `${T} ${i}` }),
      );
      await writeFile(p, `\n${rows.join('\n')}\n`);
      const outcome = async (workers: number) => {
        try {
          const s = await dedupFiles({
            inputs: [p],
            out: join(dir, `first${at}-${workers}`),
            workers,
            batchSize: 5,
            chunkBytes: 40,
            overwrite: true,
          });
          return { ok: comparable(s), files: await tree(join(dir, `first${at}-${workers}`)) };
        } catch (e) {
          return { error: (e as Error).message, code: (e as { code?: string }).code };
        }
      };
      const one = await outcome(1);
      expect(await outcome(2), `text from record ${at}`).toEqual(one);
      if (at >= 5) expect(one).toMatchObject({ code: 'E_MISSING_COLUMN' });
      else expect(one).toHaveProperty('ok');
    }
  });
});
