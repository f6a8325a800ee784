/**
 * Arrow IPC: reader for the file format (`.arrow`, `.feather` v2) and the stream
 * format (`.arrows`), one record batch at a time; writer for the file format.
 * Values become plain JS: strings, numbers, booleans, int64 -> number when safe
 * (else bigint), structs -> objects, lists -> arrays, maps -> objects,
 * dictionary-encoded values -> their decoded values.
 */
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type Batch, dict, InputError, type ValueType } from '@curate/core';
import {
  Bool,
  CompressionType,
  DataType,
  Field,
  Float64,
  Int64,
  List,
  Map_,
  makeData,
  makeVector,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  Schema,
  Struct,
  Type,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { registerArrowCodecs, registerArrowZstdEncoder } from './arrow-codecs.js';
import { isWellFormed, JsonValueError, loneSurrogateMessage, parseJsonValue, setOwn, stringifyJson } from './json.js';
import { isContainer, type LeafConvert, type Nested, ShapeError, shapeName, toShape } from './nested.js';
import { missingColumnError } from './rows.js';
import { isRemote, storageFor } from './storage/index.js';
import type { ColumnSpec, FileWriter, FileWriterOptions, FormatReader, InputFile, ReadOptions } from './types.js';

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function safeBigint(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

/** Plain JS value of an Arrow value that is not a top-level column cell. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return safeBigint(v);
  if (typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    if (v instanceof Uint8Array) return v;
    return Array.from(v as unknown as ArrayLike<unknown>, plain);
  }
  const maybeVector = v as { type?: unknown; toArray?: unknown; length?: number; get?: unknown };
  if (typeof maybeVector.get === 'function' && maybeVector.type !== undefined) {
    return vectorValues(v as Vector);
  }
  const row = v as { toJSON?: () => Record<string, unknown> };
  if (typeof row.toJSON === 'function' && !(v instanceof Date)) {
    const obj = row.toJSON();
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) setOwn(out, k, plain(obj[k]));
    return out;
  }
  return v;
}

// apache-arrow decodes Utf8 with a TextDecoder that drops a leading U+FEFF: text must come back byte for byte
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Strings of a Utf8/LargeUtf8 vector, decoded from its buffers (nulls as null). */
function utf8Values(vec: Vector, out: unknown[]): unknown[] {
  let i = 0;
  for (const d of vec.data) {
    const offsets = d.valueOffsets as Int32Array | BigInt64Array;
    const bytes = d.values as Uint8Array;
    for (let j = 0; j < d.length; j++, i++) {
      if (!d.getValid(j)) {
        out[i] = null;
        continue;
      }
      out[i] = utf8Decoder.decode(bytes.subarray(Number(offsets[j]), Number(offsets[j + 1])));
    }
  }
  return out;
}

/** JS values of an Arrow vector. */
export function vectorValues(vec: Vector): unknown[] {
  const n = vec.length;
  const out = new Array(n);
  const type = vec.type as DataType;
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
      return utf8Values(vec, out);
    case Type.Bool:
    case Type.Float:
    case Type.Dictionary:
      for (let i = 0; i < n; i++) {
        const v = vec.get(i);
        out[i] = v === undefined ? null : v;
      }
      if (type.typeId === Type.Dictionary) for (let i = 0; i < n; i++) out[i] = plain(out[i]);
      return out;
    case Type.Int:
      for (let i = 0; i < n; i++) {
        const v = vec.get(i);
        out[i] = v === null || v === undefined ? null : typeof v === 'bigint' ? safeBigint(v) : v;
      }
      return out;
    case Type.List: {
      // each chunk's children decoded once (JSON leaves parsed), then cut by the chunk's offsets
      const field = (type as List).children[0];
      let i = 0;
      for (const d of vec.data) {
        const kid = childValues(field, makeVector(d.children[0]));
        const offsets = d.valueOffsets as Int32Array;
        for (let j = 0; j < d.length; j++, i++) out[i] = d.getValid(j) ? kid.slice(offsets[j], offsets[j + 1]) : null;
      }
      return out;
    }
    case Type.Struct: {
      const names = (type as Struct).children.map((f) => f.name);
      const kids = names.map((_, j) => childValues((type as Struct).children[j], vec.getChildAt(j)!));
      for (let i = 0; i < n; i++) {
        if (!vec.isValid(i)) {
          out[i] = null;
          continue;
        }
        const obj: Record<string, unknown> = {};
        for (let j = 0; j < names.length; j++) setOwn(obj, names[j], kids[j][i]);
        out[i] = obj;
      }
      return out;
    }
    default:
      for (let i = 0; i < n; i++) out[i] = plain(vec.get(i));
      return out;
  }
}

/** Values of a nested child field; a JSON leaf (`arrow.json`) parsed back. */
function childValues(field: Field, vec: Vector): unknown[] {
  const values = vectorValues(vec);
  if (field.metadata.get(EXTENSION_KEY) !== JSON_EXTENSION) return values;
  for (let i = 0; i < values.length; i++)
    if (typeof values[i] === 'string') values[i] = parseJsonValue(values[i] as string);
  return values;
}

function parseJsonColumn(values: unknown[], column: string, file: string, offset: number): unknown[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') {
      try {
        values[i] = parseJsonValue(v);
      } catch (e) {
        if (e instanceof JsonValueError)
          throw new InputError(`column "${column}": ${e.message}`, { code: e.code, file, row: offset + i });
        // not JSON after all: keep the text
      }
    }
  }
  return values;
}

