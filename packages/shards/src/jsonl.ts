/**
 * JSONL (`.jsonl`, `.ndjson`) and JSON-array (`.json`) readers, and the JSONL writer.
 *
 * Row numbering: errors name the 0-based *line* index as `row` (printed 1-based,
 * the line number an editor shows). Blank lines are skipped; `batch.offset`
 * counts records, so it equals the line index when the file has no blank lines.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { createGzip, type Gzip } from 'node:zlib';
import { type Batch, InputError } from '@curate/core';
import { JsonValueError, jsonNumber, parseJsonValue, stringifyJson } from './json.js';
import {
  BARE_ARRAY_COLUMN,
  decodeLine,
  isArrayLine,
  isBlank,
  isRecord,
  kindOf,
  mixedLines,
  parseArrayRow,
  parseObject,
  rawLines,
  refineRecord,
} from './lines.js';
import { missingColumnError, RowColumns } from './rows.js';
import { fileText } from './text.js';
import type { FileWriter, FileWriterOptions, FormatReader, InputFile, ReadOptions } from './types.js';

export const DEFAULT_BATCH_SIZE = 2048;

/** `.json` files are parsed whole; above this many (decompressed) bytes we refuse and ask for JSONL. */
export const JSON_ARRAY_MAX_BYTES = 256 * 1024 * 1024;

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

/**
 * A batch also ends once its lines hold this many characters, so files of huge documents (whole
 * books of 1-2 MB per line) stream in bounded memory instead of `batchSize` books at a time.
 */
export const BATCH_MAX_CHARS = 8 * 1024 * 1024;

export const jsonlReader: FormatReader = {
  async *read(file: InputFile, options: ReadOptions): AsyncIterable<Batch> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const rows = new RowColumns(options.columns);
    let chars = 0;
    let line = 0;
    let records = 0;
    let offset = 0;
    let checked = !options.columns;
    let arrays = false;
    let firstRow = -1;
    const floats = new Set<string>();
    const full = (): boolean => rows.length >= batchSize || chars >= BATCH_MAX_CHARS;
    const flush = (): Batch => {
      chars = 0;
      if (!checked) {
        const missing = rows.missing();
        if (missing.length) throw missingColumnError(file.path, missing);
        checked = true;
      }
      checkAbort(options.signal);
      const b = rows.flush(file.path, offset);
      offset = records;
      return b;
    };
    // Lines are found as bytes (gzip and zstd files decompressed as a stream) and each is decoded
    // alone: no chunk strings joined and sliced, 1.2-1.5x faster on books (lines.ts).
    for await (const c of rawLines(file.path, 0, Number.POSITIVE_INFINITY, true, file.compression, {
      maxLineBytes: options.maxLineBytes,
    })) {
      for (let i = 0; i < c.count; i++) {
        const row = line++;
        if (isBlank(c.buf, c.starts[i], c.ends[i])) continue;
        const text = decodeLine(c.buf, c.starts[i], c.ends[i]);
        // a line that is a bare array of turns is the row { messages: [...] }; a file is one or the other
        const array = text.charCodeAt(0) === 123 /* { */ ? false : isArrayLine(text);
        if (firstRow < 0) {
          arrays = array;
          firstRow = row;
        } else if (array !== arrays) throw mixedLines(file.path, row, firstRow, arrays);
        if (array) rows.add(parseArrayRow(text, file.path, row));
        // only a row with a whole number or a nested value can hold more than JSON.parse gave
        else {
          const obj = parseObject(text, file.path, row);
          if (rows.add(obj)) {
            const exact = refineRecord(obj, text, file.path, row, floats);
            if (exact !== obj || floats.size) rows.refine(exact, floats);
          }
        }
        records++;
        chars += text.length;
        if (full()) yield flush();
      }
    }
    if (rows.length > 0) {
      if (!checked) {
        const missing = rows.missing();
        if (missing.length) throw missingColumnError(file.path, missing);
      }
      yield rows.flush(file.path, offset);
    }
  },
};

export const jsonArrayReader: FormatReader = {
  async *read(file: InputFile, options: ReadOptions): AsyncIterable<Batch> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const parts: string[] = [];
    let size = 0;
    for await (const text of fileText(file.path, file.compression)) {
      size += text.length;
      if (size > JSON_ARRAY_MAX_BYTES) {
        throw new InputError(
          `JSON array file is larger than ${JSON_ARRAY_MAX_BYTES / 1024 / 1024} MiB; convert it to JSONL (one object per line), which is streamed`,
          { code: 'E_JSON_TOO_LARGE', file: file.path },
        );
      }
      parts.push(text);
    }
    let data: unknown;
    try {
      data = parseJsonValue(parts.join(''));
    } catch (e) {
      if (e instanceof JsonValueError) throw new InputError(e.message, { code: e.code, file: file.path });
      throw new InputError(`invalid JSON: ${(e as Error).message}`, { code: 'E_JSON_PARSE', file: file.path });
    }
    parts.length = 0;
    if (!Array.isArray(data)) {
      throw new InputError(
        `expected a JSON array of objects, got ${kindOf(data)} (use .jsonl for one object per line)`,
        {
          code: 'E_JSON_NOT_ARRAY',
          file: file.path,
        },
      );
    }
    const rows = new RowColumns(options.columns);
    let checked = !options.columns;
    for (let start = 0; start < data.length; start += batchSize) {
      const end = Math.min(start + batchSize, data.length);
      for (let i = start; i < end; i++) {
        const value = Array.isArray(data[i])
          ? Object.assign(Object.create(null), { [BARE_ARRAY_COLUMN]: data[i] })
          : data[i];
        if (!isRecord(value)) {
          throw new InputError(`expected an object as array element, got ${kindOf(value)}`, {
            code: 'E_JSON_NOT_OBJECT',
            file: file.path,
            row: i,
          });
        }
        rows.add(value);
      }
      if (!checked) {
        const missing = rows.missing();
        if (missing.length) throw missingColumnError(file.path, missing);
        checked = true;
      }
      checkAbort(options.signal);
      yield rows.flush(file.path, start);
    }
  },
};

