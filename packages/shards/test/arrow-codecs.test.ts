import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchRows, collect, makeBatch } from '@curate/core';
import {
  CompressionType,
  compressionRegistry,
  RecordBatchFileWriter,
  tableFromArrays,
  tableFromIPC,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { lz4FrameDecode, zstdDecode } from '../src/arrow-codecs.js';
import { createFileWriter, inferColumns, readShard } from '../src/index.js';
import { seededRandom, useTmp } from './helpers.js';

const tmp = useTmp();

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Text with repeats (so LZ4 emits overlapping matches) and some noise. */
function sample(bytes: number): Uint8Array {
  const parts: string[] = [];
  let n = 0;
  let seed = 7;
  while (n < bytes) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const p = seed % 3 === 0 ? `aaaaaaaaaaaaaaaaaaaa${seed}` : `word${seed % 97} the quick brown fox ${seed % 13} `;
    parts.push(p);
    n += p.length;
  }
  return new TextEncoder().encode(parts.join('').slice(0, bytes));
}

describe.skipIf(!has('lz4'))('LZ4 frame decoder vs the lz4 CLI', () => {
  const data = sample(700_000);
  for (const flags of [
    [],
    ['-BD', '-B4'],
    ['-BD', '-B5', '--content-size', '-BX'],
    ['-B4', '--no-frame-crc'],
    ['-1'],
    ['-9', '-BD'],
  ]) {
    it(`decodes frames made with lz4 ${flags.join(' ') || '(defaults)'}`, () => {
      const frame = execFileSync('lz4', ['-c', '-q', ...flags], { input: data, maxBuffer: 1 << 26 });
      expect(Buffer.from(lz4FrameDecode(frame)).equals(Buffer.from(data))).toBe(true);
    });
  }

  it('decodes concatenated frames, an empty input frame, and refuses garbage', () => {
    const a = execFileSync('lz4', ['-c', '-q'], { input: sample(1000) });
    const b = execFileSync('lz4', ['-c', '-q'], { input: Buffer.alloc(0) });
    expect(
      Buffer.from(lz4FrameDecode(Buffer.concat([a, b, a]))).equals(Buffer.concat([sample(1000), sample(1000)])),
    ).toBe(true);
    expect(() => lz4FrameDecode(new TextEncoder().encode('not lz4 at all'))).toThrow(/lz4/);
  });

  it('reads an LZ4_FRAME-compressed Arrow IPC file (what pandas to_feather writes)', async () => {
    const p = join(await tmp(), 'pandas.feather');
    const table = tableFromArrays({
      text: Array.from({ length: 3000 }, (_, i) => `row ${i} ${'lorem ipsum '.repeat(i % 20)}`),
      n: Float64Array.from({ length: 3000 }, (_, i) => i * 0.5),
    });
    const before = compressionRegistry.get(CompressionType.LZ4_FRAME);
    // The lz4 CLI as the encoder; our decoder is what the reader must use.
    compressionRegistry.set(CompressionType.LZ4_FRAME, {
      encode: (d: Uint8Array) => new Uint8Array(execFileSync('lz4', ['-c', '-q', '-BD', '-B4'], { input: d })),
      decode: lz4FrameDecode,
    });
    try {
      const w = new RecordBatchFileWriter({ compressionType: CompressionType.LZ4_FRAME });
      w.write(table);
      w.finish();
      writeFileSync(p, await w.toUint8Array());
    } finally {
      compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: before?.decode ?? lz4FrameDecode });
    }
    const rows = (await collect(readShard(p, { batchSize: 1000 }))).flatMap((b) => batchRows(b));
    expect(rows.length).toBe(3000);
    expect(rows[2999]).toEqual({ text: `row 2999 ${'lorem ipsum '.repeat(19)}`, n: 1499.5 });
  });
});

describe('zstd-compressed Arrow IPC', () => {
  it('writes with compression zstd and reads back (our reader and apache-arrow)', async () => {
    const p = join(await tmp(), 'z.arrow');
    const batch = makeBatch({
      text: Array.from({ length: 2000 }, (_, i) => `doc ${i} `.repeat(30)),
      i: Array.from({ length: 2000 }, (_, i) => i),
    });
    const w = await createFileWriter('arrow', p, { columns: inferColumns(batch), compression: 'zstd' });
    await w.write(batch);
    await w.close();
    const plain = join(await tmp(), 'plain.arrow');
    const w2 = await createFileWriter('arrow', plain, { columns: inferColumns(batch), compression: 'none' });
    await w2.write(batch);
    await w2.close();
    expect(readFileSync(p).length).toBeLessThan(readFileSync(plain).length / 5);
    const rows = (await collect(readShard(p))).flatMap((b) => batchRows(b));
    expect(rows).toEqual(batchRows(batch));
    const t = tableFromIPC(readFileSync(p));
    expect(t.getChild('text')!.get(1999)).toBe('doc 1999 '.repeat(30));
  });

  it.skipIf(!has('zstd'))('zstdDecode matches the zstd CLI', () => {
    const data = sample(300_000);
    const frame = execFileSync('zstd', ['-c', '-q', '-19'], { input: data, maxBuffer: 1 << 26 });
    expect(Buffer.from(zstdDecode(frame)).equals(Buffer.from(data))).toBe(true);
  });

  it.skipIf(!has('zstd'))('zstdDecode never returns changed data for a flipped bit of a checksummed frame', () => {
    const data = Buffer.from(Array.from({ length: 4000 }, (_, i) => `row ${i} some text ${i * 7}`).join('\n'));
    const frame = execFileSync('zstd', ['-q', '-c'], { input: data });
    const rand = seededRandom(5);
    let failed = 0;
    for (let k = 0; k < 40; k++) {
      const b = Buffer.from(frame);
      const pos = Math.floor(rand() * b.length);
      b[pos] ^= 1 << Math.floor(rand() * 8);
      let out: Uint8Array;
      try {
        out = zstdDecode(b);
      } catch (e) {
        expect((e as Error).message, `flip at ${pos}`).toMatch(/^cannot read: zstd: /);
        failed++;
        continue;
      }
      // the native decoder refused it: the JS one used to decode it unchecked
      expect(Buffer.from(out).equals(data), `flip at ${pos} decoded to changed data`).toBe(true);
    }
    expect(failed).toBeGreaterThanOrEqual(35);
  });
});
