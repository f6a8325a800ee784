/** Column types from values (and the types a reader knows from the file). */
import type { Batch, ValueType } from '@curate/core';
import { columnShape, mergeShapes, type Nested, sameShape } from './nested.js';
import type { ColumnSpec, ColumnType } from './types.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The type of one column's values: see `inferColumns`. `declared` is the type the file declares
 * (`batch.types`): it decides an all-null column, and `double` keeps whole numbers a float column.
 */
export function inferType(values: ArrayLike<unknown>, declared?: ValueType): ColumnType {
  if (declared === 'json') return 'json'; // JSON values of any kind (a JSON column of strings stays JSON)
  let type: ColumnType | undefined;
  // a bigint beyond 2^53 that a double cannot hold exactly: such a column is never `double`
  let wideInt = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    let t: ColumnType;
    switch (typeof v) {
      case 'string':
        t = 'string';
        break;
      case 'boolean':
        t = 'boolean';
        break;
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) return 'json'; // kept exact as JSON text
        if (BigInt(Number(v)) !== v) wideInt = true;
        t = 'int64';
        break;
      case 'number':
        // -0 is a float (an int64 has no -0)
        t = Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0) ? 'int64' : 'double';
        break;
      default:
        t = 'json';
    }
    if (type === undefined || type === t) type = t;
    else if ((type === 'int64' && t === 'double') || (type === 'double' && t === 'int64')) type = 'double';
    else return 'json';
  }
  if (type === undefined) return declared ?? 'string';
  if (type === 'int64' && declared === 'double') type = 'double';
  // int64 mixed with double: double, unless a big integer would lose digits (then exact JSON numbers)
  return type === 'double' && wideInt ? 'json' : type;
}

/**
 * Column specs for a batch, in column order: `string`, `int64` (safe integers
 * or bigint within int64), `double` (any non-integer number or -0; int64 mixed
 * with double -> double; a column the file declares a float, e.g. Parquet DOUBLE
 * or JSON `1.0`, stays double when its values are whole), `boolean`, `json`
 * (objects, arrays, a mix of kinds, integers beyond int64, or big integers
 * mixed with doubles). An all-null column takes the file's declared type, else `string`.
 */
export function inferColumns(batch: Batch): ColumnSpec[] {
  const types = batch.types;
  return Object.entries(batch.columns).map(([name, values]) => {
    const declared = types && Object.hasOwn(types, name) ? types[name] : undefined;
    const type = inferType(values, declared);
    // lists, structs and maps (not a column the file declares JSON text) keep their shape
    const skeleton =
      batch.declared && Object.hasOwn(batch.declared, name) ? (batch.declared[name] as Nested) : undefined;
    const nested = type === 'json' && declared !== 'json' ? columnShape(values, skeleton) : undefined;
    return nested ? { name, type, nested } : { name, type };
  });
}

/**
 * One spec for a column seen with two specs (two batches or files): int64 with double is double,
 * two nested shapes merge (see `mergeShapes`), a nested shape with nulls only stays nested, any
 * other difference is JSON text.
 */
export function mergeColumnSpec(a: ColumnSpec, b: ColumnSpec): ColumnSpec {
  if (a.type === b.type && sameShape(a.nested, b.nested)) return a;
  if (a.type === 'json' && b.type === 'json') {
    if (a.nested && b.nested) {
      const nested: Nested = mergeShapes(a.nested, b.nested);
      return nested.type === 'json' ? { name: a.name, type: 'json' } : { name: a.name, type: 'json', nested };
    }
    return { name: a.name, type: 'json' };
  }
  if ((a.type === 'int64' && b.type === 'double') || (a.type === 'double' && b.type === 'int64'))
    return { name: a.name, type: 'double' };
  return { name: a.name, type: 'json' };
}

/**
 * `columns` widened to hold `batch`'s values (the same array when they already do): a nested
 * column's shape grows by the values that do not fit it (checked without building shapes), the
 * others merge with the batch's inferred type. Columns the batch lacks are kept as they are.
 */
export function widenColumns(columns: readonly ColumnSpec[], batch: Batch): readonly ColumnSpec[] {
  let out: ColumnSpec[] | undefined;
  columns.forEach((c, i) => {
    if (!Object.hasOwn(batch.columns, c.name)) return;
    const values = batch.columns[c.name];
    let next: ColumnSpec;
    if (c.nested) {
      const nested = columnShape(values, c.nested);
      if (nested === c.nested) return;
      next = nested ? { name: c.name, type: 'json', nested } : { name: c.name, type: 'json' };
    } else {
      const declared = batch.types && Object.hasOwn(batch.types, c.name) ? batch.types[c.name] : undefined;
      next = mergeColumnSpec(c, { name: c.name, type: inferType(values, declared) });
    }
    if (next === c || (next.type === c.type && sameShape(next.nested, c.nested))) return;
    out ??= columns.slice();
    out[i] = next;
  });
  return out ?? columns;
}

/** `mergeColumnSpec` over lists of specs, by name, in first-seen order. */
export function mergeColumnSpecs(lists: readonly (readonly ColumnSpec[])[]): ColumnSpec[] {
  const out: ColumnSpec[] = [];
  const at = new Map<string, number>();
  for (const l of lists) {
    for (const c of l) {
      const i = at.get(c.name);
      if (i === undefined) {
        at.set(c.name, out.length);
        out.push(c);
      } else out[i] = mergeColumnSpec(out[i], c);
    }
  }
  return out;
}
