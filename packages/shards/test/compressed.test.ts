/**
 * Corrupt, truncated and long-window compressed input (issue 19.2): every decoder either reads
 * the rows the file was made from or fails with `E_READ` naming the file, never changed rows.
 * The zstd files are made by the `zstd` program (the only writer here of frames with checksums);
 * without it these tests skip on a user's machine, and fail in CI (`.ci/run` installs it).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { batchRows, collect, InputError } from '@curate/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { readShard } from '../src/index.js';
import { fileBytes } from '../src/text.js';
import { checkedZstdDecompress } from '../src/zstd-frames.js';
import { ZstdStream } from '../src/zstd-stream.js';
import { rejection, seededRandom, useTmp } from './helpers.js';

const tmp = useTmp();

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ZSTD = hasZstdCli();
if (!ZSTD && process.env.CI) throw new Error('the zstd program is missing: CI must have it (.ci/run installs it)');

/** ~600 KB of real text as JSONL (Gutenberg from shared/data when present, else generated). */
function sample(): Buffer {
  if (HAS_SHARED) {
    const text = readFileSync(shared('real_text/gutenberg/gutenberg-00000-of-00004.jsonl'), 'utf8');
    const book = JSON.parse(text.slice(0, text.indexOf('\n'))) as { text: string };
    const paras = book.text.split(/\n\s*\n/).slice(0, 1500);
    return Buffer.from(`${paras.map((p, i) => JSON.stringify({ i, text: p })).join('\n')}\n`);
  }
  return Buffer.from(
    `${Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, text: `paragraph ${i} `.repeat(12) })).join('\n')}\n`,
  );
}

async function rows(path: string) {
  return (await collect(readShard(path))).flatMap((b) => batchRows(b));
}

/** Each seeded single-bit flip of `file` either reads `want` or is E_READ naming the file. */
async function flips(file: Buffer, path: string, want: unknown[], count: number, header: number) {
  const rand = seededRandom(19);
  let failed = 0;
  for (let k = 0; k < count; k++) {
    const b = Buffer.from(file);
    // some flips in the frame header, the rest anywhere
    const pos = Math.floor(rand() * (k < header ? 16 : b.length));
    b[pos] ^= 1 << Math.floor(rand() * 8);
    writeFileSync(path, b);
    let got: unknown[] | undefined;
    try {
      got = await rows(path);
    } catch (e) {
      expect(e, `flip at byte ${pos}`).toBeInstanceOf(InputError);
      const err = e as InputError;
      // a flip may also make a line invalid JSON when the decoder cannot tell (gzip header bits do not)
      expect(err.code, `flip at byte ${pos}: ${err.message}`).toBe('E_READ');
      expect(err.file).toBe(path);
      failed++;
      continue;
    }
    expect(got, `flip at byte ${pos} read changed rows`).toEqual(want);
  }
  return failed;
}

