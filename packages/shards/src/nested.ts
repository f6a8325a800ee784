/**
 * Nested column shapes: lists, structs and maps written as nested columns (Parquet LIST/STRUCT/MAP,
 * Arrow List/Struct/Map, JSONL arrays and objects), never as JSON text behind the user's back.
 *
 * A shape is inferred from the values (`shapeOf`) and merged across batches and files
 * (`mergeShapes`): an object becomes a struct whose fields are the union of the keys seen (a key
 * missing in a row is null), an array a list of the merged item shape, int64 with double a double.
 * Values that cannot share one shape (a string in one row, an object in another), keys that cannot
 * be field names (""), more than MAX_STRUCT_FIELDS distinct keys whose values share a shape (then a
 * map<string, V>) or nesting deeper than MAX_DEPTH fall back to a JSON leaf (declared JSON: Parquet
 * logical type JSON, Arrow `arrow.json`), at that node only.
 */
import type { ValueType } from '@curate/core';
import { isWellFormed } from './json.js';

/** The shape of one nested value. `null`: only nulls (or empty lists) seen so far. */
export type Nested =
  | { type: ValueType }
  | { type: 'null' }
  | { type: 'list'; item: Nested }
  | { type: 'struct'; fields: NestedField[] }
  | { type: 'map'; value: Nested };

export interface NestedField {
  name: string;
  shape: Nested;
}

/** More distinct keys than this in a struct: a map<string, V> (or a JSON leaf when V differs). */
export const MAX_STRUCT_FIELDS = 64;
/** Deeper nesting than this is a JSON leaf. */
export const MAX_DEPTH = 16;

const NULL: Nested = { type: 'null' };
const JSON_LEAF: Nested = { type: 'json' };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Is `s` a container shape (what a nested column holds)? */
export function isContainer(s: Nested | undefined): s is Extract<Nested, { type: 'list' | 'struct' | 'map' }> {
  return s !== undefined && (s.type === 'list' || s.type === 'struct' || s.type === 'map');
}

/** The shape of one value. */
export function shapeOf(v: unknown, depth = 0): Nested {
  if (v === null || v === undefined) return NULL;
  switch (typeof v) {
    case 'string':
      // UTF-8 cannot hold a lone surrogate: such a string stays escaped JSON text
      return isWellFormed(v) ? { type: 'string' } : JSON_LEAF;
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return { type: Number.isSafeInteger(v) && !Object.is(v, -0) ? 'int64' : 'double' };
    case 'bigint':
      return v < INT64_MIN || v > INT64_MAX ? JSON_LEAF : { type: 'int64' };
    case 'object':
      break;
    default:
      return JSON_LEAF;
  }
  if (depth >= MAX_DEPTH || v instanceof Uint8Array) return JSON_LEAF;
  if (Array.isArray(v)) {
    let item: Nested = NULL;
    for (const x of v) {
      item = mergeShapes(item, shapeOf(x, depth + 1));
      if (item.type === 'json') break;
    }
    return { type: 'list', item };
  }
  if (v instanceof Map) {
    let value: Nested = NULL;
    for (const x of v.values()) value = mergeShapes(value, shapeOf(x, depth + 1));
    return { type: 'map', value };
  }
  const fields: NestedField[] = [];
  for (const k of Object.keys(v)) {
    // "" cannot name a field; "__proto__" is lost by readers that build objects with `{}`
    if (k === '' || k === '__proto__') return JSON_LEAF;
    fields.push({ name: k, shape: shapeOf((v as Record<string, unknown>)[k], depth + 1) });
  }
  return capStruct(fields);
}

/** A struct, or a map when it has too many fields. */
function capStruct(fields: NestedField[]): Nested {
  if (fields.length <= MAX_STRUCT_FIELDS) return { type: 'struct', fields };
  let value: Nested = NULL;
  for (const f of fields) value = mergeShapes(value, f.shape);
  return value.type === 'json' ? JSON_LEAF : { type: 'map', value };
}