/**
 * A field's name. apache-arrow cannot write an empty field name (it omits it, and reads a missing
 * name back as "null", merging that field with a real "null" column): our writer names such a field
 * `EMPTY_NAME` and marks it with `NAME_KEY` = "", which this reader turns back into "".
 */
function fieldName(f: Field): string {
  const marked = f.metadata.get(NAME_KEY);
  return marked !== undefined ? marked : f.name;
}

/** The type a field declares, where values alone may not show it (whole doubles, all-null columns). */
function fieldType(f: Field): ValueType | undefined {
  if (f.metadata.get(EXTENSION_KEY) === JSON_EXTENSION) return 'json';
  switch (f.type.typeId) {
    case Type.Float:
      return 'double';
    case Type.Int:
      return (f.type as Int64).bitWidth === 64 && !(f.type as Int64).isSigned ? undefined : 'int64';
    case Type.Bool:
      return 'boolean';
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    default:
      return undefined;
  }
}

/** The skeleton of a field's nested shape when a map occurs in it (see `Batch.declared`). */
function mapSkeleton(f: Field): Nested | undefined {
  const t = f.type;
  if (t.typeId === Type.Map) {
    const value = (t as Map_).children[0]?.type.children[1] as Field | undefined;
    const leaf = value && fieldType(value);
    return { type: 'map', value: (value && mapSkeleton(value)) ?? (leaf ? { type: leaf } : { type: 'null' }) };
  }
  if (t.typeId === Type.List) {
    const item = (t as List).children[0] as Field | undefined;
    const s = item && mapSkeleton(item);
    return s ? { type: 'list', item: s } : undefined;
  }
  if (t.typeId === Type.Struct) {
    const fields = ((t as Struct).children as Field[]).map((c) => ({ name: c.name, shape: mapSkeleton(c) }));
    if (!fields.some((x) => x.shape)) return undefined;
    return { type: 'struct', fields: fields.map((x) => ({ name: x.name, shape: x.shape ?? { type: 'null' } })) };
  }
  return undefined;
}

function columnValues(rb: RecordBatch, j: number, file: string, offset: number): unknown[] {
  const field = rb.schema.fields[j];
  const values = vectorValues(rb.getChildAt(j)!);
  return field.metadata.get(EXTENSION_KEY) === JSON_EXTENSION
    ? parseJsonColumn(values, fieldName(field), file, offset)
    : values;
}

function batchToColumns(
  rb: RecordBatch,
  columns: string[] | undefined,
  file: string,
  offset: number,
): { cols: Record<string, unknown[]>; types: Record<string, ValueType>; declared?: Record<string, Nested> } {
  const cols = dict<unknown[]>();
  const types = dict<ValueType>();
  let declared: Record<string, Nested> | undefined;
  const fields = rb.schema.fields;
  const names = fields.map(fieldName);
  const take = (j: number) => {
    cols[names[j]] = columnValues(rb, j, file, offset);
    const t = fieldType(fields[j]);
    if (t) types[names[j]] = t;
    const s = mapSkeleton(fields[j]);
    if (s) (declared ??= dict<Nested>())[names[j]] = s;
  };
  if (columns) for (const c of columns) take(names.indexOf(c));
  else for (let j = 0; j < fields.length; j++) take(j);
  return { cols, types, declared };
}