/** JSON replacer: bigint -> number when safe, else its decimal string (for text meant for people, e.g. reports). */
export function bigintReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  return v;
}

/**
 * JSON text of one cell, exactly (`stringifyJson`): undefined -> null, bigint as its digits (a JSON
 * number of any size), `-0` kept; in a `double` column a whole number gets `.0` (`2.0`) so it reads
 * back as a float. NaN and ±Infinity have no JSON form: JsonValueError (the writer names file and row).
 */
export function jsonCell(v: unknown, double = false): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number': {
      const s = jsonNumber(v);
      return double && Number.isInteger(v) && !s.includes('e') ? `${s}.0` : s;
    }
    case 'bigint':
      return v.toString();
    default:
      return stringifyJson(v);
  }
}

/** Uncompressed bytes gathered before a write to disk (and one zstd frame). */
const FLUSH_BYTES = 1 << 20;

/**
 * JSONL writer: one object per line, keys in column order, `\n` line ends,
 * UTF-8, no BOM. Byte-stable: the same batches give the same bytes.
 * Compression: `none`, `gzip` (node:zlib), `zstd` (one frame per ~1 MiB of
 * text, with the Parquet driver's zstd codec). `bytes` counts bytes on disk
 * plus text not yet flushed (uncompressed).
 */
export async function createJsonlWriter(path: string, options: FileWriterOptions): Promise<FileWriter> {
  const compression = options.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip' && compression !== 'zstd') {
    throw new InputError(`JSONL output supports compression "none", "gzip" or "zstd", not "${compression}"`, {
      code: 'E_UNSUPPORTED_COMPRESSION',
      file: path,
    });
  }
  // The zstd codec (and hyparquet's compressors) load only when a .jsonl.zst is written.
  const zstd =
    compression === 'zstd' ? (await (await import('./parquet/codecs.js')).zstdCompress()).compress : undefined;
  const names = options.columns.map((c) => c.name);
  const doubles = options.columns.map((c) => c.type === 'double');
  const keys = names.map((n, i) => (i === 0 ? '{' : ',') + JSON.stringify(n) + ':');
  const out: WriteStream = createWriteStream(path);
  let failed: Error | undefined;
  await new Promise<void>((res, rej) => {
    out.once('open', () => res());
    out.once('error', rej);
  });
  out.on('error', (e) => {
    failed = e;
  });
  let written = 0;
  let gzip: Gzip | undefined;
  if (compression === 'gzip') {
    gzip = createGzip({ level: 6 });
    gzip.on('data', (chunk: Buffer) => {
      written += chunk.length;
    });
    gzip.on('error', (e) => {
      failed = e;
    });
    gzip.pipe(out);
  }
  const sink = gzip ?? out;
  let parts: string[] = [];
  let pending = 0;

  const drain = (): Promise<void> =>
    new Promise((res, rej) => {
      const onDrain = () => {
        sink.off('error', onErr);
        res();
      };
      const onErr = (e: Error) => {
        sink.off('drain', onDrain);
        rej(e);
      };
      sink.once('drain', onDrain);
      sink.once('error', onErr);
    });

  const flush = async () => {
    if (failed) throw failed;
    if (!parts.length) return;
    let data: Uint8Array = Buffer.from(parts.join(''), 'utf8');
    parts = [];
    pending = 0;
    if (zstd) data = zstd(data);
    if (!gzip) written += data.length;
    if (!sink.write(data)) await drain();
  };

  return {
    get bytes() {
      return written + pending;
    },
    async write(batch: Batch) {
      const cols = names.map((n) => (Object.hasOwn(batch.columns, n) ? batch.columns[n] : undefined));
      for (let r = 0; r < batch.length; r++) {
        let line = names.length ? '' : '{';
        for (let c = 0; c < names.length; c++) {
          const col = cols[c];
          try {
            line += keys[c] + jsonCell(col === undefined ? null : col[r], doubles[c]);
          } catch (e) {
            if (!(e instanceof JsonValueError)) throw e;
            throw new InputError(`column "${names[c]}": ${e.message}, so JSONL cannot hold it`, {
              code: e.code,
              file: batch.file ?? path,
              row: (batch.offset ?? 0) + r,
            });
          }
        }
        line += '}\n';
        parts.push(line);
        pending += line.length;
        if (pending >= FLUSH_BYTES) await flush();
      }
      await flush();
    },
    async close() {
      await flush();
      await new Promise<void>((res, rej) => {
        out.once('close', () => res());
        out.once('error', rej);
        sink.end();
      });
      if (failed) throw failed;
    },
  };
}
