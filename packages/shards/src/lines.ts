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
import { isRemote, storageFor } from './storage/index.js';
import type { StreamCompression } from './types.js';

/** A chunk of whole lines: line i is bytes [starts[i], ends[i]) of buf (CR and LF excluded). */
export interface LineChunk {
  buf: Buffer;
  count: number;
  starts: Int32Array;
  ends: Int32Array;
}

const CHUNK = 4 << 20;
/** The smallest buffer a (small) file gets. */
const MIN_BUFFER = 64 << 10;

/**
 * Chunk buffers of finished `reuse` readers, for the next reader on this thread. Fresh memory
 * costs a page fault per 4 KiB on first touch: 1.3-1.8 ms per MB on the 2-core VM against
 * 0.03-0.07 ms for memory already touched (a re-mix faulted ~53 MB of read buffers in, one or two
 * new 4 MiB buffers per file and row range, before this pool). At most POOL_MAX buffers of at most
 * POOL_BYTES each are kept (a buffer grown for a long line is let go).
 */
const pool: Buffer[] = [];
const POOL_MAX = 4;
const POOL_BYTES = 2 * CHUNK;

function takeBuffer(size: number, reuse: boolean): Buffer {
  if (reuse) {
    for (let i = 0; i < pool.length; i++) {
      if (pool[i].length >= size) return pool.splice(i, 1)[0];
    }
  }
  return Buffer.allocUnsafe(size);
}

function giveBack(b: Buffer | undefined): void {
  if (b && b.length <= POOL_BYTES && pool.length < POOL_MAX && !pool.includes(b)) pool.push(b);
}

/**
 * The longest line read by default: 256 MiB (the `CURATE_MAX_LINE_BYTES` environment variable, in
 * bytes, changes the default). A longer line is an InputError (`E_LINE_TOO_LONG`) naming the file,
 * line and byte offset, found with at most ~2x the limit in memory, instead of buffers that grow
 * until the process dies (a 3 GB line, or a link to /dev/zero, ended in a native assertion).
 */
export const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;

/** The line limit in force: `wanted`, else CURATE_MAX_LINE_BYTES, else DEFAULT_MAX_LINE_BYTES. */
export function maxLineBytes(wanted?: number): number {
  if (wanted !== undefined) {
    if (!Number.isSafeInteger(wanted) || wanted < 1)
      throw new RangeError(`maxLineBytes must be a positive integer, got ${wanted}`);
    return wanted;
  }
  const env = process.env.CURATE_MAX_LINE_BYTES;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new InputError(`CURATE_MAX_LINE_BYTES must be a positive whole number of bytes, got "${env}"`, {
        code: 'E_LINE_LIMIT',
      });
    }
    return n;
  }
  return DEFAULT_MAX_LINE_BYTES;
}

