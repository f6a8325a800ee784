/**
 * Opening a Parquet file from disk: a file handle served to hyparquet as an
 * AsyncBuffer (range reads, never the whole file), magic-byte checks that turn
 * the usual user mistakes into one-line InputErrors, and the footer metadata.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { InputError } from '@curate/core';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetSchema, type SchemaTree } from 'hyparquet';
import { isRemote, storageFor } from '../storage/index.js';

const MAGIC = 0x31524150; // "PAR1" little-endian
const LFS_PREFIX = 'version https://git-lfs';

export interface OpenParquet {
  path: string;
  size: number;
  buffer: AsyncBuffer;
  metadata: FileMetaData;
  /** Remote files: fetch ahead within these byte ranges (the column chunks about to be read). */
  readAhead?(ranges: [number, number][]): void;
  close(): Promise<void>;
}

/** Requests in flight for read-ahead, per process: reads stay bounded in memory and connections. */
const READ_AHEAD_CONCURRENCY = 8;
let readAheadInFlight = 0;

/**
 * An AsyncBuffer over an object store: each slice is one ranged GET (verified and retried by the
 * driver). The footer is served from one tail read; with `readAhead` ranges set (the used column
 * chunks of the row group being read), a slice also starts the GET of the next slice of the same
 * length within its range, so decoding one window overlaps fetching the next. Nothing outside the
 * ranges is ever fetched ahead: bytes fetched stay those of the used columns.
 */
class RemoteBuffer implements AsyncBuffer {
  readonly byteLength: number;
  private tail?: { start: number; bytes: Uint8Array };
  private ranges: [number, number][] = [];
  private ahead = new Map<number, { end: number; data: Promise<Uint8Array> }>();

  constructor(
    private readonly path: string,
    size: number,
  ) {
    this.byteLength = size;
  }

  async readAt(pos: number, len: number): Promise<Uint8Array> {
    const end = Math.min(pos + len, this.byteLength);
    if (end <= pos) return new Uint8Array(0);
    const t = this.tail;
    if (t && pos >= t.start) return t.bytes.subarray(pos - t.start, end - t.start);
    const hit = this.ahead.get(pos);
    if (hit) {
      this.ahead.delete(pos);
      const data = await hit.data;
      if (hit.end >= end) {
        this.prefetch(end, end - pos);
        return data.subarray(0, end - pos);
      }
    }
    const data = await storageFor(this.path).read(this.path, pos, end);
    this.prefetch(end, end - pos);
    return data;
  }

  /** Read and keep the last `n` bytes (the footer and the magic). */
  async loadTail(n: number): Promise<void> {
    const start = Math.max(0, this.byteLength - n);
    this.tail = { start, bytes: await storageFor(this.path).read(this.path, start, this.byteLength) };
  }

  setReadAhead(ranges: [number, number][]): void {
    this.ranges = ranges;
    this.ahead.clear();
  }

  private prefetch(pos: number, len: number): void {
    if (readAheadInFlight >= READ_AHEAD_CONCURRENCY || this.ahead.has(pos)) return;
    const range = this.ranges.find(([a, b]) => pos >= a && pos < b);
    if (!range) return;
    const end = Math.min(pos + len, range[1]);
    readAheadInFlight++;
    const data = storageFor(this.path)
      .read(this.path, pos, end)
      .finally(() => {
        readAheadInFlight--;
      });
    data.catch(() => {}); // a failed read-ahead is read again on demand
    this.ahead.set(pos, { end, data });
  }

  async slice(start: number, end?: number): Promise<ArrayBuffer> {
    const stop = Math.min(end ?? this.byteLength, this.byteLength);
    const bytes = await this.readAt(start, Math.max(0, stop - start));
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? (bytes.buffer as ArrayBuffer)
      : (bytes.slice().buffer as ArrayBuffer);
  }

  close(): void {
    this.ahead.clear();
    this.tail = undefined;
  }
}

/** An AsyncBuffer over a file handle: each slice is one positional read. */
function handleBuffer(handle: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const length = Math.max(0, stop - start);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.buffer;
    },
  };
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/**
 * Check the magic bytes and footer, throwing an InputError naming the file:
 * E_NOT_PARQUET (no leading PAR1; a Git LFS pointer says so), E_TRUNCATED
 * (leading PAR1 but no trailing PAR1 or a footer longer than the file).
 */