/** The shape that holds values of both shapes (a JSON leaf when none does). */
export function mergeShapes(a: Nested, b: Nested): Nested {
  if (a === b || a.type === 'null') return b;
  if (b.type === 'null') return a;
  if (a.type === 'json' || b.type === 'json') return JSON_LEAF;
  if (a.type === 'list' && b.type === 'list') {
    const item = mergeShapes(a.item, b.item);
    return item === a.item ? a : { type: 'list', item };
  }
  if (a.type === 'struct' && b.type === 'struct') {
    let fields: NestedField[] | undefined;
    for (const f of b.fields) {
      const i = a.fields.findIndex((x) => x.name === f.name);
      const cur = fields ?? a.fields;
      if (i < 0) {
        fields = [...cur, f];
        continue;
      }
      const merged = mergeShapes(cur[i].shape, f.shape);
      if (merged !== cur[i].shape) {
        fields = cur.slice();
        fields[i] = { name: f.name, shape: merged };
      }
    }
    if (!fields) return a;
    return capStruct(fields);
  }
  if (a.type === 'map' || b.type === 'map') {
    const values = (s: Nested): Nested[] | undefined =>
      s.type === 'map' ? [s.value] : s.type === 'struct' ? s.fields.map((f) => f.shape) : undefined;
    const va = values(a);
    const vb = values(b);
    if (!va || !vb) return JSON_LEAF;
    let value: Nested = NULL;
    for (const s of [...va, ...vb]) value = mergeShapes(value, s);
    return value.type === 'json' ? JSON_LEAF : { type: 'map', value };
  }
  if (a.type === b.type) return a;
  if ((a.type === 'int64' && b.type === 'double') || (a.type === 'double' && b.type === 'int64'))
    return { type: 'double' };
  return JSON_LEAF;
}

/**
 * Does `v` fit `shape` as it is (no field, item type or number kind it lacks)? Allocation-free: the
 * common case of a batch whose values all fit the shape so far costs one walk, no shapes built.
 */
export function fitsShape(v: unknown, shape: Nested, depth = 0): boolean {
  if (v === null || v === undefined) return true;
  switch (shape.type) {
    case 'json':
      return true;
    case 'null':
      return false;
    case 'string':
      return typeof v === 'string' && isWellFormed(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'int64':
      return typeof v === 'number'
        ? Number.isSafeInteger(v) && !Object.is(v, -0)
        : typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX;
    case 'double':
      return typeof v === 'number';
    case 'list':
      if (!Array.isArray(v) || depth >= MAX_DEPTH) return false;
      for (let i = 0; i < v.length; i++) if (!fitsShape(v[i], shape.item, depth + 1)) return false;
      return true;
    case 'struct': {
      if (typeof v !== 'object' || Array.isArray(v) || v instanceof Map || v instanceof Uint8Array) return false;
      const rec = v as Record<string, unknown>;
      let n = 0;
      for (const f of shape.fields) {
        if (!Object.hasOwn(rec, f.name)) continue;
        n++;
        if (!fitsShape(rec[f.name], f.shape, depth + 1)) return false;
      }
      return n === Object.keys(rec).length;
    }
    case 'map':
      return false;
  }
}

/** The merged shape of a column's values (undefined when some value is not a container). */
export function columnShape(values: ArrayLike<unknown>, start?: Nested): Nested | undefined {
  let shape: Nested = start ?? NULL;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || v instanceof Uint8Array) return undefined;
    if (shape !== NULL && fitsShape(v, shape)) continue;
    shape = mergeShapes(shape, shapeOf(v));
    if (shape.type === 'json') return undefined;
  }
  const done = finish(shape);
  return isContainer(done) ? done : undefined;
}

/** A shape ready to write: a struct without fields (only `{}` seen) has no column type, so it is JSON. */
export function finish(s: Nested): Nested {
  switch (s.type) {
    case 'list': {
      const item = finish(s.item);
      return item === s.item ? s : { type: 'list', item };
    }
    case 'map': {
      const value = finish(s.value);
      return value === s.value ? s : { type: 'map', value };
    }
    case 'struct': {
      if (s.fields.length === 0) return JSON_LEAF;
      let fields: NestedField[] | undefined;
      s.fields.forEach((f, i) => {
        const shape = finish(f.shape);
        if (shape === f.shape) return;
        fields ??= s.fields.slice();
        fields[i] = { name: f.name, shape };
      });
      return fields ? { type: 'struct', fields } : s;
    }
    default:
      return s;
  }
}

