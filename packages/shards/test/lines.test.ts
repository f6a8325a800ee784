/**
 * rawLines (the line reader under every JSONL read, dedup's fast path and the pipeline's pass 2):
 * the line limit (issue 19.8) and the work done per byte (19.9 long lines in compressed input,
 * 19.10 many small files). The work is counted (bytes searched for newlines), never timed; the
 * times are in bench/lines.bench.mjs.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MAX_LINE_BYTES, type LineChunk, rawLines } from '../src/lines.js';
import { zstdCompress } from '../src/parquet/index.js';
import { readShard, readShards } from '../src/read.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();

async function collect(it: AsyncIterable<LineChunk>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it)
    for (let i = 0; i < c.count; i++) out.push(c.buf.toString('latin1', c.starts[i], c.ends[i]));
  return out;
}

/** The same bytes as .jsonl, .jsonl.gz and .jsonl.zst. */
async function threeWays(dir: string, name: string, data: Buffer) {
  const plain = join(dir, `${name}.jsonl`);
  await writeFile(plain, data);
  await writeFile(`${plain}.gz`, gzipSync(data));
  await writeFile(`${plain}.zst`, (await zstdCompress()).compress(data));
  return [
    { path: plain, compression: undefined },
    { path: `${plain}.gz`, compression: 'gzip' as const },
    { path: `${plain}.zst`, compression: 'zstd' as const },
  ];
}

describe('line limit', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('a line longer than maxLineBytes is E_LINE_TOO_LONG naming file, line and byte offset; lines at the limit pass', async () => {
    const d = await tmp();
    const ok = 'x'.repeat(100);
    // line 3 (0-based 2) starts at byte 2 * 101 and is 101 bytes long; CRLF after a line at the limit is fine
    const data = Buffer.from(`${ok}\n${ok}\r\n${'y'.repeat(101)}\n${ok}\n`);
    for (const f of await threeWays(d, 'long', data)) {
      const e = await rejection(collect(rawLines(f.path, 0, Infinity, false, f.compression, { maxLineBytes: 100 })));
      expect(e.code).toBe('E_LINE_TOO_LONG');
      expect(e.file).toBe(f.path);
      expect(e.row).toBe(2);
      expect(e.message).toContain(f.compression ? 'byte 203 of the decompressed text' : 'byte 203');
      expect(e.message).toContain('100 bytes');
      // the same file under a limit it fits in
      expect(await collect(rawLines(f.path, 0, Infinity, false, f.compression, { maxLineBytes: 101 }))).toHaveLength(4);
    }
    // a final line without newline is held to the limit too
    const last = join(d, 'last.jsonl');
    await writeFile(last, `${ok}\n${'z'.repeat(300)}`);
    const e = await rejection(collect(rawLines(last, 0, Infinity, false, undefined, { maxLineBytes: 100 })));
    expect([e.code, e.row, e.message.includes('byte 101')]).toEqual(['E_LINE_TOO_LONG', 1, true]);
  });

  it('finds a line far longer than its buffers without reading all of it (an endless line ends at the limit)', async () => {
    const d = await tmp();
    const big = join(d, 'big.jsonl');
    await writeFile(big, `{"a":1}\n${'q'.repeat(3 << 20)}\n`);
    const e = await rejection(collect(rawLines(big, 0, Infinity, true, undefined, { maxLineBytes: 1000 })));
    expect([e.code, e.row]).toEqual(['E_LINE_TOO_LONG', 1]);
    expect(e.message).toContain('byte 8');
  });

  it('the JSONL reader takes maxLineBytes, or CURATE_MAX_LINE_BYTES; the error names the file and line', async () => {
    const d = await tmp();
    const f = join(d, 'rows.jsonl');
    await writeFile(f, `{"text":"short"}\n{"text":"${'w'.repeat(500)}"}\n`);
    let e = await rejection(async () => {
      for await (const _ of readShard(f, { maxLineBytes: 200 })) {
      }
    });
    expect([e.code, e.file, e.row]).toEqual(['E_LINE_TOO_LONG', f, 1]);
    expect((e as unknown as { toLine(): string }).toLine()).toMatch(
      /rows\.jsonl: row 2: line 2 \(starting at byte 17\)/,
    );
    vi.stubEnv('CURATE_MAX_LINE_BYTES', '200');
    e = await rejection(async () => {
      for await (const _ of readShards([f])) {
      }
    });
    expect(e.code).toBe('E_LINE_TOO_LONG');
    vi.stubEnv('CURATE_MAX_LINE_BYTES', 'lots');
    e = await rejection(async () => {
      for await (const _ of readShards([f])) {
      }
    });
    expect(e.code).toBe('E_LINE_LIMIT');
  });

  it('a link to /dev/zero is refused as input, and when allowed ends at the default limit in bounded memory', async () => {
    const d = await tmp();
    const link = join(d, 'zero.jsonl');
    await symlink('/dev/zero', link);
    const refused = await rejection(async () => {
      for await (const _ of readShards([link])) {
      }
    });
    expect([refused.code, refused.file]).toEqual(['E_NOT_REGULAR_FILE', link]);
    const before = process.memoryUsage().rss;
    const e = await rejection(async () => {
      for await (const _ of readShard(link, { allowSpecialFiles: true })) {
      }
    });
    expect([e.code, e.row]).toEqual(['E_LINE_TOO_LONG', 0]);
    expect(e.message).toContain(`${DEFAULT_MAX_LINE_BYTES / 1024 / 1024} MiB`);
    // one buffer of about the limit (256 MiB), not buffers doubling until a native assertion
    expect(process.memoryUsage().rss - before).toBeLessThan(2 * DEFAULT_MAX_LINE_BYTES);
  }, 60_000);
});

