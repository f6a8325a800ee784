/**
 * zstd frames (RFC 8878 §3.1) walked without decoding, so that every decoder's output is checked
 * against each frame's declared content size and checksum: fzstd (pure JS) checks neither.
 */
import { InputError } from '@curate/core';
import { decompress } from 'fzstd';
import { ZstdStream } from './zstd-stream.js';

const ZSTD_MAGIC = 0xfd2fb528;
const FCS_BYTES = [0, 2, 4, 8];
const DID_BYTES = [0, 1, 2, 4];

/** What the frame walker found at the end of a frame. */
export interface FrameEnd {
  /** Offset in the chunk just past the frame. */
  at: number;
  /** Declared content size, when the frame has one. */
  size?: number;
  /** Declared checksum (low 32 bits of XXH64), when the frame has one. */
  checksum?: number;
  /** A skippable frame: no output. */
  skippable: boolean;
}

/**
 * Walks the frames of a zstd stream (RFC 8878 §3.1) without decoding them: headers, block sizes,
 * checksums. fzstd decodes but checks neither checksums nor content sizes (17 of 30 single-bit
 * flips read as changed rows); the walker tells where each frame ends and what it declared, so
 * the decoder's output per frame is checked against both.
 */
export class ZstdFrameWalker {
  private state: 'magic' | 'fhd' | 'header' | 'block' | 'body' | 'checksum' | 'skipsize' | 'skip' = 'magic';
  private need = 4;
  private got = 0;
  private readonly hdr = new Uint8Array(16);
  private fhd = 0;
  private size: number | undefined;
  private last = false;
  private pos = 0; // stream offset of the current chunk's first byte
  frames = 0;

  constructor(private readonly path: string) {}

  /** True when the stream may end here (between frames). */
  get atBoundary(): boolean {
    return this.state === 'magic' && this.got === 0;
  }

  /** The ends of frames within `chunk`. */
  feed(chunk: Uint8Array): FrameEnd[] {
    const ends: FrameEnd[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 'body' || this.state === 'skip') {
        const k = Math.min(this.need, n - i);
        i += k;
        this.need -= k;
        if (this.need > 0) break;
        if (this.state === 'skip') {
          ends.push({ at: i, skippable: true });
          this.begin();
        } else this.afterBlock(ends, i);
        continue;
      }
      // header-like states: gather `need` bytes into hdr
      const k = Math.min(this.need - this.got, n - i);
      this.hdr.set(chunk.subarray(i, i + k), this.got);
      this.got += k;
      i += k;
      if (this.got < this.need) break;
      this.got = 0;
      const h = this.hdr;
      switch (this.state) {
        case 'magic': {
          const m = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
          if (m === ZSTD_MAGIC) {
            this.state = 'fhd';
            this.need = 1;
          } else if (m >>> 4 === 0x184d2a5) {
            this.state = 'skipsize';
            this.need = 4;
          } else throw this.error(`not zstd data (no frame magic number at byte ${this.pos + i - 4})`);
          break;
        }
        case 'fhd': {
          const fhd = h[0];
          if (fhd & 8)
            throw this.error(`a reserved bit is set in the header of frame ${this.frames + 1} (corrupt file)`);
          this.fhd = fhd;
          const single = (fhd >> 5) & 1;
          const fcf = fhd >> 6;
          const fcs = fcf === 0 ? single : FCS_BYTES[fcf];
          this.need = (single ? 0 : 1) + DID_BYTES[fhd & 3] + fcs;
          this.state = 'header';
          if (this.need === 0) this.headerDone();
          break;
        }
        case 'header':
          this.headerDone();
          break;
        case 'block': {
          const b = h[0] | (h[1] << 8) | (h[2] << 16);
          this.last = (b & 1) === 1;
          const type = (b >> 1) & 3;
          if (type === 3) throw this.error(`a reserved block type in frame ${this.frames + 1} (corrupt file)`);
          const size = b >>> 3;
          this.need = type === 1 ? 1 : size;
          this.state = 'body';
          if (this.need === 0) this.afterBlock(ends, i);
          break;
        }
        case 'checksum': {
          const sum = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
          this.frameEnd(ends, i, sum);
          break;
        }
        case 'skipsize':
          this.need = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0;
          this.state = 'skip';
          if (this.need === 0) {
            ends.push({ at: i, skippable: true });
            this.begin();
          }
          break;
      }
    }
    this.pos += n;
    return ends;
  }

  private begin(): void {
    this.state = 'magic';
    this.need = 4;
    this.got = 0;
  }

  private headerDone(): void {
    const fhd = this.fhd;
    const single = (fhd >> 5) & 1;
    const fcf = fhd >> 6;
    const fcsBytes = fcf === 0 ? single : FCS_BYTES[fcf];
    const at = (single ? 0 : 1) + DID_BYTES[fhd & 3];
    let size: number | undefined;
    if (fcsBytes > 0) {
      size = 0;
      for (let j = fcsBytes - 1; j >= 0; j--) size = size * 256 + this.hdr[at + j];
      if (fcsBytes === 2) size += 256;
    }
    this.size = size;
    this.state = 'block';
    this.need = 3;
  }

  private afterBlock(ends: FrameEnd[], at: number): void {
    if (!this.last) {
      this.state = 'block';
      this.need = 3;
    } else if ((this.fhd >> 2) & 1) {
      this.state = 'checksum';
      this.need = 4;
    } else this.frameEnd(ends, at, undefined);
  }

  private frameEnd(ends: FrameEnd[], at: number, checksum: number | undefined): void {
    this.frames++;
    const end: FrameEnd = { at, skippable: false };
    if (this.size !== undefined) end.size = this.size;
    if (checksum !== undefined) end.checksum = checksum;
    ends.push(end);
    this.begin();
  }

  error(what: string): InputError {
    return new InputError(`cannot read: zstd: ${what}`, { code: 'E_READ', file: this.path || undefined });
  }
}

