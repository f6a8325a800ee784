/** Column types from values. */
import type { Batch } from '@curate/core';
import type { ColumnSpec, ColumnType } from './types.js';

/** The type of one column's values: see `inferColumns`. */
export function inferType(values: ArrayLike<unknown>): ColumnType {
  let type: ColumnType | undefined;
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
        t = 'int64';
        break;
      case 'number':
        t = Number.isSafeInteger(v) ? 'int64' : 'double';
        break;
      default:
        t = 'json';
    }
    if (type === undefined || type === t) type = t;
    else if ((type === 'int64' && t === 'double') || (type === 'double' && t === 'int64')) type = 'double';
    else return 'json';
  }
  return type ?? 'string';
}

/**
 * Column specs for a batch, in column order: `string`, `int64` (safe integers
 * or bigint), `double` (any non-integer number; int64 mixed with double ->
 * double), `boolean`, `json` (objects, arrays, or a mix of kinds). An all-null
 * column is `string`.
 */
export function inferColumns(batch: Batch): ColumnSpec[] {
  return Object.entries(batch.columns).map(([name, values]) => ({ name, type: inferType(values) }));
}
