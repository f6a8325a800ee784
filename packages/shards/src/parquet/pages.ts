/**
 * Page-at-a-time reading of a row group's flat columns, so that memory is
 * bounded by a page rather than by a row group.
 *
 * hyparquet reads a column chunk as one buffer and decodes all of it before it
 * returns (without an offset index, which most writers omit). A row group
 * holds 32 MiB (our writer) to hundreds of MiB of text (DuckDB: 122,880 rows;
 * Spark: 128 MiB; pyarrow: up to 1M rows), so one group of a 385 MB text
 * column peaked at 1.3 GB RSS. Here each column chunk is read through a
 * window of the file, one page after another (hyparquet's own page header
 * parser and page decoder, from its exported `src/` modules), and batches take
 * the values their rows need from each column's current page. pyarrow,
 * parquet-mr and parquet-rs write ~1 MiB pages; DuckDB writes pages of up to
 * ~100 MiB for long strings, which then bound memory instead.
 *
 * Only flat columns (a top-level primitive, not repeated) are read this way:
 * a page of a flat column holds whole rows, so its values are rows. Lists,
 * maps and structs keep hyparquet's row-group read (see reader.ts).
 */

import type { AsyncBuffer, ColumnChunk, Compressors, DecodedArray, ParquetParsers, SchemaTree } from 'hyparquet';
import { parquetHeader, readPage } from 'hyparquet/src/column.js';
import { convert, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { getTreePath, isFlatColumn } from 'hyparquet/src/schema.js';

/** hyparquet's page decoder parameters (its ColumnDecoder type, not exported by its index). */
type ColumnDecoder = Parameters<typeof readPage>[2];

/** Bytes read from the file at a time (more when a page is larger). */
const WINDOW = 1 << 20;
/** Bytes first offered to the page header parser (doubled while a header, e.g. with long min/max statistics, needs more). */
const HEADER_BYTES = 1 << 12;
/** No page header is longer: a header that does not parse in this many bytes is corrupt. */
const MAX_HEADER_BYTES = 1 << 26;

/** The column chunk of a top-level column in a row group, when it is flat and streamable. */
export function flatChunk(schema: SchemaTree, columns: ColumnChunk[], name: string): ColumnChunk | undefined {
  const path = getTreePath(schema, [name]);
  if (!isFlatColumn(path)) return undefined;
  const chunk = columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === name);
  if (!chunk?.meta_data || chunk.file_path) return undefined;
  return chunk;
}

export interface PageOptions {
  compressors: Compressors;
  parsers: Partial<ParquetParsers>;
  utf8: boolean;
  /** Bytes read from the file at a time (default 1 MiB; a larger page is read whole). */
  window?: number;
  /** Bytes first offered to the page header parser (default 4 KiB). */
  headerBytes?: number;
}

/** The values of one flat column chunk, page after page, through a bounded window of the file. */
export class ColumnPages {
  private readonly decoder: ColumnDecoder;
  /** File offsets: the next page header, and the end of the chunk. */
  private pos: number;
  private readonly end: number;
  /** The window: file bytes [winStart, winStart + win.length). */
  private win = new Uint8Array(0);
  private winStart = 0;
  private dictionary: DecodedArray | undefined;
  /** The current page's values and how many of them were taken. */
  private page: ArrayLike<unknown> = [];
  private taken = 0;
  private readonly window: number;
  private readonly headerBytes: number;
  /** Bytes read from the file so far. */
  bytesRead = 0;