function sliceColumns(cols: Record<string, unknown[]>, start: number, end: number): Record<string, unknown[]> {
  const out = dict<unknown[]>();
  for (const [k, v] of Object.entries(cols)) out[k] = start === 0 && end === v.length ? v : v.slice(start, end);
  return out;
}

/**
 * The file handle apache-arrow reads an IPC file through, made to fail on a corrupt file instead
 * of spinning: reads outside the file are refused (arrow retries while it gets fewer bytes than it
 * asked for), and so is reading more than 8x the file's size (a corrupt schema made arrow re-read
 * the same message forever: found by corrupting bytes of real Arrow files; a sound file is read
 * about once). Arrow knows a handle by its `fd`, `stat` and `read`.
 */
function guardedHandle(fh: FileHandle, size: number) {
  let total = 0;
  const most = 8 * size + (1 << 20);
  return {
    fd: fh.fd,
    stat: () => fh.stat(),
    close: () => fh.close(),
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      if (!Number.isSafeInteger(position) || position < 0 || position > size)
        throw new Error(`a read at byte ${position} is outside the file (${size} bytes)`);
      const r = await fh.read(buffer, offset, length, position);
      if (r.bytesRead === 0 && length > 0) throw new Error(`a read at byte ${position} is past the end of the file`);
      total += r.bytesRead;
      if (total > most) throw new Error(`read ${total} bytes of a ${size}-byte file: its messages repeat`);
      return r;
    },
  };
}

/**
 * A remote IPC stream is one streamed GET; a remote IPC file is read through a handle whose reads
 * are ranged GETs (the footer, then each record batch), with the same guards as a local file.
 */
async function openRemoteReader(file: InputFile, close: () => Promise<void>) {
  const store = storageFor(file.path);
  const info = await store.stat(file.path);
  if (!info) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: file.path });
  if (file.format === 'arrows') {
    const stream = Readable.from(store.stream(file.path), { objectMode: false });
    const reader = await RecordBatchReader.from(stream);
    return { reader, close: async () => stream.destroy(), size: info.size };
  }
  const size = info.size;
  const handle = {
    fd: -1,
    stat: async () => ({ size }),
    close: async () => {},
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const bytes = await store.read(file.path, position, position + length);
      buffer.set(bytes, offset);
      return { bytesRead: bytes.length, buffer };
    },
  };
  const reader = await RecordBatchReader.from(
    guardedHandle(handle as unknown as FileHandle, size) as unknown as FileHandle,
  );
  await reader.open();
  return { reader, close, size };
}

/** Open a reader; `close` releases the file (also when opening fails half-way). */
async function openReader(file: InputFile) {
  registerArrowCodecs();
  let fh: FileHandle | undefined;
  let stream: ReadStream | undefined;
  const close = async () => {
    stream?.destroy();
    await fh?.close().catch(() => {});
    fh = undefined;
  };
  try {
    if (isRemote(file.path)) return await openRemoteReader(file, close);
    if (file.format === 'arrows') {
      stream = createReadStream(file.path);
      const { size } = await stat(file.path);
      return { reader: await RecordBatchReader.from(stream), close, size };
    }
    fh = await open(file.path);
    const size = (await fh.stat()).size;
    const reader = await RecordBatchReader.from(guardedHandle(fh, size) as unknown as FileHandle);
    await reader.open();
    return { reader, close, size };
  } catch (e) {
    await close();
    throw new InputError(
      `not a readable Arrow IPC ${file.format === 'arrows' ? 'stream' : 'file'}: ${(e as Error).message}`,
      { code: 'E_ARROW_READ', file: file.path, cause: e },
    );
  }
}

/** Column names and Arrow types (`Utf8`, `Int64`, `Dictionary<Int32, Utf8>`, ...) from the schema. */
export async function arrowColumnTypes(file: InputFile): Promise<{ name: string; type: string }[]> {
  const { reader, close } = await openReader(file);
  try {
    if (!reader.schema) await (reader as { open(): Promise<unknown> }).open();
    return reader.schema.fields.map((f) => ({
      name: fieldName(f),
      type: f.metadata.get(EXTENSION_KEY) === JSON_EXTENSION ? `${String(f.type)} (arrow.json)` : String(f.type),
    }));
  } finally {
    await close();
  }
}

