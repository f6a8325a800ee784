import { readFileSync } from 'node:fs';
import { collect } from '@curate/core';
import { compressors as jsDecompressors } from 'hyparquet-compressors';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { readDecompressors, snappyCompress, wasmZstd, zstdCompress } from '../src/parquet/codecs.js';
import { parquetReader } from '../src/parquet/index.js';

describe.skipIf(!HAS_SHARED)('parquet page codecs on real text', () => {
  const text = HAS_SHARED
    ? new Uint8Array(
        readFileSync(shared('real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl')).subarray(0, 3 << 20),
      )
    : new Uint8Array();
  const pages = [text.subarray(0, 1 << 20), text.subarray(1 << 20, (2 << 20) + 12345), text.subarray(0, 0)];

  it('native and WASM zstd both round-trip through the native and the pure-JS decoders', async () => {
    const native = (await zstdCompress()).compress;
    const wasm = (await wasmZstd())(3);
    const nativeDecode = readDecompressors().ZSTD!;
    const jsDecode = jsDecompressors.ZSTD!;
    for (const page of pages) {
      for (const packed of [native(page), wasm(page)]) {
        expect(packed.length).toBeLessThan(page.length / 2 + 64);
        expect(Buffer.from(nativeDecode(packed, page.length)).equals(Buffer.from(page))).toBe(true);
        expect(Buffer.from(jsDecode(packed, page.length)).equals(Buffer.from(page))).toBe(true);
      }
    }
  });

  it('hysnappy output decodes with the snappy decoder hyparquet uses', () => {
    const compress = snappyCompress();
    for (const page of pages) {
      const packed = compress(page);
      expect(Buffer.from(jsDecompressors.SNAPPY!(packed, page.length)).equals(Buffer.from(page))).toBe(true);
    }
  });

  it('stops reading when the signal is aborted', async () => {
    const path = shared('parquet', 'duckdb__data_parquet-testing_candidate.parquet');
    const controller = new AbortController();
    let batches = 0;
    const read = async () => {
      for await (const _ of parquetReader.read(
        { path, format: 'parquet', size: 0 },
        { batchSize: 1000, signal: controller.signal },
      )) {
        if (++batches === 3) controller.abort();
      }
    };
    await expect(read()).rejects.toThrow(/abort/i);
    expect(batches).toBe(3);
    expect((await collect(parquetReader.read({ path, format: 'parquet', size: 0 }, { batchSize: 1000 }))).length).toBe(
      48,
    );
  });
});
