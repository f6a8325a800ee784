/**
 * Parquet file writer over hyparquet-writer's incremental ParquetWriter.
 *
 * Rows are buffered until one row group is full (by `rowGroupRows`, else by an
 * estimate of ~32 MiB of values), then that group is encoded, compressed and
 * written to the file handle; the encode buffer is reused. Memory is bounded by
 * one row group (values + encoded bytes), never the whole file.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { Batch } from '@curate/core';
import { InputError } from '@curate/core';
import type { CompressionCodec, SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { isWellFormed, JsonValueError, loneSurrogateMessage, stringifyJson } from '../json.js';
import { isContainer, type LeafConvert, type Nested, nestedSize, ShapeError, shapeName, toShape } from '../nested.js';
import type { ColumnSpec, ColumnType, FileWriter, FileWriterFactory, FileWriterOptions } from '../types.js';
import { Utf8Text } from '../utf8-text.js';
import { type Compressor, gzipCompress, snappyCompress, zstdCompress } from './codecs.js';

/** Target uncompressed bytes per row group when `rowGroupRows` is not given. */
export const DEFAULT_ROW_GROUP_BYTES = 32 * 1024 * 1024;
/** Upper bound on rows per group when sizing by bytes (tiny rows). */
const MAX_GROUP_ROWS = 1_000_000;
/** Rows appended between two checks of the byte budget. */
const SLICE_ROWS = 256;
/** Compressed/raw size guessed for `bytes` before the first row group is written. */
const FIRST_RATIO: Record<FileWriterOptions['compression'], number> = { none: 1, snappy: 0.55, gzip: 0.4, zstd: 0.4 };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const CREATED_BY = 'curate @curate/shards (hyparquet-writer)';

/**
 * A hyparquet-writer Writer that sends each finished row group to a file handle.
 * Double-buffered without copying: the filled buffer goes to the disk write and
 * encoding continues in a second buffer; the next flush first waits for that
 * write, so at most one group is in flight. (A copy per group cost ~10% of the
 * CPU of a write; before double buffering the main thread idled ~10% on disk.)
 */
class FileSink extends ByteWriter {
  private inFlight: Promise<void> = Promise.resolve();
  private spare: ArrayBuffer | undefined;
  constructor(private readonly handle: FileHandle) {
    super(4 << 20);
  }
  private async writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
  }
  /** Called by ParquetWriter after each row group; awaited before the next one is encoded. */
  async flush(): Promise<void> {
    await this.inFlight;
    const full = this.buffer;
    const bytes = new Uint8Array(full, 0, this.index);
    const next = this.spare && this.spare.byteLength >= full.byteLength ? this.spare : new ArrayBuffer(full.byteLength);
    this.spare = undefined;
    this.buffer = next;
    this.view = new DataView(next);
    this.index = 0;
    const write = this.writeAll(bytes).then(() => {
      this.spare = full;
    });
    // surfaced by the next flush or finish; never an unhandled rejection
    write.catch(() => {});
    this.inFlight = write;
  }
  override finish(): Promise<void> {
    return (async () => {
      await this.flush();
      await this.inFlight;
    })();
  }
}

/**
 * The schema elements of a nested shape, depth first: LIST as the standard three levels
 * (`name` LIST / repeated `list` / `element`), MAP as `name` MAP / repeated `key_value` /
 * required string `key` + `value`, a struct as a group. Every value is optional.
 */