export const arrowReader: FormatReader = {
  async *read(file: InputFile, options: ReadOptions): AsyncIterable<Batch> {
    const { reader, close, size: fileBytes } = await openReader(file);
    let offset = 0;
    let checked = false;
    try {
      for await (const rb of reader as AsyncIterable<RecordBatch>) {
        if (!checked && options.columns) {
          const names = rb.schema.fields.map(fieldName);
          const missing = options.columns.filter((c) => !names.includes(c));
          if (missing.length) throw missingColumnError(file.path, missing, names);
          checked = true;
        }
        if (rb.numRows === 0) continue;
        // a corrupt length field (Arrow files carry no checksums) would make the conversion below
        // build arrays of hundreds of millions of rows until the process dies: every row of a
        // non-null column takes at least one bit of the file
        if (rb.numRows > 8 * fileBytes + 64 && rb.schema.fields.some((f) => !DataType.isNull(f.type))) {
          throw new InputError(
            `cannot read Arrow IPC data: a record batch declares ${rb.numRows} rows, more than a ${fileBytes}-byte file can hold (corrupt file)`,
            { code: 'E_ARROW_READ', file: file.path },
          );
        }
        const { cols, types, declared } = batchToColumns(rb, options.columns, file.path, offset);
        const size = options.batchSize ?? rb.numRows;
        for (let start = 0; start < rb.numRows; start += size) {
          const end = Math.min(start + size, rb.numRows);
          if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
          yield {
            length: end - start,
            columns: sliceColumns(cols, start, end),
            file: file.path,
            offset: offset + start,
            types,
            ...(declared ? { declared } : {}),
          };
        }
        offset += rb.numRows;
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (e instanceof Error && e.name === 'AbortError') throw e;
      throw new InputError(`cannot read Arrow IPC data: ${(e as Error).message}`, {
        code: 'E_ARROW_READ',
        file: file.path,
        cause: e,
      });
    } finally {
      await (reader as { cancel?: () => Promise<void> | void }).cancel?.();
      await close();
    }
  },
};

const EXTENSION_KEY = 'ARROW:extension:name';
/** Field metadata naming a column apache-arrow cannot name itself (the empty name). */
const NAME_KEY = 'curate:name';
/** The name written for a column named "" (other Arrow readers show this name). */
const EMPTY_NAME = '\u0000curate:empty-name';
/** Canonical Arrow extension type for JSON text in a Utf8 column. */
const JSON_EXTENSION = 'arrow.json';

/**
 * The Arrow schema for curate column specs; `json` columns are Utf8 JSON text
 * marked with the canonical `arrow.json` extension type, which our reader parses back.
 */
export function arrowSchema(columns: ColumnSpec[]): Schema {
  return new Schema(
    columns.map((c) => {
      if (c.type === 'json' && isContainer(c.nested)) {
        const f = nestedField(c.name === '' ? EMPTY_NAME : c.name, c.nested);
        if (c.name !== '') return f;
        return new Field(EMPTY_NAME, f.type, true, new Map([[NAME_KEY, '']]));
      }
      const type =
        c.type === 'int64'
          ? new Int64()
          : c.type === 'double'
            ? new Float64()
            : c.type === 'boolean'
              ? new Bool()
              : new Utf8();
      const meta = new Map<string, string>();
      if (c.type === 'json') meta.set(EXTENSION_KEY, JSON_EXTENSION);
      if (c.name === '') meta.set(NAME_KEY, '');
      return new Field(c.name === '' ? EMPTY_NAME : c.name, type, true, meta.size ? meta : undefined);
    }),
  );
}

/** The Arrow field of a nested shape: List<item>, Struct<fields>, Map<Utf8, value>; JSON leaves as `arrow.json` Utf8. */
function nestedField(name: string, shape: Nested): Field {
  switch (shape.type) {
    case 'list':
      return new Field(name, new List(nestedField('element', shape.item)), true);
    case 'struct':
      return new Field(name, new Struct(shape.fields.map((f) => nestedField(f.name, f.shape))), true);
    case 'map': {
      const entry = new Struct([new Field('key', new Utf8(), false), nestedField('value', shape.value)]);
      return new Field(name, new Map_(new Field('entries', entry, false)), true);
    }
    case 'int64':
      return new Field(name, new Int64(), true);
    case 'double':
      return new Field(name, new Float64(), true);
    case 'boolean':
      return new Field(name, new Bool(), true);
    case 'json':
      return new Field(name, new Utf8(), true, new Map([[EXTENSION_KEY, JSON_EXTENSION]]));
    default:
      return new Field(name, new Utf8(), true);
  }
}

function arrowLeaves(column: string, row: number): LeafConvert {
  return {
    string: (v, path) => {
      if (!isWellFormed(v)) throw new CellError(loneSurrogateMessage(`${column}${path}`, v), 'E_LONE_SURROGATE', row);
      return v;
    },
    int64: (v) => BigInt(v),
    double: (v) => v,
    boolean: (v) => v,
    json: (v, path) => {
      try {
        return stringifyJson(v);
      } catch (e) {
        if (e instanceof JsonValueError) throw new CellError(`column "${column}"${path}: ${e.message}`, e.code, row);
        throw e;
      }
    },
  };
}

/** Nested values as one Arrow Data of the column's List/Struct/Map type. */
function nestedData(spec: ColumnSpec, shape: Nested, type: DataType, values: unknown[] | undefined, n: number) {
  const out = new Array(n);
  const toMap = (entries: [string, unknown][]) => new Map(entries);
  for (let i = 0; i < n; i++) {
    try {
      out[i] = values === undefined ? null : toShape(values[i], shape, arrowLeaves(spec.name, i), toMap);
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      throw new CellError(`column "${spec.name}" is ${shapeName(shape)}: ${e.message}`, 'E_COLUMN_TYPE', i);
    }
  }
  const vec = vectorFromArray(out, type);
  if (vec.data.length !== 1)
    throw new RangeError(`Arrow: nested column "${spec.name}" built in ${vec.data.length} chunks`);
  return vec.data[0];
}

const encoder = new TextEncoder();

/** Utf8 data built directly from offsets + one byte buffer (much cheaper than the generic builder). */
function utf8Data(values: (string | null)[]) {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  let cap = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null) cap += v.length * 3;
  }
  let buf = new Uint8Array(Math.max(cap, 8));
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null) {
      nulls++;
    } else {
      bitmap[i >> 3] |= 1 << (i & 7);
      if (v.length) pos += encoder.encodeInto(v, buf.subarray(pos)).written;
    }
    if (pos > 0x7fffffff) throw new RangeError('Arrow batch too large: more than 2 GiB of text in one column');
    offsets[i + 1] = pos;
  }
  buf = buf.subarray(0, pos);
  return makeData({
    type: new Utf8(),
    length: n,
    nullCount: nulls,
    nullBitmap: nulls ? bitmap : undefined,
    valueOffsets: offsets,
    data: buf,
  });
}

