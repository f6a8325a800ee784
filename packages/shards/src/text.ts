/**
 * Byte and line streams for text formats: file -> optional gunzip / zstd ->
 * UTF-8 decode -> lines. Invalid UTF-8 becomes U+FFFD (never a crash); a
 * leading UTF-8 BOM is dropped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { InputError } from '@curate/core';
import { Decompress } from 'fzstd';
import type { StreamCompression } from './types.js';

const READ_CHUNK = 1 << 20;

let cliChecked: boolean | undefined;

/**
 * Whether to decompress zstd with the `zstd` command-line tool: a native
 * decoder in its own process, 4-10x faster than fzstd (pure JS) here, and the
 * only decoder installed here that reads long windows (`zstd --long=30`) in
 * linear time. Used when it is on PATH unless CURATE_ZSTD=js.
 */
function zstdCliAvailable(): boolean {
  if (process.env.CURATE_ZSTD === 'js') return false;
  if (cliChecked === undefined) {
    const r = spawnSync('zstd', ['--version'], { stdio: 'ignore' });
    cliChecked = !r.error && r.status === 0;
  }
  return cliChecked;
}

/** A corrupt or unreadable compressed file (`E_READ`, naming it). */
function corrupt(path: string, what: string, cause?: unknown): InputError {
  return new InputError(`cannot read: ${what}`, { code: 'E_READ', file: path, cause });
}

async function* zstdCli(path: string): AsyncGenerator<Uint8Array> {
  // --long=31 lifts the decoder's default 128 MiB window limit (files written with --long=30 were
  // refused); the program checks every frame's checksum and content size itself.
  const child = spawn('zstd', ['-dcq', '--long=31', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res(code));
  });
  let done = false;
  try {
    yield* child.stdout as AsyncIterable<Buffer>;
    const code = await exited;
    done = true;
    if (code !== 0) {
      // "zstd: <file name, maybe shortened> : Decoding error (36) : Restored data doesn't match checksum"
      let msg = stderr
        .split(path)
        .join('')
        .replace(/^zstd: /, '')
        .replace(/\s+/g, ' ')
        .trim();
      const sep = msg.indexOf(' : ');
      if (sep >= 0) msg = msg.slice(sep + 3);
      msg = msg.replace(/^[\s:]+/, '');
      throw corrupt(path, `zstd: ${msg || `exit code ${code}`}`);
    }
  } finally {
    if (!done) {
      child.kill();
      await exited.catch(() => {});
    }
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const FCS_BYTES = [0, 2, 4, 8];
const DID_BYTES = [0, 1, 2, 4];

/** What the frame walker found at the end of a frame. */
interface FrameEnd {
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
class ZstdFrameWalker {
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
    return corrupt(this.path, `zstd: ${what}`);
  }
}

/**
 * zstd without the program: fzstd's streaming decoder, fed one frame at a time so that each
 * frame's output is checked against its declared content size and checksum (XXH64, from
 * xxhash-wasm). A truncated stream, a bad frame or a flipped bit is `E_READ` naming the file.
 */
async function* zstdJs(path: string, raw: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array> {
  const { default: xxhash } = await import('xxhash-wasm');
  const { create64 } = await xxhash();
  const walker = new ZstdFrameWalker(path);
  let out: Uint8Array[] = [];
  let hash = create64(0n);
  let produced = 0;
  const dec = new Decompress((data) => {
    if (!data.length) return;
    out.push(data);
    hash.update(data);
    produced += data.length;
  });
  let decoded = 0; // frames the decoder has finished
  const push = (bytes: Uint8Array, final: boolean) => {
    try {
      dec.push(bytes, final);
    } catch (e) {
      throw walker.error(`${(e as Error).message} in frame ${decoded + 1} (corrupt file)`);
    }
  };
  for await (const chunk of raw) {
    let from = 0;
    for (const end of walker.feed(chunk)) {
      // `final` at a frame's end: fzstd otherwise holds back inputs under 18 bytes, so a small
      // frame's output would come only with the next frame's bytes
      push(chunk.subarray(from, end.at), !end.skippable);
      from = end.at;
      if (end.skippable) continue;
      const frame = ++decoded;
      if (end.size !== undefined && end.size !== produced) {
        throw walker.error(`frame ${frame} declares ${end.size} bytes of content but holds ${produced} (corrupt file)`);
      }
      if (end.checksum !== undefined && Number(hash.digest() & 0xffffffffn) !== end.checksum) {
        throw walker.error(`checksum mismatch in frame ${frame} (corrupt file)`);
      }
      hash = create64(0n);
      produced = 0;
    }
    if (from < chunk.length) push(chunk.subarray(from), false);
    if (out.length) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  if (!walker.atBoundary) throw walker.error('the file ends inside a frame (truncated file)');
  push(new Uint8Array(0), true);
  yield* out;
}

/** Decompressed bytes of a file. Corrupt or truncated gzip and zstd data is `E_READ` naming the file. */
export async function* fileBytes(path: string, compression?: StreamCompression): AsyncGenerator<Uint8Array> {
  const raw = createReadStream(path, { highWaterMark: READ_CHUNK });
  if (!compression) {
    yield* raw as AsyncIterable<Buffer>;
    return;
  }
  if (compression === 'gzip') {
    // node:zlib checks gzip's CRC-32 and length trailer, and fails on a truncated stream
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    raw.on('error', (e) => gunzip.destroy(e));
    try {
      yield* raw.pipe(gunzip) as AsyncIterable<Buffer>;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err?.code?.startsWith('Z_') || err?.code === 'ERR_STREAM_PREMATURE_CLOSE')
        throw corrupt(path, `gzip: ${err.message} (corrupt or truncated file)`, e);
      throw e;
    } finally {
      raw.destroy();
    }
    return;
  }
  if (zstdCliAvailable()) {
    raw.destroy();
    yield* zstdCli(path);
    return;
  }
  try {
    yield* zstdJs(path, raw as AsyncIterable<Buffer>);
  } finally {
    raw.destroy();
  }
}

/** Text chunks of a file, decoded as UTF-8 (BOM dropped, invalid bytes -> U+FFFD). */
export async function* fileText(path: string, compression?: StreamCompression): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
  for await (const chunk of fileBytes(path, compression)) {
    const s = decoder.decode(chunk, { stream: true });
    if (s) yield s;
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

/**
 * Lines of a file, as arrays of lines per input chunk. `\n` and `\r\n` end a
 * line; a missing final newline is fine. Line `i` of the file is the i-th line
 * overall (blank lines included), so callers can number rows by line.
 */
export async function* fileLines(path: string, compression?: StreamCompression): AsyncGenerator<string[]> {
  let rest = '';
  for await (const text of fileText(path, compression)) {
    const buf = rest ? rest + text : text;
    const lines: string[] = [];
    let start = 0;
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(buf.slice(start, end));
      start = nl + 1;
      nl = buf.indexOf('\n', start);
    }
    rest = buf.slice(start);
    if (lines.length) yield lines;
  }
  if (rest) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}