describe.skipIf(!ZSTD)('zstd input (files made by the zstd program)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('single-bit flips fail with E_READ naming the file, with the program and with the built-in decoder', async () => {
    const d = await tmp();
    const plain = join(d, 'real.jsonl');
    writeFileSync(plain, sample());
    const want = await rows(plain);
    execFileSync('zstd', ['-q', '-f', plain, '-o', `${plain}.zst`]);
    const file = readFileSync(`${plain}.zst`);
    const path = join(d, 'flipped.jsonl.zst');
    for (const mode of ['js', 'auto']) {
      vi.stubEnv('CURATE_ZSTD', mode);
      expect(await rows(`${plain}.zst`), mode).toEqual(want);
      const failed = await flips(file, path, want, 30, 6);
      // nearly every flip changes data the checksum covers (a few header bits do not matter)
      expect(failed, mode).toBeGreaterThanOrEqual(25);
    }
  }, 120_000);

  it('the built-in decoder checks each frame: concatenated and skippable frames read, truncation and a wrong size fail', async () => {
    vi.stubEnv('CURATE_ZSTD', 'js');
    const d = await tmp();
    const a = join(d, 'a.jsonl');
    const b = join(d, 'b.jsonl');
    writeFileSync(a, '{"i":1}\n{"i":2}\n');
    writeFileSync(b, '{"i":3}\n');
    execFileSync('zstd', ['-q', '-f', a, '-o', `${a}.zst`]);
    execFileSync('zstd', ['-q', '-f', '--no-check', b, '-o', `${b}.zst`]);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const both = join(d, 'both.jsonl.zst');
    writeFileSync(both, Buffer.concat([readFileSync(`${a}.zst`), skippable, readFileSync(`${b}.zst`)]));
    expect(await rows(both)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);

    const whole = readFileSync(both);
    const cut = join(d, 'cut.jsonl.zst');
    writeFileSync(cut, whole.subarray(0, whole.length - 2));
    const e1 = await rejection(rows(cut));
    expect([e1.code, e1.file]).toEqual(['E_READ', cut]);
    expect(e1.message).toMatch(/truncated/);

    // frame 2 (no checksum) declares one byte more content than it holds
    const sized = join(d, 'sized.jsonl.zst');
    const bad = Buffer.from(readFileSync(`${b}.zst`));
    expect(bad[4] >> 6 === 0 && (bad[4] & 0x20) !== 0).toBe(true); // single segment, 1-byte content size
    bad[5] += 1;
    writeFileSync(sized, Buffer.concat([readFileSync(`${a}.zst`), bad]));
    const e2 = await rejection(rows(sized));
    expect([e2.code, e2.file]).toEqual(['E_READ', sized]);
    expect(e2.message).toMatch(/frame 2 declares 9 bytes of content but holds 8/);
  });

  it('reads a file written with --long=30 (a 1 GiB window) in bounded memory', async () => {
    const d = await tmp();
    const data = sample();
    const path = join(d, 'long.jsonl.zst');
    // from a pipe: no content size, so the frame declares the whole 1 GiB window
    writeFileSync(path, execFileSync('zstd', ['-q', '-c', '--long=30'], { input: data, maxBuffer: 1 << 30 }));
    const header = readFileSync(path).subarray(0, 6);
    expect(1 << (10 + (header[5] >> 3))).toBe(1 << 30); // window descriptor: 2^30
    const plain = join(d, 'long.jsonl');
    writeFileSync(plain, data);
    const before = process.memoryUsage().rss;
    expect(await rows(path)).toEqual(await rows(plain));
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });
});

/** A 25 MB Gutenberg shard (the generated sample without shared data). */
function shard(): Buffer {
  return HAS_SHARED ? readFileSync(shared('real_text/gutenberg/gutenberg-00000-of-00004.jsonl')) : sample();
}

/** Row count and SHA-256 of the rows of `path` (rows as JSON, one per line). */
async function rowDigest(path: string): Promise<[number, string]> {
  const h = createHash('sha256');
  let n = 0;
  for await (const batch of readShard(path)) {
    for (const row of batchRows(batch)) {
      h.update(JSON.stringify(row));
      h.update('\n');
      n++;
    }
  }
  return [n, h.digest('hex')];
}

/** The window a zstd file's first frame declares (window descriptor; single-segment: its content size). */
function declaredWindow(file: Buffer): number {
  const fhd = file[4];
  if (fhd & 0x20) return Number.NaN;
  const wb = 2 ** (10 + (file[5] >> 3));
  return wb + (wb / 8) * (file[5] & 7);
}