/** Do two shapes describe the same column type? */
export function sameShape(a: Nested | undefined, b: Nested | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A shape as DuckDB spells the type (`STRUCT("role" VARCHAR, "content" VARCHAR)[]`), for messages and docs. */
export function shapeName(s: Nested): string {
  switch (s.type) {
    case 'list':
      return `${shapeName(s.item)}[]`;
    case 'struct':
      return `STRUCT(${s.fields.map((f) => `${JSON.stringify(f.name)} ${shapeName(f.shape)}`).join(', ')})`;
    case 'map':
      return `MAP(VARCHAR, ${shapeName(s.value)})`;
    case 'string':
    case 'null':
      return 'VARCHAR';
    case 'int64':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'JSON';
  }
}

/** Why a value does not fit a shape: the path inside the value and what was found. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly found: unknown,
  ) {
    super(
      `${path ? `at ${path} ` : ''}expected ${expected} but found ${
        found === null ? 'null' : Array.isArray(found) ? 'an array' : typeof found
      }`,
    );
  }
}

/** Leaf conversions a writer supplies (int64 -> bigint, JSON -> bytes, ...). */
export interface LeafConvert {
  string(v: string, path: string): unknown;
  int64(v: number | bigint): unknown;
  double(v: number): unknown;
  boolean(v: boolean): unknown;
  json(v: unknown, path: string): unknown;
}

/**
 * `v` as the writer's value for `shape`: structs as objects with exactly the shape's fields (missing
 * keys null), maps as `mapEntries(entries)`, leaves converted. A value that does not fit is ShapeError.
 */
export function toShape(
  v: unknown,
  shape: Nested,
  leaf: LeafConvert,
  mapEntries: (entries: [string, unknown][]) => unknown,
  path = '',
): unknown {
  if (v === null || v === undefined) return null;
  switch (shape.type) {
    case 'null':
      throw new ShapeError(path, 'null', v);
    case 'json':
      return leaf.json(v, path);
    case 'string':
      if (typeof v !== 'string') throw new ShapeError(path, 'a string', v);
      return leaf.string(v, path);
    case 'boolean':
      if (typeof v !== 'boolean') throw new ShapeError(path, 'a boolean', v);
      return leaf.boolean(v);
    case 'int64':
      if (typeof v === 'bigint' ? v < INT64_MIN || v > INT64_MAX : !Number.isSafeInteger(v) || Object.is(v, -0))
        throw new ShapeError(path, 'an int64', v);
      return leaf.int64(v as number | bigint);
    case 'double':
      if (typeof v === 'bigint' && BigInt(Number(v)) === v) return leaf.double(Number(v));
      if (typeof v !== 'number') throw new ShapeError(path, 'a number', v);
      return leaf.double(v);
    case 'list': {
      if (!Array.isArray(v)) throw new ShapeError(path, 'a list', v);
      const out = new Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = toShape(v[i], shape.item, leaf, mapEntries, `${path}[${i}]`);
      return out;
    }
    case 'struct': {
      if (typeof v !== 'object' || Array.isArray(v) || v instanceof Map) throw new ShapeError(path, 'an object', v);
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!shape.fields.some((f) => f.name === k)) throw new ShapeError(`${path}.${k}`, 'no such field', rec[k]);
      }
      const out: Record<string, unknown> = Object.create(null);
      for (const f of shape.fields) {
        out[f.name] = Object.hasOwn(rec, f.name)
          ? toShape(rec[f.name], f.shape, leaf, mapEntries, `${path}.${f.name}`)
          : null;
      }
      return out;
    }
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) throw new ShapeError(path, 'an object', v);
      const entries: [string, unknown][] = [];
      const src = v instanceof Map ? [...v.entries()] : Object.entries(v as Record<string, unknown>);
      for (const [k, x] of src) entries.push([String(k), toShape(x, shape.value, leaf, mapEntries, `${path}.${k}`)]);
      return mapEntries(entries);
    }
  }
}

/** A rough count of the value bytes of a converted nested value (for row-group and shard sizing). */
export function nestedSize(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.length;
  if (typeof v !== 'object') return 8;
  let n = 4;
  if (Array.isArray(v)) for (const x of v) n += nestedSize(x);
  else for (const k in v as object) n += nestedSize((v as Record<string, unknown>)[k]);
  return n;
}