/** A value the column cannot hold; `row` is the row within the batch (the writer adds file and offset). */
class CellError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly row: number,
  ) {
    super(message);
  }
}

function typeError(spec: ColumnSpec, v: unknown, row: number): CellError {
  return new CellError(
    `column "${spec.name}" is ${spec.type} but has the value ${String(v).slice(0, 40)} (${typeof v})`,
    'E_COLUMN_TYPE',
    row,
  );
}

/** UTF-8 has no lone surrogates: a string with one would come back with U+FFFD instead, so it is refused. */
function checkWellFormed(spec: ColumnSpec, v: string, row: number): void {
  if (!isWellFormed(v)) throw new CellError(loneSurrogateMessage(spec.name, v), 'E_LONE_SURROGATE', row);
}

function toText(v: unknown, spec: ColumnSpec, row: number): string | null {
  if (v === null || v === undefined) return null;
  let text: string;
  try {
    text = spec.type === 'json' || typeof v === 'object' ? stringifyJson(v) : String(v);
  } catch (e) {
    if (e instanceof JsonValueError) throw new CellError(`column "${spec.name}": ${e.message}`, e.code, row);
    throw e;
  }
  // JSON text escapes lone surrogates (\udc00); plain strings must be well formed
  if (typeof v === 'string' && spec.type !== 'json') checkWellFormed(spec, text, row);
  return text;
}

/** A number or bigint as a double, refusing a bigint a double cannot hold exactly. */
function toDouble(spec: ColumnSpec, v: unknown, row: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const d = Number(v);
    if (BigInt(d) === v) return d;
  }
  throw typeError(spec, v, row);
}