/**
 * One frame at a time, each frame checked against its content size and checksum (`h64`: XXH64
 * with seed 0): fzstd's one-shot decoder for a frame that declares its content size (it decodes
 * straight into an output of that size), our streaming decoder (`zstd-stream.ts`) for one that
 * does not (fzstd would allocate and shift the whole declared window, up to 2 GiB, per block). For
 * buffers (Arrow IPC) where the native decoder is missing or refuses a frame.
 */
export function checkedZstdDecompress(input: Uint8Array, h64: (data: Uint8Array) => bigint, path = ''): Uint8Array {
  const walker = new ZstdFrameWalker(path);
  const ends = walker.feed(input);
  if (!walker.atBoundary) throw walker.error('the data ends inside a frame (truncated)');
  const parts: Uint8Array[] = [];
  let from = 0;
  let frame = 0;
  for (const end of ends) {
    const bytes = input.subarray(from, end.at);
    from = end.at;
    if (end.skippable) continue;
    frame++;
    let out: Uint8Array;
    try {
      out = end.size !== undefined ? decompress(bytes) : streamDecompress(bytes);
    } catch (e) {
      throw walker.error(`${(e as Error).message} in frame ${frame} (corrupt data)`);
    }
    if (end.size !== undefined && end.size !== out.length)
      throw walker.error(`frame ${frame} declares ${end.size} bytes of content but holds ${out.length} (corrupt data)`);
    if (end.checksum !== undefined && Number(h64(out) & 0xffffffffn) !== end.checksum)
      throw walker.error(`checksum mismatch in frame ${frame} (corrupt data)`);
    parts.push(out);
  }
  if (parts.length === 1) return parts[0];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** One frame (or more) decoded by our streaming decoder into one buffer. */
function streamDecompress(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  new ZstdStream((data) => parts.push(data)).push(bytes, true);
  if (parts.length === 1) return parts[0];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
