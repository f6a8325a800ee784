/**
 * Whole-column Parquet files: typed arrays in, typed arrays out. For curate's own row-aligned side
 * files (the staged mix's attribute shards), not for data shards: one file is written at once from
 * arrays already in memory (one row group per 64k rows) and read back whole.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { parquetMetadata, parquetRead } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';

export type ParquetColumn =
  | { name: string; type: 'int32'; data: Int32Array }
  | { name: string; type: 'int64'; data: BigInt64Array }
  | { name: string; type: 'double'; data: Float64Array }
  | { name: string; type: 'string'; data: (string | null)[] }
  /** Variable-length bytes, null allowed (e.g. a MinHash signature, absent for a row without one). */
  | { name: string; type: 'binary'; data: (Uint8Array | null)[] };

const TYPES = { int32: 'INT32', int64: 'INT64', double: 'DOUBLE', string: 'STRING', binary: 'BYTE_ARRAY' } as const;

/**
 * Write `columns` (all of `rows` entries) to `path`, through a temporary name and a rename, so a
 * reader never sees a partial file. Returns the file's size and sha256.
 */
export async function writeParquetColumns(
  path: string,
  rows: number,
  columns: ParquetColumn[],
  kv?: Record<string, string>,
): Promise<{ bytes: number; sha256: string }> {
  for (const c of columns) {
    if (c.data.length !== rows) throw new Error(`column ${c.name}: ${c.data.length} values for ${rows} rows`);
  }
  const buf = parquetWriteBuffer({
    columnData: columns.map((c) => ({
      name: c.name,
      data: c.data as never,
      type: TYPES[c.type],
      nullable: c.type === 'string' || c.type === 'binary',
    })),
    rowGroupSize: 65536,
    statistics: false,
    kvMetadata: kv ? Object.entries(kv).map(([key, value]) => ({ key, value })) : undefined,
  });
  const bytes = new Uint8Array(buf);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Read the columns of a file written by `writeParquetColumns` (or any flat Parquet file), whole:
 * every column, or those in `columns` (`names` lists all the file has). With `sha256`, the file
 * must have that checksum.
 */
export async function readParquetColumns(
  path: string,
  expect?: { sha256?: string; columns?: string[] },
): Promise<{ rows: number; names: string[]; columns: Record<string, unknown[] | ArrayLike<unknown>> }> {
  const file = await readFile(path);
  if (expect?.sha256 && createHash('sha256').update(file).digest('hex') !== expect.sha256) {
    throw new Error(`${path}: checksum mismatch`);
  }
  const ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  const meta = parquetMetadata(ab);
  const rows = Number(meta.num_rows);
  const names = meta.schema.slice(1).map((e) => e.name);
  const parts = new Map<string, { start: number; data: ArrayLike<unknown> }[]>();
  await parquetRead({
    file: ab,
    metadata: meta,
    ...(expect?.columns ? { columns: expect.columns.filter((c) => names.includes(c)) } : {}),
    utf8: false,
    onChunk: (c) => {
      const l = parts.get(c.columnName) ?? [];
      l.push({ start: c.rowStart, data: c.columnData as ArrayLike<unknown> });
      parts.set(c.columnName, l);
    },
  });
  const columns: Record<string, unknown[] | ArrayLike<unknown>> = Object.create(null);
  for (const [name, list] of parts) {
    list.sort((a, b) => a.start - b.start);
    if (list.length === 1 && list[0].start === 0 && list[0].data.length === rows) {
      // one chunk holding every row (a small file's column): as the reader gave it, a typed array
      // for numbers (copying it into a JS array boxed every value: ~45 ms of a re-mix's 45 reads)
      columns[name] = list[0].data as unknown[];
      continue;
    }
    // chunks of one typed-array class (numbers of a file with several row groups or pages): one
    // typed array of that class, the chunks copied in with `set` (not boxed into a JS array)
    const Ctor = (list[0].data as { constructor: unknown }).constructor;
    if (
      ArrayBuffer.isView(list[0].data) &&
      list.every((p) => (p.data as { constructor: unknown }).constructor === Ctor && p.start + p.data.length <= rows)
    ) {
      const out = new (Ctor as new (n: number) => { set(a: ArrayLike<unknown>, at: number): void })(rows);
      for (const p of list) out.set(p.data, p.start);
      columns[name] = out as unknown as ArrayLike<unknown>;
      continue;
    }
    const out: unknown[] = new Array(rows);
    for (const p of list) for (let i = 0; i < p.data.length && p.start + i < rows; i++) out[p.start + i] = p.data[i];
    columns[name] = out;
  }
  return { rows, names, columns };
}
