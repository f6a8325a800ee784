/**
 * The contract of @curate/shards. Formats are drivers behind one interface
 * (reader: file -> batches; writer: batches -> one file), each proven by one
 * conformance suite (test/conformance.test.ts).
 */
import type { Batch, ValueType } from '@curate/core';
import type { Nested } from './nested.js';

export type ShardFormat = 'parquet' | 'arrow' | 'arrows' | 'jsonl' | 'json';
export type StreamCompression = 'gzip' | 'zstd';

/** An input file resolved from a path, directory or glob. */
export interface InputFile {
  path: string;
  format: ShardFormat;
  /** Whole-file compression of text formats (`.jsonl.gz`, `.jsonl.zst`). */
  compression?: StreamCompression;
  size: number;
}

export interface ReadOptions {
  /** Rows per batch (default 2048). Parquet batches never span row groups. */
  batchSize?: number;
  /** Read only these top-level columns; a missing one is an InputError naming the file. */
  columns?: string[];
  signal?: AbortSignal;
  /**
   * JSONL: the longest line accepted, in bytes (default 256 MiB, or the CURATE_MAX_LINE_BYTES
   * environment variable); a longer line is `E_LINE_TOO_LONG` naming the file, line and byte offset.
   */
  maxLineBytes?: number;
}

/** A format reader: one file in, batches out, with `batch.file` and `batch.offset` set. */
export interface FormatReader {
  read(file: InputFile, options: ReadOptions): AsyncIterable<Batch>;
}

/**
 * Logical column types curate writes. A `json` column with a `nested` shape (a list, struct or map)
 * is written as a nested column; without one (values of mixed kinds) as declared JSON text.
 */
export type ColumnType = ValueType;

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Only with type `json`: the list/struct/map shape of the values (see nested.ts). */
  nested?: Nested;
}

export type WriteFormat = 'parquet' | 'arrow' | 'jsonl';
export type WriteCompression = 'snappy' | 'zstd' | 'gzip' | 'none';

/** Writes one output file; the shard writer rotates these. */
export interface FileWriter {
  write(batch: Batch): Promise<void>;
  /** Bytes written (or buffered) so far, for size-based rotation. */
  readonly bytes: number;
  /** Flush and close; the file is complete afterwards. */
  close(): Promise<void>;
}

export interface FileWriterOptions {
  columns: ColumnSpec[];
  compression: WriteCompression;
  /** Parquet row group size in rows. */
  rowGroupRows?: number;
}

export type FileWriterFactory = (path: string, options: FileWriterOptions) => Promise<FileWriter>;

export interface ShardWriterOptions {
  dir: string;
  format: WriteFormat;
  compression?: WriteCompression;
  /** Start a new shard after this many rows. */
  maxRows?: number;
  /** Start a new shard after about this many bytes. */
  maxBytes?: number;
  /** File name prefix (default `shard`): `shard-00000-of-00012.parquet`. */
  prefix?: string;
  /** Column order and types; inferred from the first batch when absent. */
  columns?: ColumnSpec[];
  rowGroupRows?: number;
  /**
   * Inputs with different columns: a batch with a column the schema lacks closes the
   * current shard and starts a new one with the column added (earlier shards keep their
   * schema; read them together by name, e.g. DuckDB `union_by_name = true`).
   * Without it such a batch is InputError E_SCHEMA_CHANGED.
   */
  widen?: boolean;
}

export interface WrittenShard {
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/**
 * Writes batches into rotated shards under temporary names and renames them to
 * `prefix-NNNNN-of-MMMMM.ext` on `close()`; `abort()` removes everything it wrote.
 */
export interface ShardWriter {
  write(batch: Batch): Promise<void>;
  close(): Promise<WrittenShard[]>;
  abort(): Promise<void>;
}