function nestedElements(name: string, shape: Nested): SchemaElement[] {
  const repetition_type = 'OPTIONAL' as const;
  switch (shape.type) {
    case 'list':
      return [
        { name, repetition_type, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...nestedElements('element', shape.item),
      ];
    case 'struct':
      return [
        { name, repetition_type, num_children: shape.fields.length },
        ...shape.fields.flatMap((f) => nestedElements(f.name, f.shape)),
      ];
    case 'map':
      return [
        { name, repetition_type, converted_type: 'MAP', logical_type: { type: 'MAP' }, num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        {
          name: 'key',
          repetition_type: 'REQUIRED',
          type: 'BYTE_ARRAY',
          converted_type: 'UTF8',
          logical_type: { type: 'STRING' },
        },
        ...nestedElements('value', shape.value),
      ];
    case 'null':
      return [schemaElement({ name, type: 'string' })];
    default:
      return [schemaElement({ name, type: shape.type })];
  }
}

/** Leaves of nested values as hyparquet-writer takes them. */
const PARQUET_LEAVES = (column: string): LeafConvert => ({
  string: (v, path) => {
    if (!isWellFormed(v))
      throw new InputError(loneSurrogateMessage(`${column}${path}`, v), { code: 'E_LONE_SURROGATE' });
    return v;
  },
  int64: (v) => BigInt(v),
  double: (v) => v,
  boolean: (v) => v,
  json: (v, path) => {
    try {
      return utf8.encode(stringifyJson(v));
    } catch (e) {
      if (e instanceof JsonValueError)
        throw new InputError(`column "${column}"${path}: ${e.message}`, { code: e.code });
      throw e;
    }
  },
});

const mapEntries = (entries: [string, unknown][]) => entries.map(([key, value]) => ({ key, value }));

function schemaElements(spec: ColumnSpec): SchemaElement[] {
  return spec.type === 'json' && isContainer(spec.nested)
    ? nestedElements(spec.name, spec.nested)
    : [schemaElement(spec)];
}

function schemaElement(spec: ColumnSpec): SchemaElement {
  const base = { name: spec.name, repetition_type: 'OPTIONAL' as const };
  switch (spec.type) {
    case 'string':
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'json':
      // converted_type JSON is added at close (see ParquetFileWriter.close): with it hyparquet-writer
      // would JSON.stringify the values itself, rounding bigints and dropping "__proto__" keys and -0
      return { ...base, type: 'BYTE_ARRAY', logical_type: { type: 'JSON' } };
    case 'int64':
      return { ...base, type: 'INT64' };
    case 'double':
      return { ...base, type: 'DOUBLE' };
    case 'boolean':
      return { ...base, type: 'BOOLEAN' };
    default:
      throw new InputError(`unknown column type "${(spec as ColumnSpec).type}" for column "${spec.name}"`, {
        code: 'E_COLUMN_TYPE',
      });
  }
}

const CODECS: Record<FileWriterOptions['compression'], CompressionCodec> = {
  snappy: 'SNAPPY',
  zstd: 'ZSTD',
  gzip: 'GZIP',
  none: 'UNCOMPRESSED',
};

type Convert = (v: unknown) => unknown;

function typeError(spec: ColumnSpec, v: unknown): never {
  const shown = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
  throw new InputError(`column "${spec.name}" is ${spec.type} but a value is ${typeof v} ${shown}`, {
    code: 'E_COLUMN_TYPE',
  });
}

const utf8 = new TextEncoder();

/** Value conversion and a byte estimate per type; null/undefined become null. */
function converter(spec: ColumnSpec): { convert: Convert; size: (v: unknown) => number } {
  const nested = spec.type === 'json' && isContainer(spec.nested) ? spec.nested : undefined;
  if (nested) {
    const leaves = PARQUET_LEAVES(spec.name);
    return {
      convert: (v) => {
        try {
          return toShape(v, nested, leaves, mapEntries);
        } catch (e) {
          if (!(e instanceof ShapeError)) throw e;
          throw new InputError(`column "${spec.name}" is ${shapeName(nested)}: ${e.message}`, {
            code: 'E_COLUMN_TYPE',
          });
        }
      },
      size: nestedSize,
    };
  }
  const fixed = (n: number) => (v: unknown) => (v == null ? 0 : n);
  const byType: Record<ColumnType, { convert: Convert; size: (v: unknown) => number }> = {
    string: {
      convert: (v) => {
        if (v == null) return null;
        if (v instanceof Utf8Text) return v; // encoded by the caller (utf8-text.ts): written as it is
        if (typeof v !== 'string') return typeError(spec, v);
        // UTF-8 cannot hold a lone surrogate: it would be read back as U+FFFD
        if (!isWellFormed(v)) throw new InputError(loneSurrogateMessage(spec.name, v), { code: 'E_LONE_SURROGATE' });
        return v;
      },
      size: (v) => (typeof v === 'string' ? v.length : v instanceof Utf8Text ? v.chars : 0),
    },
    json: {
      // our exact JSON text (bigints, -0, every key), as bytes of the JSON-annotated column
      convert: (v) => {
        if (v == null) return null;
        try {
          return utf8.encode(stringifyJson(v));
        } catch (e) {
          if (e instanceof JsonValueError)
            throw new InputError(`column "${spec.name}": ${e.message}`, { code: e.code });
          throw e;
        }
      },
      size: (v) => (v == null ? 0 : (v as Uint8Array).length),
    },
    int64: {
      convert: (v) => {
        if (v == null) return null;
        const b =
          typeof v === 'bigint'
            ? v
            : typeof v === 'number' && Number.isInteger(v) && !Object.is(v, -0)
              ? BigInt(v)
              : undefined;
        if (b === undefined || b < INT64_MIN || b > INT64_MAX) return typeError(spec, v);
        return b;
      },
      size: fixed(8),
    },
    double: {
      convert: (v) => {
        if (v == null) return null;
        if (typeof v === 'number') return v;
        // a bigint a double holds exactly; others would lose digits
        if (typeof v === 'bigint' && BigInt(Number(v)) === v) return Number(v);
        return typeError(spec, v);
      },
      size: fixed(8),
    },
    boolean: {
      convert: (v) => (v == null ? null : typeof v === 'boolean' ? v : typeError(spec, v)),
      size: fixed(1),
    },
  };
  return byType[spec.type];
}

class ParquetFileWriter implements FileWriter {
  private readonly buffers: unknown[][];
  private readonly converters: ReturnType<typeof converter>[];
  private buffered = 0;
  private bufferedBytes = 0;
  /** Uncompressed value bytes already written, to estimate the compression ratio. */
  private flushedValueBytes = 0;
  private closed = false;
  private reported = 0;

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly sink: FileSink,
    private readonly pw: ParquetWriter,
    private readonly schema: SchemaElement[],
    private readonly columns: ColumnSpec[],
    private readonly rowGroupRows: number | undefined,
    private readonly firstRatio: number,
  ) {
    this.buffers = columns.map(() => []);
    this.converters = columns.map(converter);
  }

  /** Bytes on disk plus the buffered rows at the ratio seen so far; never decreases until close. */
  get bytes(): number {
    if (this.closed) return this.sink.offset;
    const ratio = this.flushedValueBytes > 0 ? this.sink.offset / this.flushedValueBytes : this.firstRatio;
    this.reported = Math.max(this.reported, this.sink.offset + Math.round(this.bufferedBytes * ratio));
    return this.reported;
  }

  async write(batch: Batch): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    let start = 0;
    while (start < batch.length) {
      // by rows: fill the group exactly; by bytes: small slices so a group overshoots little
      const room = this.rowGroupRows ? this.rowGroupRows - this.buffered : SLICE_ROWS;
      const end = Math.min(batch.length, start + Math.max(1, room));
      this.append(batch, start, end);
      start = end;
      if (this.groupFull()) await this.flushGroup();
    }
  }

  private groupFull(): boolean {
    if (this.rowGroupRows) return this.buffered >= this.rowGroupRows;
    return this.bufferedBytes >= DEFAULT_ROW_GROUP_BYTES || this.buffered >= MAX_GROUP_ROWS;
  }

  private append(batch: Batch, start: number, end: number): void {
    let added = 0;
    for (let c = 0; c < this.columns.length; c++) {
      const spec = this.columns[c];
      const src = Object.hasOwn(batch.columns, spec.name) ? batch.columns[spec.name] : undefined;
      const out = this.buffers[c];
      const { convert, size } = this.converters[c];
      if (!src) {
        for (let i = start; i < end; i++) out.push(null);
        continue;
      }
      let i = start;
      try {
        for (; i < end; i++) {
          const v = convert(src[i]);
          added += size(v);
          out.push(v);
        }
      } catch (err) {
        // keep the buffered row group consistent: drop this slice from every column
        for (const b of this.buffers) b.length = this.buffered;
        if (err instanceof InputError && batch.file) {
          throw new InputError(err.message, { code: err.code, file: batch.file, row: (batch.offset ?? 0) + i });
        }
        throw err;
      }
    }
    this.bufferedBytes += added;
    this.buffered += end - start;
  }

  private async flushGroup(): Promise<void> {
    const rows = this.buffered;
    if (rows === 0) return;
    const columnData = this.columns.map((spec, c) => ({ name: spec.name, data: this.buffers[c] }));
    this.buffers.forEach((_, c) => {
      this.buffers[c] = [];
    });
    this.flushedValueBytes += this.bufferedBytes;
    this.buffered = 0;
    this.bufferedBytes = 0;
    await this.pw.write({ columnData, rowGroupSize: rows });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flushGroup();
      // the footer names JSON columns by both annotations (DuckDB and older readers read converted_type)
      for (const el of this.schema) if (el.logical_type?.type === 'JSON') el.converted_type = 'JSON';
      await this.pw.finish();
    } finally {
      await this.handle.close();
    }
  }
}

