/**
 * Raw JSONL lines as bytes: a line splitter over a file (gzip and zstd
 * decompressed as a stream) with the JSONL reader's numbering rules (leading UTF-8 BOM dropped, `\r\n` and `\n`
 * end a line, a missing final newline is fine, blank lines are not records),
 * the reader's blank-line rule, and its per-line decoding and errors. For
 * callers that must find or copy a few lines without parsing every one
 * (dedup's fast path, the pipeline's second pass); the rows they parse equal
 * the reader's. Imports nothing heavier than @curate/core.
 */
import { open } from 'node:fs/promises';
import { InputError } from '@curate/core';
import { exactRecord, JsonValueError, parseJsonRecord } from './json.js';
import type { StreamCompression } from './types.js';

/** A chunk of whole lines: line i is bytes [starts[i], ends[i]) of buf (CR and LF excluded). */
export interface LineChunk {
  buf: Buffer;
  count: number;
  starts: Int32Array;
  ends: Int32Array;
}

const CHUNK = 4 << 20;

/**
 * The lines of a file whose first byte lies in [from, to), in chunks (a leading UTF-8 BOM of the
 * file is dropped, `\r\n` ends a line, a missing final newline is fine, as in @curate/shards).
 * A gzip or zstd file is decompressed as a stream (then `from` must be 0 and `to` unbounded:
 * offsets of a compressed stream cannot be sought).
 */
export async function* rawLines(
  path: string,
  from = 0,
  to = Number.POSITIVE_INFINITY,
  /** The caller is done with a chunk before asking for the next one: two buffers take turns. */
  reuse = false,
  compression?: StreamCompression,
): AsyncGenerator<LineChunk> {
  if (compression) {
    if (from !== 0 || to !== Number.POSITIVE_INFINITY)
      throw new RangeError(`rawLines: a ${compression} file is read whole (from 0, to the end)`);
    // text.ts (zlib, the zstd decoders) loads only for a compressed file
    const { fileBytes } = await import('./text.js');
    yield* streamLines(fileBytes(path, compression), reuse);
    return;
  }
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`cannot open: ${e.message}`, { code: 'E_NOT_FOUND', file: path });
  });
  try {
    let buf: Buffer = Buffer.allocUnsafe(CHUNK);
    let spare: Buffer | undefined;
    let have = 0; // bytes in buf
    let pos = from; // file position of buf[have]
    let base = from; // file position of buf[0]
    let eof = false;
    const lines = new LineSplitter();
    if (from > 0) {
      // the first line starting at or after `from`: after the newline at or after from - 1
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos - 1);
        if (bytesRead === 0) return;
        const nl = buf.subarray(0, bytesRead).indexOf(10);
        if (nl >= 0) {
          pos = pos - 1 + nl + 1;
          break;
        }
        pos += bytesRead;
      }
      base = pos;
    }
    let first = from === 0;
    while (!eof) {
      if (have === buf.length) {
        const nb = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(nb, 0, 0, have);
        buf = nb;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, pos);
      if (bytesRead === 0) eof = true;
      have += bytesRead;
      pos += bytesRead;
      let s = 0;
      if (first && have >= 3) {
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) s = 3;
        first = false;
      } else if (first && eof) first = false;
      if (first) continue;
      s = lines.split(buf, s, have, eof, to - base);
      if (lines.reachedEnd) eof = true;
      if (lines.count > 0) yield { buf, count: lines.count, starts: lines.starts, ends: lines.ends };
      // keep the partial line: move it to the other buffer (or a fresh one: the yielded one may still be referenced)
      const rest = Math.max(0, have - s);
      const size = Math.max(CHUNK, rest * 2);
      const nb = reuse && spare && spare.length >= size ? spare : Buffer.allocUnsafe(size);
      if (reuse) spare = buf;
      if (rest) buf.copy(nb, 0, s, have);
      base += s;
      buf = nb;
      have = rest;
    }
  } finally {
    await fh.close();
  }
}

/** The lines of a stream of byte chunks (a decompressed file), with rawLines' rules. */
async function* streamLines(chunks: AsyncIterable<Uint8Array>, reuse: boolean): AsyncGenerator<LineChunk> {
  const lines = new LineSplitter();
  let buf: Buffer = Buffer.allocUnsafe(CHUNK);
  let spare: Buffer | undefined;
  let have = 0;
  let first = true;
  const it = chunks[Symbol.asyncIterator]();
  let eof = false;
  while (!eof) {
    // fill the buffer: at least one chunk, up to its size
    do {
      const r = await it.next();
      if (r.done) {
        eof = true;
        break;
      }
      const c = r.value;
      if (have + c.length > buf.length) {
        const nb = Buffer.allocUnsafe(Math.max(buf.length * 2, have + c.length));
        buf.copy(nb, 0, 0, have);
        buf = nb;
      }
      buf.set(c, have);
      have += c.length;
    } while (have < buf.length >> 1);
    let s = 0;
    if (first && (have >= 3 || eof)) {
      if (have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) s = 3;
      first = false;
    }
    if (first) continue;
    s = lines.split(buf, s, have, eof, Number.POSITIVE_INFINITY);
    if (lines.count > 0) yield { buf, count: lines.count, starts: lines.starts, ends: lines.ends };
    const rest = have - s;
    const size = Math.max(CHUNK, rest * 2);
    const nb = reuse && spare && spare.length >= size ? spare : Buffer.allocUnsafe(size);
    if (reuse) spare = buf;
    if (rest) buf.copy(nb, 0, s, have);
    buf = nb;
    have = rest;
  }
}

