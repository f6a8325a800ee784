/**
 * Parquet reader: hyparquet (+ hyparquet-compressors for zstd/brotli/lz4/gzip),
 * one row group at a time, columnar batches that never span row groups.
 *
 * Values:
 * - UTF8/STRING/ENUM/JSON-annotated BYTE_ARRAY -> string (JSON -> parsed value);
 *   BYTE_ARRAY without annotation -> Uint8Array, as DuckDB does (lossless),
 *   unless `binaryAsString` is set.
 * - INT64 -> number when |v| <= 2^53-1, else bigint (per value).
 * - Lists, maps and structs -> JS arrays/objects (same number rule inside);
 *   a bare REPEATED field with no values -> [] (not null).
 * - Timestamps -> Date, as hyparquet does.
 */
import type { Batch, ValueType } from '@curate/core';
import { dict, InputError } from '@curate/core';
import {
  type ColumnChunk,
  type ColumnData,
  type DecodedArray,
  parquetRead,
  parquetSchema,
  type SchemaTree,
} from 'hyparquet';
import { JsonValueError, parseJsonValue } from '../json.js';
import type { Nested } from '../nested.js';
import type { FormatReader, InputFile, ReadOptions } from '../types.js';
import { readDecompressors } from './codecs.js';
import { ColumnPages, flatChunk } from './pages.js';
import { openParquet } from './source.js';

export interface ParquetReaderOptions {
  /** Decode BYTE_ARRAY columns without a string annotation as UTF-8 text (default false: Uint8Array). */
  binaryAsString?: boolean;
  /**
   * Read row groups whose columns are all flat one page at a time (default true), so memory is
   * bounded by a page, not a row group; false decodes each row group whole, as hyparquet does.
   */
  pages?: boolean;
  /** Bytes read from the file at a time when reading pages (default 1 MiB), and first offered to a page header (default 4 KiB). */
  pageWindow?: number;
  pageHeaderBytes?: number;
}

const DEFAULT_BATCH = 2048;
/** Bytes per ranged GET of a remote file's pages: fewer round trips than the local 1 MiB window. */
const REMOTE_WINDOW = 4 << 20;

/** Byte ranges of the column chunks of `names` (top-level columns) in one row group. */
function chunkRanges(columns: ColumnChunk[], names: Set<string>): [number, number][] {
  const out: [number, number][] = [];
  for (const c of columns) {
    const md = c.meta_data;
    if (!md || !names.has(md.path_in_schema[0])) continue;
    const start = Number(md.dictionary_page_offset ?? md.data_page_offset);
    const dataStart = Number(md.data_page_offset);
    const from = md.dictionary_page_offset !== undefined && start > 0 ? Math.min(start, dataStart) : dataStart;
    out.push([from, from + Number(md.total_compressed_size)]);
  }
  return out;
}

// hyparquet's default decoder drops a leading U+FEFF; text must come back byte for byte.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const parsers = {
  stringFromBytes: (bytes: Uint8Array | undefined) => bytes && utf8.decode(bytes),
  // exact: integers beyond 2^53 stay bigint; depth-limited
  jsonFromBytes: (bytes: Uint8Array | undefined) => bytes && parseJsonValue(utf8.decode(bytes)),
};

/** The type a flat column declares, where values alone may not show it (whole doubles, all-null columns). */
/**
 * The skeleton of a column's nested shape when a map occurs in it (see `Batch.declared`): maps as
 * maps, the lists and structs around them, everything else open (`null`, decided by the values).
 */
export function mapSkeleton(node: SchemaTree): Nested | undefined {
  const el = node.element;
  const ct = el.converted_type;
  const lt = el.logical_type?.type;
  if (ct === 'MAP' || ct === 'MAP_KEY_VALUE' || lt === 'MAP') {
    const value = node.children[0]?.children[1];
    // a leaf value keeps its declared type even when every map is empty
    const leaf = value && declaredType(value);
    return { type: 'map', value: (value && mapSkeleton(value)) ?? (leaf ? { type: leaf } : { type: 'null' }) };
  }
  if (node.children.length === 0) return undefined;
  if (ct === 'LIST' || lt === 'LIST') {
    const rep = node.children[0];
    const item = rep && rep.children.length === 1 ? rep.children[0] : rep;
    const s = item && mapSkeleton(item);
    return s ? { type: 'list', item: s } : undefined;
  }
  const fields = node.children.map((c) => ({ name: c.element.name, shape: mapSkeleton(c) }));
  if (!fields.some((f) => f.shape)) return undefined;
  return { type: 'struct', fields: fields.map((f) => ({ name: f.name, shape: f.shape ?? { type: 'null' } })) };
}

