/** Column types from values (and the types a reader knows from the file). */
import type { Batch, ValueType } from '@curate/core';
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
  return Object.entries(batch.columns).map(([name, values]) => ({
    name,
    type: inferType(values, types && Object.hasOwn(types, name) ? types[name] : undefined),
  }));
}