/**
 * The line finder of `rawLines`, a plain function apart from the async
 * generator: it runs hot, and V8 optimises a small synchronous function
 * much more cheaply than a generator (~40 ms of compile time per run).
 */
class LineSplitter {
  starts = new Int32Array(4096);
  ends = new Int32Array(4096);
  count = 0;
  /** The last split stopped at a line starting at or after its `end`. */
  reachedEnd = false;

  /**
   * The whole lines of buf[s, have) that start before `end` (and the last,
   * unterminated one when `eof`); returns the offset after the last line.
   */
  split(buf: Buffer, s: number, have: number, eof: boolean, end: number): number {
    let starts = this.starts;
    let ends = this.ends;
    let n = 0;
    this.reachedEnd = false;
    for (;;) {
      if (s >= end) {
        this.reachedEnd = true;
        break;
      }
      let nl = buf.indexOf(10, s);
      if (nl < 0 || nl >= have) {
        if (!eof || s >= have) break;
        nl = have; // last line without a newline
      }
      if (n === starts.length) {
        const a = new Int32Array(n * 2);
        a.set(starts);
        starts = this.starts = a;
        const z = new Int32Array(n * 2);
        z.set(ends);
        ends = this.ends = z;
      }
      starts[n] = s;
      ends[n] = nl > s && buf[nl - 1] === 13 ? nl - 1 : nl;
      n++;
      s = nl + 1;
    }
    this.count = n;
    return s;
  }
}

/** The shards reader's blank-line rule: empty, or starting with a char <= 32 and all white space. */
export function isBlank(buf: Buffer, s: number, e: number): boolean {
  if (e === s) return true;
  if (buf[s] > 32) return false;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    if (c < 128) return false;
    return decodeLine(buf, s, e).trim() === '';
  }
  return true;
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A line decoded as the shards reader does (invalid UTF-8 -> U+FFFD). */
export function decodeLine(buf: Uint8Array, s: number, e: number): string {
  return decoder.decode(buf.subarray(s, e));
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How errors name a JSON value that is not an object. */
export function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

/**
 * One JSONL line's text parsed as a record, with the reader's errors (E_JSON_PARSE, E_JSON_NOT_OBJECT,
 * E_JSON_DEPTH, E_JSON_NUMBER; row = line index). Exact (`parseJsonRecord`): integers beyond 2^53
 * are bigints; `floats` collects the top-level keys whose number was written as a float (`1.0`).
 */
export function parseRecord(text: string, file: string, row: number, floats?: Set<string>): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonRecord(text, floats);
  } catch (e) {
    if (e instanceof JsonValueError) throw new InputError(e.message, { code: e.code, file, row });
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { code: 'E_JSON_PARSE', file, row });
  }
  if (!isRecord(value)) {
    throw new InputError(`expected a JSON object per line, got ${kindOf(value)}`, {
      code: 'E_JSON_NOT_OBJECT',
      file,
      row,
    });
  }
  return value;
}

/** `parseRecord` of line bytes buf[s, e). */
export function parseLine(buf: Uint8Array, s: number, e: number, file: string, line: number): Record<string, unknown> {
  return parseRecord(decodeLine(buf, s, e), file, line);
}

/**
 * The JSONL reader's hot path, in two halves: `parseObject` is `JSON.parse` and the object check;
 * `refineRecord` (for a row with a number or nested value) makes it what `parseRecord` gives.
 */
export function parseObject(text: string, file: string, row: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { code: 'E_JSON_PARSE', file, row });
  }
  if (!isRecord(value)) {
    throw new InputError(`expected a JSON object per line, got ${kindOf(value)}`, {
      code: 'E_JSON_NOT_OBJECT',
      file,
      row,
    });
  }
  return value;
}

/** `parseRecord`'s result for a record `parseObject` gave from `text` (see `exactRecord`). */
export function refineRecord(
  obj: Record<string, unknown>,
  text: string,
  file: string,
  row: number,
  floats?: Set<string>,
): Record<string, unknown> {
  try {
    return exactRecord(obj, text, floats);
  } catch (e) {
    if (e instanceof JsonValueError) throw new InputError(e.message, { code: e.code, file, row });
    throw e;
  }
}