describe.skipIf(!ZSTD)('zstd long windows without the program (our decoder, zstd-stream.ts)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('a --long=30, --long=27 and default .jsonl.zst of a Gutenberg shard read the same rows by the built-in decoder, the program and the plain file', async () => {
    const d = await tmp();
    const data = shard();
    const plain = join(d, 'shard.jsonl');
    writeFileSync(plain, data);
    const want = await rowDigest(plain);
    expect(want[0]).toBeGreaterThan(HAS_SHARED ? 50 : 1000);
    const variants: [string, string[], number][] = [
      // from a pipe: no content size, so the frame declares the whole window
      ['long30', ['--long=30', '-1'], 2 ** 30],
      ['long27', ['--long=27', '-1'], 2 ** 27],
      ['default', ['-3'], Number.NaN],
    ];
    for (const [name, args, window] of variants) {
      const path = join(d, `${name}.jsonl.zst`);
      writeFileSync(path, execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 30 }));
      const file = readFileSync(path);
      if (!Number.isNaN(window)) expect(declaredWindow(file), name).toBe(window);
      for (const mode of ['js', 'auto']) {
        vi.stubEnv('CURATE_ZSTD', mode);
        expect(await rowDigest(path), `${name} ${mode}`).toEqual(want);
      }
    }
  }, 180_000);

  it('decodes a --long=30 file in any chunking with a buffer and bytes moved that grow with the output, not the window', async () => {
    const data = shard();
    const want = createHash('sha256').update(data).digest('hex');
    const file = execFileSync('zstd', ['-q', '-c', '--long=30', '-1'], { input: data, maxBuffer: 1 << 30 });
    expect(declaredWindow(file)).toBe(2 ** 30);
    const rand = seededRandom(30);
    const h = createHash('sha256');
    let n = 0;
    let chunks = 0;
    const dec = new ZstdStream((b) => {
      h.update(b);
      n += b.length;
      chunks++;
    });
    for (let at = 0; at < file.length; ) {
      const k = 1 + Math.floor(rand() * (rand() < 0.5 ? 64 : 256 * 1024));
      dec.push(file.subarray(at, at + k));
      at += k;
    }
    dec.push(new Uint8Array(0), true);
    expect([n, h.digest('hex')]).toEqual([data.length, want]);
    expect(chunks).toBeGreaterThan(1);
    // memory: about the bytes decoded (x 1.25) + 4 MiB slack + a block, never the declared 1 GiB window
    expect(dec.peakBuffer).toBeLessThanOrEqual(data.length * 1.25 + (4 << 20) + (1 << 17));
    // time: every output byte is moved (buffer growth) a bounded number of times
    expect(dec.moved).toBeLessThan(6 * data.length);
    // the built-in path as used (fileBytes, CURATE_ZSTD=js): resident memory far below the 1 GiB
    // window fzstd allocated and touched (~1.1 GB peak for this file)
    const d = await tmp();
    const path = join(d, 'long.jsonl.zst');
    writeFileSync(path, file);
    vi.stubEnv('CURATE_ZSTD', 'js');
    const before = process.memoryUsage().rss;
    let got = 0;
    for await (const c of fileBytes(path, 'zstd')) got += c.length;
    expect(got).toBe(data.length);
    expect(process.memoryUsage().rss - before).toBeLessThan(384 << 20);
  }, 60_000);

  it('keeps a window (not the whole output) when the frame outgrows it: bytes moved stay linear, the buffer near the window', () => {
    // a 4 MiB window (--zstd=wlog=22) over the whole shard: the buffer keeps 4 MiB of history plus slack
    const data = shard();
    const file = execFileSync('zstd', ['-q', '-c', '-1', '--zstd=wlog=22'], { input: data, maxBuffer: 1 << 30 });
    expect(declaredWindow(file)).toBe(4 << 20);
    const h = createHash('sha256');
    const dec = new ZstdStream((b) => h.update(b));
    dec.push(file, true);
    expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(dec.peakBuffer).toBeLessThanOrEqual((4 << 20) + (4 << 20) + (1 << 17));
    expect(dec.moved).toBeLessThan(2 * data.length);
  });

  it('byte-at-a-time input and several frames decode the same bytes; a cut frame is "unexpected EOF"', () => {
    const data = sample();
    const one = execFileSync('zstd', ['-q', '-c', '-3', '--long=30'], { input: data, maxBuffer: 1 << 30 });
    const file = Buffer.concat([one, Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7]), one]);
    const parts: Uint8Array[] = [];
    const dec = new ZstdStream((b) => parts.push(b));
    for (let i = 0; i < file.length; i++) dec.push(file.subarray(i, i + 1));
    expect(dec.atBoundary).toBe(true);
    dec.push(new Uint8Array(0), true);
    expect(Buffer.concat(parts).equals(Buffer.concat([data, data]))).toBe(true);
    const cut = new ZstdStream(() => {});
    expect(() => cut.push(one.subarray(0, one.length - 5), true)).toThrow(/unexpected EOF/);
  });

  it('a frame that refers back before its start (made with a dictionary) is E_READ naming the file, not zeros', async () => {
    const d = await tmp();
    const data = shard().subarray(0, 300_000);
    const dict = join(d, 'dict.raw');
    writeFileSync(dict, data.subarray(0, 200_000));
    const path = join(d, 'dict.jsonl.zst');
    // a raw-content dictionary: the frame has no dictionary id, its matches reach into the dictionary
    writeFileSync(path, execFileSync('zstd', ['-q', '-c', '-3', '-D', dict], { input: data.subarray(0, 100_000) }));
    expect(() => new ZstdStream(() => {}).push(readFileSync(path), true)).toThrow(/match distance too far back/);
    for (const mode of ['js', 'auto']) {
      vi.stubEnv('CURATE_ZSTD', mode);
      const e = await rejection(rows(path));
      expect([e.code, e.file], mode).toEqual(['E_READ', path]);
    }
  });

  it('checkedZstdDecompress (Arrow buffers) decodes a --long=30 frame without a content size, checksum checked', async () => {
    const { default: xxhash } = await import('xxhash-wasm');
    const { h64Raw } = await xxhash();
    const data = sample();
    const file = execFileSync('zstd', ['-q', '-c', '--long=30', '-3'], { input: data, maxBuffer: 1 << 30 });
    expect(declaredWindow(file)).toBe(2 ** 30);
    const h64 = (b: Uint8Array) => h64Raw(b, 0n);
    expect(Buffer.from(checkedZstdDecompress(file, h64, 'x.arrow')).equals(data)).toBe(true);
    const bad = Buffer.from(file);
    bad[bad.length - 2] ^= 4; // in the checksum
    expect(() => checkedZstdDecompress(bad, h64, 'x.arrow')).toThrow(/checksum mismatch in frame 1/);
  });

  it('single-bit flips of a --long=30 file fail with E_READ naming the file in the built-in decoder', async () => {
    vi.stubEnv('CURATE_ZSTD', 'js');
    const d = await tmp();
    const plain = join(d, 'real.jsonl');
    const data = sample();
    writeFileSync(plain, data);
    const want = await rows(plain);
    const file = execFileSync('zstd', ['-q', '-c', '--long=30', '-3'], { input: data, maxBuffer: 1 << 30 });
    const failed = await flips(file, join(d, 'flipped.jsonl.zst'), want, 30, 6);
    expect(failed).toBeGreaterThanOrEqual(25);
  }, 60_000);
});

describe('gzip input', () => {
  it('single-bit flips and truncations fail with E_READ naming the file, or read the same rows', async () => {
    const d = await tmp();
    const plain = join(d, 'real.jsonl');
    const data = sample();
    writeFileSync(plain, data);
    const want = await rows(plain);
    const file = gzipSync(data);
    const path = join(d, 'flipped.jsonl.gz');
    const failed = await flips(file, path, want, 30, 10);
    expect(failed).toBeGreaterThanOrEqual(18);
    for (const keep of [10, file.length >> 1, file.length - 4]) {
      writeFileSync(path, file.subarray(0, keep));
      const e = await rejection(rows(path));
      expect([e.code, e.file]).toEqual(['E_READ', path]);
      expect(e.message).toMatch(/^cannot read: gzip: .*\(corrupt or truncated file\)$/);
    }
  }, 60_000);
});