function declaredType(node: SchemaTree): ValueType | undefined {
  const el = node.element;
  if (node.children.length > 0 || el.repetition_type === 'REPEATED') return undefined;
  const logical = el.logical_type?.type;
  if (el.converted_type === 'JSON' || logical === 'JSON') return 'json';
  switch (el.type) {
    case 'DOUBLE':
    case 'FLOAT':
      return 'double';
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
      if (el.converted_type === undefined && logical === undefined) return 'int64';
      if (logical === 'INTEGER' && !isUnsigned64(el.logical_type)) return 'int64';
      if (el.converted_type && /^U?INT_(8|16|32)$|^INT_64$/.test(el.converted_type)) return 'int64';
      return undefined;
    case 'BYTE_ARRAY':
      return el.converted_type === 'UTF8' || logical === 'STRING' ? 'string' : undefined;
    default:
      return undefined;
  }
}

function isUnsigned64(t: unknown): boolean {
  const l = t as { bitWidth?: number; isSigned?: boolean };
  return l.bitWidth === 64 && l.isSigned === false;
}

/** bigint -> number when exact. */
function toSafe(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Deep conversion of nested values: bigints to numbers when safe. */
function normalizeDeep(v: unknown): unknown {
  if (v === undefined) return null; // hyparquet gives undefined for a null list or struct
  if (typeof v === 'bigint') return toSafe(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalizeDeep(v[i]);
    return v;
  }
  if (v instanceof Uint8Array || v instanceof Date) return v;
  if (ArrayBuffer.isView(v)) return normalizeDeep(Array.from(v as unknown as ArrayLike<unknown>));
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = normalizeDeep(o[k]);
  return o;
}

type Converter = (data: DecodedArray) => unknown[];

/** How a top-level column's decoded values become batch values. */
function converterFor(node: SchemaTree): Converter {
  const el = node.element;
  if (node.children.length > 0) {
    return (data) => {
      const out = Array.isArray(data) ? data : Array.from(data as ArrayLike<unknown>);
      for (let i = 0; i < out.length; i++) out[i] = normalizeDeep(out[i]);
      return out;
    };
  }
  if (el.repetition_type === 'REPEATED') {
    // legacy bare repeated field: a list, never null
    return (data) => {
      const out = Array.isArray(data) ? data : Array.from(data as ArrayLike<unknown>);
      for (let i = 0; i < out.length; i++) out[i] = out[i] == null ? [] : normalizeDeep(out[i]);
      return out;
    };
  }
  if (el.type === 'INT64' || el.type === 'INT96') {
    return (data) => {
      const out = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        out[i] = typeof v === 'bigint' ? toSafe(v) : v;
      }
      return out;
    };
  }
  return (data) => (Array.isArray(data) ? data : Array.from(data as ArrayLike<unknown>));
}

function wrapReadError(err: unknown, file: string): unknown {
  if (err instanceof InputError) return err;
  if (err instanceof JsonValueError) return new InputError(`a JSON value: ${err.message}`, { code: err.code, file });
  if (err instanceof Error && err.name === 'AbortError') return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new InputError(`cannot decode Parquet data: ${msg}`, { code: 'E_PARQUET_CORRUPT', file, cause: err });
}

