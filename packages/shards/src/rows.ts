/** Row objects -> columnar batches, with the column set carried across batches of one file. */
import { type Batch, dict, InputError, type ValueType } from '@curate/core';

/**
 * Accumulates row objects into columns. Columns are the union of keys in
 * first-seen order over the whole file so far (a later batch has every column
 * an earlier one had); a row without a key gets `null`.
 * With `only`, just those columns are kept, in that order.
 */
export class RowColumns {
  private names: string[] = [];
  private cols = new Map<string, unknown[]>();
  private seen = new Set<string>();
  /** Columns with a number written as a float (`1.0`) in this file: written as doubles. */
  private doubles = new Set<string>();
  length = 0;

  constructor(private readonly only?: string[]) {
    if (only) {
      for (const n of only) {
        if (!this.cols.has(n)) {
          this.names.push(n);
          this.cols.set(n, []);
        }
      }
    }
  }

  /**
   * Add a row. Returns true when a value it keeps is a number that is whole or not finite, or a
   * nested object/array: JSON text may then hold more than `JSON.parse` gave (digits beyond 2^53,
   * `1.0`, `1e400`, deep nesting), and the JSONL reader calls `refine`.
   */
  add(obj: Record<string, unknown>): boolean {
    const row = this.length++;
    let check = false;
    if (this.only) {
      for (const n of this.names) {
        // own keys only: a row without "toString" must not read Object.prototype.toString
        if (!Object.hasOwn(obj, n)) continue;
        this.seen.add(n);
        const v = obj[n];
        if (v === undefined) continue;
        this.cols.get(n)![row] = v;
        if (typeof v === 'number' ? Number.isInteger(v) || !Number.isFinite(v) : typeof v === 'object' && v !== null)
          check = true;
      }
      return check;
    }
    for (const k in obj) {
      let col = this.cols.get(k);
      if (col === undefined) {
        col = [];
        this.cols.set(k, col);
        this.names.push(k);
      }
      const v = obj[k];
      col[row] = v;
      if (typeof v === 'number' ? Number.isInteger(v) || !Number.isFinite(v) : typeof v === 'object' && v !== null)
        check = true;
    }
    return check;
  }

  /** Replace the last row's values by those of `exact` (the same keys); `floats` names its float columns (it is emptied). */
  refine(exact: Record<string, unknown>, floats: Set<string>): void {
    const row = this.length - 1;
    for (const k of floats) this.doubles.add(k);
    floats.clear();
    for (const k in exact) {
      const col = this.cols.get(k);
      if (col !== undefined && col[row] !== undefined) col[row] = exact[k];
    }
  }

  /** Hand out the rows collected so far as a batch and start a new one. */
  flush(file: string, offset: number): Batch {
    const length = this.length;
    // a dictionary without prototype: a column named "__proto__" or "constructor" is a column
    const columns = dict<unknown[]>();
    for (const n of this.names) {
      const col = this.cols.get(n)!;
      // Fill holes (rows without the key) and the tail with null.
      const out = new Array(length);
      for (let i = 0; i < length; i++) {
        const v = col[i];
        out[i] = v === undefined ? null : v;
      }
      columns[n] = out;
      this.cols.set(n, []);
    }
    this.length = 0;
    let types: Record<string, ValueType> | undefined;
    for (const n of this.doubles) {
      if (!this.cols.has(n)) continue;
      types ??= dict<ValueType>();
      types[n] = 'double';
    }
    return types ? { length, columns, file, offset, types } : { length, columns, file, offset };
  }

  /** Requested columns that no row so far had. */
  missing(): string[] {
    return this.only ? this.only.filter((n) => !this.seen.has(n)) : [];
  }
}

export function missingColumnError(file: string, missing: string[], available?: string[]): InputError {
  const avail = available ? `; columns: ${available.join(', ') || '(none)'}` : '';
  return new InputError(
    `missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}${avail}`,
    {
      code: 'E_MISSING_COLUMN',
      file,
    },
  );
}

/** Keep only `columns` of a batch (in that order); a missing one is E_MISSING_COLUMN. */
export function projectBatch(batch: Batch, columns: string[] | undefined, file: string): Batch {
  if (!columns) return batch;
  const missing = columns.filter((c) => !Object.hasOwn(batch.columns, c));
  if (missing.length) throw missingColumnError(file, missing, Object.keys(batch.columns));
  const out = dict<unknown[]>();
  for (const c of columns) out[c] = batch.columns[c];
  return {
    length: batch.length,
    columns: out,
    file: batch.file,
    offset: batch.offset,
    types: batch.types,
    declared: batch.declared,
  };
}