/**
 * Open `path` for writing one Parquet file with the given columns and codec
 * (`snappy`, `zstd`, `gzip` or `none`). Every column is nullable.
 */
export const createParquetFileWriter: FileWriterFactory = async (path, options) => {
  const { columns, compression = 'snappy', rowGroupRows } = options;
  if (!columns.length)
    throw new InputError('a Parquet file needs at least one column', { code: 'E_NO_COLUMNS', file: path });
  const codec = CODECS[compression];
  if (!codec)
    throw new InputError(`unknown Parquet compression "${compression}"`, { code: 'E_COMPRESSION', file: path });
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...columns.flatMap(schemaElements)];
  const compressors: Partial<Record<CompressionCodec, Compressor>> = { SNAPPY: snappyCompress() };
  if (codec === 'ZSTD') compressors.ZSTD = (await zstdCompress()).compress;
  if (codec === 'GZIP') compressors.GZIP = gzipCompress;
  const handle = await open(path, 'w');
  const sink = new FileSink(handle);
  const pw = new ParquetWriter({ writer: sink, schema, codec, compressors, createdBy: CREATED_BY });
  return new ParquetFileWriter(
    path,
    handle,
    sink,
    pw,
    schema,
    columns,
    rowGroupRows && rowGroupRows > 0 ? rowGroupRows : undefined,
    FIRST_RATIO[compression],
  );
};