/** Read one Parquet file as batches of at most `batchSize` rows, one row group at a time. */
export async function* readParquet(
  file: InputFile | string,
  options: ReadOptions = {},
  readerOptions: ParquetReaderOptions = {},
): AsyncGenerator<Batch> {
  const path = typeof file === 'string' ? file : file.path;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
  const signal = options.signal;
  signal?.throwIfAborted();
  const pq = await openParquet(path);
  const compressors = readDecompressors();
  try {
    const schema = parquetSchema(pq.metadata);
    const byName = new Map(schema.children.map((c) => [c.element.name, c]));
    const names = options.columns ?? schema.children.map((c) => c.element.name);
    for (const n of names) {
      if (!byName.has(n)) {
        throw new InputError(`column "${n}" not found (columns: ${[...byName.keys()].join(', ')})`, {
          code: 'E_MISSING_COLUMN',
          file: path,
        });
      }
    }
    const converters = names.map((n) => converterFor(byName.get(n)!));
    let types: Record<string, ValueType> | undefined;
    for (const n of names) {
      const t = declaredType(byName.get(n)!);
      if (t === undefined) continue;
      types ??= dict<ValueType>();
      types[n] = t;
    }
    let declared: Record<string, Nested> | undefined;
    for (const n of names) {
      const s = mapSkeleton(byName.get(n)!);
      if (s) (declared ??= dict<Nested>())[n] = s;
    }
    let groupStart = 0;
    for (const rg of pq.metadata.row_groups) {
      const groupRows = Number(rg.num_rows);
      const rowStart = groupStart;
      const rowEnd = groupStart + groupRows;
      groupStart = rowEnd;
      if (groupRows === 0) continue;
      signal?.throwIfAborted();
      pq.readAhead?.(chunkRanges(rg.columns, new Set(names)));
      const flat = readerOptions.pages === false ? [] : names.map((n) => flatChunk(schema, rg.columns, n));
      if (names.length > 0 && flat.length === names.length && flat.every((c) => c !== undefined)) {
        // every column flat: page after page, never the whole group in memory
        const options = {
          compressors,
          parsers,
          utf8: readerOptions.binaryAsString ?? false,
          window: readerOptions.pageWindow ?? (pq.readAhead ? REMOTE_WINDOW : undefined),
          headerBytes: readerOptions.pageHeaderBytes,
        };
        const pages = flat.map((c, i) => new ColumnPages(pq.buffer, schema, c!, options, converters[i]));
        for (let i = 0; i < groupRows; i += batchSize) {
          signal?.throwIfAborted();
          const n = Math.min(batchSize, groupRows - i);
          const cols = dict<unknown[]>();
          for (let c = 0; c < names.length; c++) {
            let values: unknown[];
            try {
              values = await pages[c].take(n);
            } catch (err) {
              throw wrapReadError(err, path);
            }
            if (values.length < n) {
              throw new InputError(
                `cannot decode Parquet data: column "${names[c]}" has ${i + values.length} values in a row group of ${groupRows} rows (rows ${rowStart}-${rowEnd - 1})`,
                { code: 'E_PARQUET_CORRUPT', file: path },
              );
            }
            cols[names[c]] = values;
          }
          yield { length: n, columns: cols, file: path, offset: rowStart + i, types, declared };
        }
        continue;
      }
      const chunks = new Map<string, ColumnData[]>();
      try {
        await parquetRead({
          file: pq.buffer,
          metadata: pq.metadata,
          columns: names,
          rowStart,
          rowEnd,
          compressors,
          parsers,
          utf8: readerOptions.binaryAsString ?? false,
          onChunk(chunk) {
            let list = chunks.get(chunk.columnName);
            if (!list) chunks.set(chunk.columnName, (list = []));
            list.push(chunk);
          },
        });
      } catch (err) {
        throw wrapReadError(err, path);
      }
      // Assemble each column of this row group into one JS array.
      const columns: unknown[][] = names.map((n, ci) => {
        const parts = chunks.get(n) ?? [];
        if (parts.length === 1 && parts[0].rowStart === rowStart && parts[0].columnData.length === groupRows) {
          return converters[ci](parts[0].columnData);
        }
        const out = new Array(groupRows).fill(null);
        for (const p of parts) {
          const vals = converters[ci](p.columnData);
          const from = Math.max(p.rowStart, rowStart);
          const to = Math.min(p.rowEnd, rowEnd);
          for (let r = from; r < to; r++) out[r - rowStart] = vals[r - p.rowStart];
        }
        return out;
      });
      chunks.clear();
      for (let i = 0; i < groupRows; i += batchSize) {
        signal?.throwIfAborted();
        const end = Math.min(i + batchSize, groupRows);
        const cols = dict<unknown[]>();
        for (let c = 0; c < names.length; c++) {
          cols[names[c]] = i === 0 && end === groupRows ? columns[c] : columns[c].slice(i, end);
        }
        yield { length: end - i, columns: cols, file: path, offset: rowStart + i, types, declared };
      }
    }
  } finally {
    await pq.close();
  }
}

/** A Parquet FormatReader with options (see ParquetReaderOptions). */
export function createParquetReader(readerOptions: ParquetReaderOptions = {}): FormatReader {
  return { read: (file, options) => readParquet(file, options, readerOptions) };
}

/** The default Parquet reader: unannotated binary stays Uint8Array. */
export const parquetReader: FormatReader = createParquetReader();