function columnData(spec: ColumnSpec, values: unknown[] | undefined, n: number, field: Field) {
  if (spec.type === 'json' && isContainer(spec.nested)) return nestedData(spec, spec.nested, field.type, values, n);
  const get = (i: number) => (values === undefined ? null : values[i]);
  switch (spec.type) {
    case 'string':
    case 'json': {
      const texts = new Array<string | null>(n);
      for (let i = 0; i < n; i++) texts[i] = toText(get(i), spec, i);
      return utf8Data(texts);
    }
    case 'int64': {
      const arr = new Array<bigint | null>(n);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) arr[i] = null;
        else if (typeof v === 'bigint') arr[i] = v;
        else if (typeof v === 'number' && Number.isInteger(v) && !Object.is(v, -0)) arr[i] = BigInt(v);
        else throw typeError(spec, v, i);
      }
      return vectorFromArray(arr, new Int64()).data[0];
    }
    case 'double': {
      const arr = new Array<number | null>(n);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        arr[i] = v === null || v === undefined ? null : toDouble(spec, v, i);
      }
      return vectorFromArray(arr, new Float64()).data[0];
    }
    case 'boolean': {
      const arr = new Array<boolean | null>(n);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v === null || v === undefined) arr[i] = null;
        else if (typeof v === 'boolean') arr[i] = v;
        else throw typeError(spec, v, i);
      }
      return vectorFromArray(arr, new Bool()).data[0];
    }
  }
}

/** Buffer bytes of an Arrow Data and its children. */
function dataBytes(d: {
  values?: { byteLength: number };
  valueOffsets?: { byteLength: number };
  nullBitmap?: { byteLength: number };
  children?: unknown[];
}): number {
  let n = (d.values?.byteLength ?? 0) + (d.valueOffsets?.byteLength ?? 0) + (d.nullBitmap?.byteLength ?? 0);
  for (const c of d.children ?? []) n += dataBytes(c as typeof d);
  return n;
}

/**
 * Arrow IPC file writer: one record batch per `write`, uncompressed or with
 * zstd buffer compression (pyarrow and our reader read it; DuckDB cannot read
 * Arrow IPC files at all without an extension). `bytes` counts bytes handed
 * to the file.
 */
export async function createArrowWriter(path: string, options: FileWriterOptions): Promise<FileWriter> {
  const compression = options.compression ?? 'none';
  if (compression !== 'none' && compression !== 'zstd') {
    throw new InputError(`Arrow IPC output supports compression "none" or "zstd", not "${compression}"`, {
      code: 'E_UNSUPPORTED_COMPRESSION',
      file: path,
    });
  }
  registerArrowCodecs();
  if (compression === 'zstd')
    registerArrowZstdEncoder((await (await import('./parquet/codecs.js')).zstdCompress()).compress);
  const schema = arrowSchema(options.columns);
  const writer = new RecordBatchFileWriter(compression === 'zstd' ? { compressionType: CompressionType.ZSTD } : {});
  const out = createWriteStream(path);
  await new Promise<void>((res, rej) => {
    out.once('open', () => res());
    out.once('error', rej);
  });
  const stream = writer.toNodeStream();
  let bytes = 0;
  stream.on('data', (c: Uint8Array) => {
    bytes += c.length;
  });
  stream.pipe(out);
  const done = finished(out);
  done.catch(() => {});
  let wroteAny = false;
  let estimated = 0;
  return {
    get bytes() {
      return Math.max(bytes, estimated);
    },
    async write(batch: Batch) {
      if (batch.length === 0) return;
      const children = options.columns.map((c, j) => {
        try {
          return columnData(
            c,
            Object.hasOwn(batch.columns, c.name) ? batch.columns[c.name] : undefined,
            batch.length,
            schema.fields[j],
          );
        } catch (e) {
          if (e instanceof CellError)
            throw new InputError(e.message, {
              code: e.code,
              file: batch.file ?? path,
              row: (batch.offset ?? 0) + e.row,
            });
          throw e;
        }
      });
      const data = makeData({ type: new Struct(schema.fields), length: batch.length, nullCount: 0, children });
      writer.write(new RecordBatch(schema, data));
      wroteAny = true;
      // The node stream reports bytes asynchronously; count the batch body now for rotation.
      for (const child of children) {
        estimated += 64 + dataBytes(child);
      }
      // Let the node stream drain what the writer produced.
      await new Promise<void>((res) => setImmediate(res));
    },
    async close() {
      if (!wroteAny) writer.reset(undefined, schema);
      writer.finish();
      writer.close();
      await done;
    },
  };
}
