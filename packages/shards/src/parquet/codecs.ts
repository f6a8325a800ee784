/**
 * Page compressors for the Parquet writer.
 * - SNAPPY: hysnappy (WASM), 3x faster than hyparquet-writer's JS snappy.
 * - ZSTD: @toondepauw/node-zstd (native libzstd, prebuilt binary shipped in a
 *   per-platform npm package), falling back to @bokuweb/zstd-wasm where no
 *   binary exists for the platform. Level 3, DuckDB's and zstd's default.
 * - GZIP: node:zlib.
 */
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { snappyCompressor } from 'hysnappy';

export type Compressor = (input: Uint8Array) => Uint8Array;

export const ZSTD_LEVEL = 3;

let snappy: Compressor | undefined;
export function snappyCompress(): Compressor {
  snappy ??= snappyCompressor();
  return snappy;
}

interface NativeEncoder {
  encodeSync(data: Buffer): Buffer;
}

let zstdImpl: { name: string; make: (level: number) => Compressor } | undefined;

/** The zstd compressor in use: `native` (libzstd via N-API) or `wasm`. */
export async function zstdCompress(level = ZSTD_LEVEL): Promise<{ name: string; compress: Compressor }> {
  if (!zstdImpl) {
    try {
      const require = createRequire(import.meta.url);
      const { Encoder } = require('@toondepauw/node-zstd') as { Encoder: new (level: number) => NativeEncoder };
      new Encoder(1).encodeSync(Buffer.from('probe'));
      zstdImpl = {
        name: 'native',
        make: (lvl) => {
          const enc = new Encoder(lvl);
          return (input) => enc.encodeSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
        },
      };
    } catch {
      const wasm = await import('@bokuweb/zstd-wasm');
      await wasm.init();
      zstdImpl = { name: 'wasm', make: (lvl) => (input) => wasm.compress(input, lvl) };
    }
  }
  return { name: zstdImpl.name, compress: zstdImpl.make(level) };
}

export const gzipCompress: Compressor = (input) => gzipSync(input);
