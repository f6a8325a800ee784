/**
 * Byte and line streams for text formats: file -> optional gunzip / zstd ->
 * UTF-8 decode -> lines. Invalid UTF-8 becomes U+FFFD (never a crash); a
 * leading UTF-8 BOM is dropped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '@curate/core';
import { isRemote, storageFor } from './storage/index.js';
import type { StreamCompression } from './types.js';
import { ZstdFrameWalker } from './zstd-frames.js';
import { ZstdStream } from './zstd-stream.js';

const READ_CHUNK = 1 << 20;

let cliChecked: boolean | undefined;

/**
 * Whether to decompress zstd with the `zstd` command-line tool: a native
 * decoder in its own process, faster than the JS decoder (`zstd-stream.ts`).
 * Used when it is on PATH unless CURATE_ZSTD=js.
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

/**
 * zstd without the program: our streaming decoder (`zstd-stream.ts`, a modified copy of fzstd's whose
 * time and memory grow with the bytes decoded, not with the declared window, so `zstd --long=30`
 * files read in linear time), fed one frame at a time so that each frame's output is checked
 * against its declared content size and checksum (XXH64, from xxhash-wasm). A truncated stream, a
 * bad frame or a flipped bit is `E_READ` naming the file.
 */
async function* zstdJs(path: string, raw: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array> {
  const { default: xxhash } = await import('xxhash-wasm');
  const { create64 } = await xxhash();
  const walker = new ZstdFrameWalker(path);
  let out: Uint8Array[] = [];
  let hash = create64(0n);
  let produced = 0;
  const dec = new ZstdStream((data) => {
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
      // `final` at a frame's end: the decoder must have decoded the whole frame (and handed out
      // its output) by then
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
  const remote = isRemote(path);
  // a remote object is one streamed GET (resumed by the driver after a fault)
  const raw = remote
    ? Readable.from(storageFor(path).stream(path), { objectMode: false })
    : createReadStream(path, { highWaterMark: READ_CHUNK });
  if (!compression) {
    yield* raw as AsyncIterable<Buffer>;
    return;
  }
  if (compression === 'gzip') {
    // node:zlib checks gzip's CRC-32 and length trailer, and fails on a truncated stream
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    raw.on('error', (e: Error) => gunzip.destroy(e));
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
  if (!remote && zstdCliAvailable()) {
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
