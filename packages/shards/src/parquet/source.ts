/**
 * Opening a Parquet file from disk: a file handle served to hyparquet as an
 * AsyncBuffer (range reads, never the whole file), magic-byte checks that turn
 * the usual user mistakes into one-line InputErrors, and the footer metadata.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { InputError } from '@curate/core';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetSchema, type SchemaTree } from 'hyparquet';

const MAGIC = 0x31524150; // "PAR1" little-endian
const LFS_PREFIX = 'version https://git-lfs';

export interface OpenParquet {
  path: string;
  size: number;
  buffer: AsyncBuffer;
  metadata: FileMetaData;
  close(): Promise<void>;
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
async function checkMagic(path: string, handle: FileHandle, size: number): Promise<void> {
  const head = await readAt(handle, 0, Math.min(size, 64));
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
  const tail = await readAt(handle, size - 8, 8);
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
    await checkMagic(path, handle, size);
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