function mib(n: number): string {
  return n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} bytes`;
}

function lineTooLong(path: string, line: number, offset: number, max: number, compressed: boolean): InputError {
  const at = compressed ? `byte ${offset} of the decompressed text` : `byte ${offset}`;
  return new InputError(
    `line ${line + 1} (starting at ${at}) is longer than the line limit of ${mib(max)} (raise it with maxLineBytes or CURATE_MAX_LINE_BYTES, or split the line)`,
    { code: 'E_LINE_TOO_LONG', file: path, row: line },
  );
}

/** Options of `rawLines` beyond its positional ones. */
export interface RawLinesOptions {
  /** The longest line accepted, in bytes (CR/LF excluded); default `maxLineBytes()`. */
  maxLineBytes?: number;
}

/** Fills buf[at, at + len) with the next bytes; 0 = end of input. */
type Fill = (buf: Buffer, at: number, len: number) => Promise<number>;

/**
 * A Fill over an iterator of byte chunks (decompressed or raw): copies chunks into `buf` until it is
 * full or the input ends. `first`/`pos`: a chunk already taken from the iterator and where in it to go on.
 */
function chunkFill(it: AsyncIterator<Uint8Array>, first?: Uint8Array, pos = 0): Fill {
  let cur = first;
  let curPos = pos;
  return async (buf, at, len) => {
    let n = 0;
    while (n < len) {
      if (!cur || curPos === cur.length) {
        const r = await it.next();
        if (r.done) break;
        cur = r.value;
        curPos = 0;
        continue;
      }
      const k = Math.min(len - n, cur.length - curPos);
      buf.set(cur.subarray(curPos, curPos + k), at + n);
      curPos += k;
      n += k;
    }
    return n;
  };
}

/**
 * The lines of a file whose first byte lies in [from, to), in chunks (a leading UTF-8 BOM of the
 * file is dropped, `\r\n` ends a line, a missing final newline is fine, as in @curate/shards).
 * A gzip or zstd file is decompressed as a stream (then `from` must be 0 and `to` unbounded:
 * offsets of a compressed stream cannot be sought). Time is linear in the bytes read, however
 * long the lines; a line longer than the limit is `E_LINE_TOO_LONG`.
 */
export async function* rawLines(
  path: string,
  from = 0,
  to = Number.POSITIVE_INFINITY,
  /** The caller is done with a chunk before asking for the next one: two buffers take turns. */
  reuse = false,
  compression?: StreamCompression,
  options: RawLinesOptions = {},
): AsyncGenerator<LineChunk> {
  const max = maxLineBytes(options.maxLineBytes);
  if (compression) {
    if (from !== 0 || to !== Number.POSITIVE_INFINITY)
      throw new RangeError(`rawLines: a ${compression} file is read whole (from 0, to the end)`);
    // text.ts (zlib, the zstd decoders) loads only for a compressed file
    const { fileBytes } = await import('./text.js');
    const it = fileBytes(path, compression)[Symbol.asyncIterator]();
    // copy decompressed chunks into buf until it is full or the input ends
    const fill = chunkFill(it);
    try {
      yield* splitLines(path, fill, 0, Number.POSITIVE_INFINITY, reuse, Number.POSITIVE_INFINITY, max, true);
    } finally {
      await it.return?.(undefined);
    }
    return;
  }
  if (isRemote(path)) {
    yield* remoteLines(path, from, to, reuse, max);
    return;
  }
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`cannot open: ${e.message}`, { code: 'E_NOT_FOUND', file: path });
  });
  try {
    // the size is a hint for the first buffer (small files get small buffers); devices say 0
    const st = await fh.stat();
    const size = st.size;
    // a pipe or device (read only when asked for, see expandInputs) is read in order, without offsets
    const seekable = st.isFile();
    if (!seekable && from > 0) throw new RangeError('rawLines: only a regular file is read from an offset');
    let pos = from;
    if (from > 0) {
      // the first line starting at or after `from`: after the newline at or after from - 1
      const probe = Buffer.allocUnsafe(MIN_BUFFER);
      for (;;) {
        const { bytesRead } = await fh.read(probe, 0, probe.length, pos - 1);
        if (bytesRead === 0) return;
        const nl = probe.subarray(0, bytesRead).indexOf(10);
        if (nl >= 0) {
          pos = pos - 1 + nl + 1;
          break;
        }
        pos += bytesRead;
        if (pos - from > max + 2) throw lineTooLong(path, 0, from, max, false);
      }
    }
    const start = pos;
    // a short read of a regular file is its end: no second read to learn it (one fewer round
    // trip through the thread pool per small file)
    let atEnd = false;
    const fill: Fill = async (buf, at, len) => {
      if (atEnd) return 0;
      const { bytesRead } = await fh.read(buf, at, len, seekable ? pos : null);
      pos += bytesRead;
      if (seekable && bytesRead < len) atEnd = true;
      return bytesRead;
    };
    yield* splitLines(path, fill, start, to, reuse, size > start ? size - start : Number.POSITIVE_INFINITY, max, false);
  } finally {
    await fh.close();
  }
}

/** rawLines of an object-store file: one streamed GET from `from - 1` (or 0) on. */
async function* remoteLines(
  path: string,
  from: number,
  to: number,
  reuse: boolean,
  max: number,
): AsyncGenerator<LineChunk> {
  const store = storageFor(path);
  const info = await store.stat(path);
  if (!info) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: path });
  // a bounded range first (the lines starting before `to`, and some bytes past it for the last
  // line's end), then, only if that line goes on, the rest: an open-ended GET would make the
  // server send the rest of the file for every range
  const first = from > 0 ? from - 1 : 0;
  const bound = Number.isFinite(to) ? Math.min(info.size, to + (1 << 20)) : info.size;
  async function* bytes() {
    yield* store.stream(path, first, bound);
    if (bound < info!.size) yield* store.stream(path, bound);
  }
  const it = bytes()[Symbol.asyncIterator]();
  let cur: Uint8Array | undefined;
  let curPos = 0;
  let start = 0;
  if (from > 0) {
    // the first line starting at or after `from`: after the newline at or after from - 1
    let pos = from - 1;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      const nl = r.value.indexOf(10);
      if (nl >= 0) {
        cur = r.value;
        curPos = nl + 1;
        start = pos + nl + 1;
        break;
      }
      pos += r.value.length;
      if (pos - from > max + 2) throw lineTooLong(path, 0, from, max, false);
    }
  }
  const fill = chunkFill(it, cur, curPos);
  try {
    yield* splitLines(path, fill, start, to, reuse, info.size > start ? info.size - start : 1, max, false);
  } finally {
    await it.return?.(undefined);
  }
}

/**
 * The line loop of rawLines over any byte source. Bytes are read into one buffer; lines found are
 * yielded as views of it, then the unfinished last line moves to a fresh (or, with `reuse`, the
 * spare) buffer. While no line ends, reads go on into the same buffer, which doubles when full,
 * and the newline search resumes where it stopped: every byte is searched once and copied a
 * bounded number of times (the old loop copied and searched the whole unfinished line again per
 * 256 KiB of decompressed input: quadratic in the line length).
 */
async function* splitLines(
  path: string,
  fill: Fill,
  /** Position (in the file or the decompressed text) of the first byte `fill` gives. */
  start: number,
  /** Lines starting at or after this position are not read. */
  to: number,
  reuse: boolean,
  /** Bytes expected (a hint for buffer sizes; Infinity when unknown). */
  expected: number,
  max: number,
  compressed: boolean,
): AsyncGenerator<LineChunk> {
  const lines = new LineSplitter();
  // room for the unfinished line and more, never much above the limit; small inputs, small buffers
  const sizeFor = (rest: number, left: number) =>
    Math.max(
      Math.min(rest * 2, max + 2 + MIN_BUFFER),
      rest + MIN_BUFFER,
      Math.min(CHUNK, Math.max(MIN_BUFFER, left + 1)),
    );
  let buf: Buffer = takeBuffer(sizeFor(0, expected), reuse);
  let spare: Buffer | undefined;
  let have = 0; // bytes in buf
  let s = 0; // start of the unfinished line in buf
  let scan = 0; // buf[s, scan) holds no newline
  let base = start; // position of buf[0]
  let line = 0; // index of the line starting at buf[s]
  let read = 0; // bytes read so far
  let first = start === 0;
  let eof = false;
  try {
    while (!eof) {
      if (have === buf.length) {
        // full, and no line ended since the last move: grow (the line must fit, up to the limit)
        const nb = Buffer.allocUnsafe(Math.min(buf.length * 2, Math.max(buf.length + 1, max + 2 + MIN_BUFFER)));
        buf.copy(nb, 0, s, have);
        base += s;
        have -= s;
        scan -= s;
        s = 0;
        buf = nb;
      }
      const n = await fill(buf, have, buf.length - have);
      if (n === 0) eof = true;
      have += n;
      read += n;
      if (first) {
        if (have < 3 && !eof) continue;
        if (have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) s = scan = 3;
        first = false;
      }
      const next = lines.split(buf, s, scan, have, eof, to - base, max);
      if (lines.tooLong >= 0) throw lineTooLong(path, line + lines.count, base + lines.tooLong, max, compressed);
      if (lines.reachedEnd) eof = true;
      line += lines.count;
      s = next;
      scan = have;
      if (!eof && have - s > max + 1) throw lineTooLong(path, line, base + s, max, compressed);
      if (lines.count > 0) {
        yield { buf, count: lines.count, starts: lines.starts, ends: lines.ends };
        if (eof) break;
        // keep the unfinished line: move it out of the yielded buffer (the caller may still hold it)
        const rest = have - s;
        const size = sizeFor(rest, expected - read);
        const nb = reuse && spare && spare.length >= size ? spare : takeBuffer(size, reuse);
        if (reuse) spare = buf;
        if (rest) buf.copy(nb, 0, s, have);
        base += s;
        buf = nb;
        have = scan = rest;
        s = 0;
      }
    }
  } finally {
    // the caller is done with every chunk (`reuse`): the buffers serve the next reader on this thread
    if (reuse) {
      giveBack(buf);
      if (spare !== buf) giveBack(spare);
    }
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
  /** Start of a line longer than the limit, or -1. */
  tooLong = -1;

  /**
   * The whole lines of buf[s, have) that start before `end` (and the last,
   * unterminated one when `eof`); returns the offset after the last line.
   * buf[s, scan) is known to hold no newline. The search never looks past
   * `have` (the rest of the buffer is stale bytes: searching it cost
   * milliseconds per small file, and hid lines in stale data).
   */
  split(buf: Buffer, s: number, scan: number, have: number, eof: boolean, end: number, max: number): number {
    let starts = this.starts;
    let ends = this.ends;
    let n = 0;
    this.reachedEnd = false;
    this.tooLong = -1;
    const view = buf.subarray(0, have);
    let from = Math.max(scan, s);
    for (;;) {
      if (s >= end) {
        this.reachedEnd = true;
        break;
      }
      let nl = from < have ? view.indexOf(10, from) : -1;
      if (nl < 0) {
        if (!eof || s >= have) break;
        nl = have; // last line without a newline
      }
      const e = nl > s && buf[nl - 1] === 13 ? nl - 1 : nl;
      if (e - s > max) {
        this.tooLong = s;
        break;
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
      ends[n] = e;
      n++;
      s = from = nl + 1;
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
    throw invalidJson(e, file, row);
  }
  return recordOf(value, file, row);
}

function invalidJson(e: unknown, file: string, row: number): InputError {
  return new InputError(`invalid JSON: ${(e as Error).message}`, { code: 'E_JSON_PARSE', file, row });
}

/** The column a JSONL line (or `.json` element) that is a bare array of turns is read into. */
export const BARE_ARRAY_COLUMN = 'messages';

/** Does a line's JSON text start with `[` (after white space)? */
export function isArrayLine(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10 || c === 0xfeff) continue;
    return c === 91;
  }
  return false;
}

/**
 * A JSONL line that is a bare JSON array (a conversation exported as its list of turns) as the row
 * `{ messages: [...] }`, exactly (integers beyond 2^53 as bigint); errors as `parseRecord`'s.
 */
export function parseArrayRow(text: string, file: string, row: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonRecord(text);
  } catch (e) {
    if (e instanceof JsonValueError) throw new InputError(e.message, { code: e.code, file, row });
    throw invalidJson(e, file, row);
  }
  const rec = Object.create(null) as Record<string, unknown>;
  rec[BARE_ARRAY_COLUMN] = value;
  return rec;
}

/** A file whose lines are objects and bare arrays both: E_JSONL_MIXED naming the line and the first line of the other shape. */
export function mixedLines(file: string, row: number, firstRow: number, arrays: boolean): InputError {
  return new InputError(
    `this line is ${arrays ? 'an object' : 'a bare array'} but line ${firstRow + 1} is ${arrays ? 'a bare array' : 'an object'}: a file holds objects (one row each) or bare arrays of turns (read as the column "${BARE_ARRAY_COLUMN}"), not both`,
    { code: 'E_JSONL_MIXED', file, row },
  );
}

/** `value` when it is a JSON object, else E_JSON_NOT_OBJECT naming the file and row. */
function recordOf(value: unknown, file: string, row: number): Record<string, unknown> {
  if (!isRecord(value)) {
    throw new InputError(`expected a JSON object per line, got ${kindOf(value)}`, {
      code: 'E_JSON_NOT_OBJECT',
      file,
      row,
    });
  }
  return value;
}

/** `parseRecord` of line bytes buf[s, e) (a bare array line as `parseArrayRow`). */
export function parseLine(buf: Uint8Array, s: number, e: number, file: string, line: number): Record<string, unknown> {
  const text = decodeLine(buf, s, e);
  // a bare array of turns: the row { messages: [...] }, as the JSONL reader gives it
  return isArrayLine(text) ? parseArrayRow(text, file, line) : parseRecord(text, file, line);
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
    throw invalidJson(e, file, row);
  }
  return recordOf(value, file, row);
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