  constructor(
    private readonly file: AsyncBuffer,
    schema: SchemaTree,
    chunk: ColumnChunk,
    options: PageOptions,
    /** Converts a page's values to batch values (bigints to numbers, ...). */
    private readonly convertValues: (data: DecodedArray) => unknown[],
  ) {
    const meta = chunk.meta_data!;
    const schemaPath = getTreePath(schema, meta.path_in_schema);
    this.decoder = {
      pathInSchema: meta.path_in_schema,
      element: schemaPath[schemaPath.length - 1].element,
      schemaPath,
      type: meta.type,
      codec: meta.codec,
      compressors: options.compressors,
      utf8: options.utf8,
      parsers: { ...DEFAULT_PARSERS, ...options.parsers },
    };
    // as hyparquet: the chunk starts at its dictionary page when there is one
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    this.pos = start;
    this.end = start + Number(meta.total_compressed_size);
    this.window = Math.max(1, options.window ?? WINDOW);
    this.headerBytes = Math.max(1, options.headerBytes ?? HEADER_BYTES);
  }

  /** A view of file bytes [pos, pos + length), reading a new window when they are not all in this one. */
  private async bytes(pos: number, length: number): Promise<DataView> {
    const off = pos - this.winStart;
    if (off < 0 || off + length > this.win.length) {
      // a fresh buffer every time: decoded binary values may be views of the old one
      const size = Math.min(Math.max(length, this.window), this.end - pos);
      this.win = new Uint8Array(await this.file.slice(pos, pos + size));
      this.winStart = pos;
      this.bytesRead += this.win.length;
      if (this.win.length < length) throw new Error(`column chunk ends early (at byte ${pos + this.win.length})`);
    }
    return new DataView(this.win.buffer, this.win.byteOffset + (pos - this.winStart), length);
  }

  /** The next data page's values (dictionary pages are read on the way), or undefined at the end of the chunk. */
  private async nextPage(): Promise<ArrayLike<unknown> | undefined> {
    for (;;) {
      if (this.pos >= this.end) return undefined;
      let want = Math.min(this.headerBytes, this.end - this.pos);
      let reader: { view: DataView; offset: number };
      let header: ReturnType<typeof parquetHeader>;
      for (;;) {
        reader = { view: await this.bytes(this.pos, want), offset: 0 };
        try {
          header = parquetHeader(reader);
          break;
        } catch (err) {
          // a header longer than the bytes offered (hyparquet's thrift decoder then throws a RangeError
          // or "ended without STOP"): offer more, up to the end of the chunk (or 64 MiB: a corrupt header)
          const most = Math.min(this.end - this.pos, MAX_HEADER_BYTES);
          if (want >= most) throw err;
          want = Math.min(want * 2, most);
        }
      }
      const bodyStart = this.pos + reader.offset;
      const size = header.compressed_page_size;
      if (!(size >= 0) || bodyStart + size > this.end) throw new Error('page runs past the end of its column chunk');
      const body = { view: await this.bytes(bodyStart, size), offset: 0 };
      this.pos = bodyStart + size;
      if (header.type === 'DICTIONARY_PAGE') {
        const { data } = readPage(body, header, this.decoder, undefined, undefined, 0);
        if (data) this.dictionary = convert(data, this.decoder);
        continue;
      }
      if (header.type !== 'DATA_PAGE' && header.type !== 'DATA_PAGE_V2') continue; // index pages
      const { data } = readPage(body, header, this.decoder, this.dictionary, undefined, 0);
      if (!data || data.length === 0) continue;
      return this.convertValues(data);
    }
  }

  /** The next `n` values of the column (fewer only when the chunk ends first). */
  async take(n: number): Promise<unknown[]> {
    if (this.taken + n <= this.page.length) {
      const from = this.taken;
      this.taken += n;
      return slice(this.page, from, from + n);
    }
    const out: unknown[] = new Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.taken === this.page.length) {
        const next = await this.nextPage();
        if (!next) break;
        this.page = next;
        this.taken = 0;
      }
      const m = Math.min(n - filled, this.page.length - this.taken);
      for (let i = 0; i < m; i++) out[filled + i] = this.page[this.taken + i];
      this.taken += m;
      filled += m;
    }
    out.length = filled;
    return out;
  }
}

function slice(a: ArrayLike<unknown>, from: number, to: number): unknown[] {
  if (Array.isArray(a)) return from === 0 && to === a.length ? a : a.slice(from, to);
  return Array.prototype.slice.call(a, from, to);
}
