/**
 * Buffer codecs for compressed Arrow IPC (the `compression` of a record batch:
 * LZ4_FRAME or ZSTD), registered with apache-arrow's codec registry on import.
 * pyarrow/pandas write `.feather` with LZ4 by default, so reading needs both.
 *  - ZSTD: native `@toondepauw/node-zstd` when it loads, else fzstd (pure JS).
 *  - LZ4 frame: a small decoder here (no maintained JS LZ4-frame decoder is installed);
 *    handles linked and independent blocks, checksums (skipped), skippable frames.
 */
import { createRequire } from 'node:module';
import { CompressionType, compressionRegistry } from 'apache-arrow';
import xxhash from 'xxhash-wasm';
import { checkedZstdDecompress } from './zstd-frames.js';

type Codec = (input: Uint8Array) => Uint8Array;

function loadNativeZstd(): Codec | undefined {
  try {
    const require = createRequire(import.meta.url);
    const { Decoder } = require('@toondepauw/node-zstd') as {
      Decoder: new () => { decodeSync(data: Buffer): Buffer };
    };
    const decoder = new Decoder();
    return (input) => decoder.decodeSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  } catch {
    return undefined;
  }
}

let native: Codec | undefined | null = null;

// XXH64 for checking frames the JS decoder reads (the codec registry calls decoders synchronously)
const { h64Raw } = await xxhash();

/**
 * zstd-decompress one buffer: native when available; else, or when the native binding refuses a
 * frame (e.g. one without a content size), fzstd with every frame checked against its content size
 * and checksum. Before, any native error (a checksum mismatch included) fell through to fzstd
 * unchecked: 36 of 40 single-bit flips of a checksummed frame decoded to changed data.
 */
export function zstdDecode(input: Uint8Array): Uint8Array {
  if (native === null) native = loadNativeZstd();
  if (native) {
    try {
      return native(input);
    } catch {
      // fall through to the checked JS decoder, which names what is wrong when the data is corrupt
    }
  }
  return checkedZstdDecompress(input, (data) => h64Raw(data, 0n));
}

const LZ4_MAGIC = 0x184d2204;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

function u32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** Decode one LZ4 block from input[i, end) into out at o; returns the new output position. */
function lz4Block(input: Uint8Array, i: number, end: number, out: Uint8Array, o: number): number {
  while (i < end) {
    const token = input[i++];
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        b = input[i++];
        lit += b;
      } while (b === 255);
    }
    if (lit) {
      out.set(input.subarray(i, i + lit), o);
      o += lit;
      i += lit;
    }
    if (i >= end) break;
    const offset = input[i] | (input[i + 1] << 8);
    i += 2;
    if (offset === 0 || offset > o) throw new Error(`lz4: match offset ${offset} out of range`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        b = input[i++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    let m = o - offset;
    if (offset >= len) {
      out.copyWithin(o, m, m + len);
      o += len;
    } else {
      for (const stop = o + len; o < stop; ) out[o++] = out[m++];
    }
  }
  return o;
}

/** Decode an LZ4 frame (or several concatenated) into bytes. */
export function lz4FrameDecode(input: Uint8Array): Uint8Array {
  let out = new Uint8Array(Math.max(64, input.length * 3));
  let o = 0;
  const ensure = (n: number) => {
    if (o + n <= out.length) return;
    const next = new Uint8Array(Math.max(out.length * 2, o + n));
    next.set(out.subarray(0, o));
    out = next;
  };
  let i = 0;
  while (i + 4 <= input.length) {
    const magic = u32(input, i);
    if (magic >>> 4 === 0x184d2a5) {
      i += 8 + u32(input, i + 4); // skippable frame
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new Error('lz4: not an LZ4 frame');
    const flg = input[i + 4];
    const bd = input[i + 5];
    i += 6;
    if (flg >> 6 !== 1) throw new Error('lz4: unsupported frame version');
    const blockChecksum = (flg >> 4) & 1;
    const contentChecksum = (flg >> 2) & 1;
    const blockMax = BLOCK_MAX[(bd >> 4) & 7];
    if (!blockMax) throw new Error('lz4: bad block size');
    if ((flg >> 3) & 1) {
      const size = u32(input, i) + u32(input, i + 4) * 2 ** 32;
      ensure(size);
      i += 8;
    }
    if (flg & 1) i += 4; // dictionary id
    i += 1; // header checksum
    for (;;) {
      if (i + 4 > input.length) throw new Error('lz4: truncated frame');
      const word = u32(input, i);
      i += 4;
      if (word === 0) break;
      const len = word & 0x7fffffff;
      if (i + len > input.length) throw new Error('lz4: truncated block');
      if (word & 0x80000000) {
        ensure(len);
        out.set(input.subarray(i, i + len), o);
        o += len;
      } else {
        ensure(blockMax);
        o = lz4Block(input, i, i + len, out, o);
      }
      i += len + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) i += 4;
  }
  return out.subarray(0, o);
}

let registered = false;

/** Register the decoders with apache-arrow (idempotent); keeps an encoder someone else registered. */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  for (const [type, decode] of [
    [CompressionType.ZSTD, zstdDecode],
    [CompressionType.LZ4_FRAME, lz4FrameDecode],
  ] as const) {
    const existing = compressionRegistry.get(type);
    compressionRegistry.set(type, { encode: existing?.encode, decode });
  }
}

/** Register a zstd encoder (for writing compressed Arrow IPC). */
export function registerArrowZstdEncoder(encode: Codec): void {
  registerArrowCodecs();
  compressionRegistry.set(CompressionType.ZSTD, { encode, decode: zstdDecode });
}