describe('work per byte', () => {
  /** Bytes that Buffer#indexOf looked at (from its start offset to the end of the buffer). */
  function countSearched() {
    const orig = Buffer.prototype.indexOf;
    let searched = 0;
    const spy = vi.spyOn(Buffer.prototype, 'indexOf').mockImplementation(function (this: Buffer, ...args: unknown[]) {
      const from = typeof args[1] === 'number' ? args[1] : 0;
      searched += Math.max(0, this.length - from);
      return (orig as (...a: unknown[]) => number).apply(this, args);
    });
    return {
      get searched() {
        return searched;
      },
      restore: () => spy.mockRestore(),
    };
  }

  it('a long line in gzip and zstd input is searched once (linear), not once per decompressed chunk', async () => {
    const d = await tmp();
    const line = Buffer.alloc(24 << 20, 0x61);
    const data = Buffer.concat([Buffer.from('{"a":1}\n'), line, Buffer.from('\n{"b":2}\n')]);
    for (const f of await threeWays(d, 'longline', data)) {
      const c = countSearched();
      try {
        const lines = await collect(rawLines(f.path, 0, Infinity, true, f.compression));
        expect(lines.map((l) => l.length)).toEqual([7, 24 << 20, 7]);
      } finally {
        c.restore();
      }
      // the old splitter searched the whole buffer again for every 256 KiB read: ~100x the line here
      expect(c.searched, `${f.compression ?? 'plain'}`).toBeLessThan(2 * data.length);
    }
  }, 120_000);

  it('a small file is searched over its own bytes, not over a 4 MiB buffer (many one-line files)', async () => {
    const d = await tmp();
    await mkdir(join(d, 'many'));
    for (let i = 0; i < 50; i++) await writeFile(join(d, 'many', `f${i}.jsonl`), `{"id":${i}}\n`);
    const c = countSearched();
    let rows = 0;
    try {
      for await (const b of readShards([join(d, 'many')])) rows += b.length;
    } finally {
      c.restore();
    }
    expect(rows).toBe(50);
    expect(c.searched).toBeLessThan(50 * 64);
  });
});

describe('rawLines with reuse: chunk buffers kept for the next reader on the thread', () => {
  it('hands a finished reader buffers to the next one, never to a reader still running, with the same lines', async () => {
    const dir = await tmp();
    // two files of ~9 MB (several 4 MiB chunks each), lines of varied length
    const mk = (seed: number) =>
      Array.from({ length: 9000 }, (_, i) =>
        JSON.stringify({ i, s: seed, t: 'x'.repeat(((i * 7919 + seed) % 1900) + 50) }),
      );
    const a = mk(1);
    const b = mk(2);
    const fa = join(dir, 'a.jsonl');
    const fb = join(dir, 'b.jsonl');
    await writeFile(fa, `${a.join('\n')}\n`);
    await writeFile(fb, b.join('\n'));
    // sequential: the second reader starts with a buffer the first one used
    const seen = new Set<Buffer>();
    const got: string[] = [];
    for await (const c of rawLines(fa, 0, Infinity, true)) {
      seen.add(c.buf);
      for (let i = 0; i < c.count; i++) got.push(c.buf.toString('latin1', c.starts[i], c.ends[i]));
    }
    expect(got).toEqual(a);
    const second = rawLines(fb, 0, Infinity, true)[Symbol.asyncIterator]();
    const first = await second.next();
    expect(first.done).toBe(false);
    expect(seen.has((first.value as LineChunk).buf)).toBe(true);
    await second.return?.(undefined);
    // interleaved: two readers running at once never hold the same buffer, and both read right
    const ia = rawLines(fa, 0, Infinity, true)[Symbol.asyncIterator]();
    const ib = rawLines(fb, 0, Infinity, true)[Symbol.asyncIterator]();
    const outA: string[] = [];
    const outB: string[] = [];
    let da = false;
    let db = false;
    while (!da || !db) {
      const ra = da ? null : await ia.next();
      const rb = db ? null : await ib.next();
      if (ra && !ra.done && rb && !rb.done) expect(ra.value.buf).not.toBe(rb.value.buf);
      if (ra?.done) da = true;
      else if (ra)
        for (let i = 0; i < ra.value.count; i++)
          outA.push(ra.value.buf.toString('latin1', ra.value.starts[i], ra.value.ends[i]));
      if (rb?.done) db = true;
      else if (rb)
        for (let i = 0; i < rb.value.count; i++)
          outB.push(rb.value.buf.toString('latin1', rb.value.starts[i], rb.value.ends[i]));
    }
    expect(outA).toEqual(a);
    expect(outB).toEqual(b);
    // without reuse the lines are the same
    expect(await collect(rawLines(fb, 0, Infinity, false))).toEqual(b);
  });
});
