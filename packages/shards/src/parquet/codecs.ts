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
import type { Compressors } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
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
interface NativeDecoder {
  decodeSync(data: Buffer): Buffer;
}
type NativeZstd = {
  Encoder: new (level: number) => NativeEncoder;
  Decoder: new () => NativeDecoder;
};

let native: NativeZstd | null | undefined;
/** libzstd through N-API when its prebuilt binary exists for this platform, else null. */
function nativeZstd(): NativeZstd | null {
  if (native === undefined) {
    try {
      const require = createRequire(import.meta.url);
      native = require('@toondepauw/node-zstd') as NativeZstd;
      const probe = new native.Encoder(1).encodeSync(Buffer.from('probe'));
      if (new native.Decoder().decodeSync(probe).toString() !== 'probe') native = null;
    } catch {
      native = null;
    }
  }
  return native;
}

const asBuffer = (input: Uint8Array) => Buffer.from(input.buffer, input.byteOffset, input.byteLength);

/**
 * Page decompressors for hyparquet: hyparquet-compressors for every codec, with
 * ZSTD replaced by native libzstd when available (fzstd, pure JS, was 45% of a
 * zstd read: see bench/shards.bench.mjs).
 */
export function readDecompressors(): Compressors {
  const n = nativeZstd();
  if (!n) return compressors;
  const dec = new n.Decoder();
  return { ...compressors, ZSTD: (input: Uint8Array) => dec.decodeSync(asBuffer(input)) };
}

/** The WASM zstd compressor (fallback where no native binary exists). */
export async function wasmZstd(): Promise<(level: number) => Compressor> {
  const wasm = await import('@bokuweb/zstd-wasm');
  await wasm.init();
  return (level) => (input) => wasm.compress(input, level);
}

let zstdImpl: { name: string; make: (level: number) => Compressor } | undefined;

/** The zstd compressor in use: `native` (libzstd via N-API) or `wasm`. */
export async function zstdCompress(level = ZSTD_LEVEL): Promise<{ name: string; compress: Compressor }> {
  if (!zstdImpl) {
    const n = nativeZstd();
    if (n) {
      zstdImpl = {
        name: 'native',
        make: (lvl) => {
          const enc = new n.Encoder(lvl);
          return (input) => enc.encodeSync(asBuffer(input));
        },
      };
    } else {
      zstdImpl = { name: 'wasm', make: await wasmZstd() };
    }
  }
  return { name: zstdImpl.name, compress: zstdImpl.make(level) };
}

export const gzipCompress: Compressor = (input) => gzipSync(input);