async function checkMagic(
  path: string,
  read: (position: number, length: number) => Promise<Uint8Array>,
  size: number,
): Promise<void> {
  const head = Buffer.from(await read(0, Math.min(size, 64)));
  if (head.subarray(0, LFS_PREFIX.length).toString('latin1') === LFS_PREFIX) {
    throw new InputError('not a Parquet file (it is a Git LFS pointer: run git lfs pull)', {
      code: 'E_NOT_PARQUET',
      file: path,
    });
  }
  if (head.length < 4 || head.readUInt32LE(0) !== MAGIC) {
    throw new InputError('not a Parquet file (no PAR1 magic at the start)', { code: 'E_NOT_PARQUET', file: path });
  }
  if (size < 12) {
    throw new InputError(`truncated Parquet file (${size} bytes)`, { code: 'E_TRUNCATED', file: path });
  }
  const tail = Buffer.from(await read(size - 8, 8));
  if (tail.readUInt32LE(4) !== MAGIC) {
    throw new InputError('truncated Parquet file (no PAR1 footer at the end: an interrupted copy or download?)', {
      code: 'E_TRUNCATED',
      file: path,
    });
  }
  const footer = tail.readUInt32LE(0);
  if (footer + 12 > size) {
    throw new InputError(`truncated Parquet file (footer of ${footer} bytes in a file of ${size})`, {
      code: 'E_TRUNCATED',
      file: path,
    });
  }
}

/** Open, validate and read the footer; the caller must `close()`. */
export async function openParquet(path: string): Promise<OpenParquet> {
  if (isRemote(path)) return openRemoteParquet(path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'file not found' : `cannot open: ${(err as Error).message}`, {
      code: code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_INPUT',
      file: path,
      cause: err,
    });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile())
      throw new InputError('not a Parquet file (not a regular file)', { code: 'E_NOT_PARQUET', file: path });
    const size = st.size;
    if (size === 0) throw new InputError('empty file (0 bytes), not Parquet', { code: 'E_TRUNCATED', file: path });
    await checkMagic(path, (p, n) => readAt(handle, p, n), size);
    const buffer = handleBuffer(handle, size);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (err) {
      throw new InputError(`corrupt Parquet footer: ${(err as Error).message}`, {
        code: 'E_PARQUET_CORRUPT',
        file: path,
        cause: err,
      });
    }
    checkMetadata(metadata, path);
    return { path, size, buffer, metadata, close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A remote Parquet object: one HEAD, one tail read (footer and magic), the head's 4 bytes. */
async function openRemoteParquet(path: string): Promise<OpenParquet> {
  const info = await storageFor(path).stat(path);
  if (!info) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: path });
  const size = info.size;
  if (size === 0) throw new InputError('empty file (0 bytes), not Parquet', { code: 'E_TRUNCATED', file: path });
  const buffer = new RemoteBuffer(path, size);
  // most footers fit in 16 KiB; a longer one is read whole below
  await buffer.loadTail(Math.min(size, 16 << 10));
  await checkMagic(path, (p, n) => buffer.readAt(p, n), size);
  const footer = Buffer.from(await buffer.readAt(size - 8, 4)).readUInt32LE(0);
  if (footer + 8 > Math.min(size, 16 << 10)) await buffer.loadTail(footer + 8);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer, { initialFetchSize: footer + 8 });
  } catch (err) {
    throw new InputError(`corrupt Parquet footer: ${(err as Error).message}`, {
      code: 'E_PARQUET_CORRUPT',
      file: path,
      cause: err,
    });
  }
  checkMetadata(metadata, path);
  return {
    path,
    size,
    buffer,
    metadata,
    readAhead: (ranges) => buffer.setReadAhead(ranges),
    close: async () => buffer.close(),
  };
}

/**
 * Footer facts the readers rely on, checked once: every row group has a valid row count (they add
 * up to the file's), and its column chunks are the schema's leaf columns, each once. A footer that
 * breaks these (a corrupt or hand-made file) is E_PARQUET_CORRUPT up front; otherwise hyparquet
 * would skip a duplicate chunk, whose read error then escapes as an unhandled rejection, and a
 * negative row count would read as an empty group (rows silently lost).
 */
function checkMetadata(md: FileMetaData, path: string): void {
  const corrupt = (why: string) =>
    new InputError(`corrupt Parquet footer: ${why}`, { code: 'E_PARQUET_CORRUPT', file: path });
  let schema: SchemaTree;
  try {
    schema = parquetSchema(md);
  } catch (err) {
    throw corrupt(`bad schema (${(err as Error).message})`);
  }
  const leaves = new Set<string>();
  const walk = (node: SchemaTree, prefix: string[]) => {
    for (const c of node.children) {
      const p = [...prefix, c.element.name];
      if (c.children.length) walk(c, p);
      else leaves.add(p.join('\u0000'));
    }
  };
  walk(schema, []);
  let total = 0;
  md.row_groups.forEach((rg, g) => {
    const rows = Number(rg.num_rows);
    if (!Number.isSafeInteger(rows) || rows < 0) throw corrupt(`row group ${g} has ${rg.num_rows} rows`);
    total += rows;
    const seen = new Set<string>();
    for (const c of rg.columns) {
      const key = c.meta_data?.path_in_schema?.join('\u0000');
      if (key === undefined || !leaves.has(key) || seen.has(key))
        throw corrupt(`row group ${g} has a column chunk that is not one of the schema's columns once`);
      seen.add(key);
    }
  });
  if (total !== Number(md.num_rows)) throw corrupt(`row groups hold ${total} rows, the footer says ${md.num_rows}`);
}
