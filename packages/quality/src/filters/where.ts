/**
 * `where`: keep rows by the value of an input column: `{ column: status, eq: ok }`,
 * `{ column: language, in: [en, de] }`, `{ column: score, gte: 3 }`. Every given condition must
 * hold. Structured, not a string expression language (no parser, no injection, recipe-path errors).
 */
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';
import { toScore } from './score.js';

export type WhereValue = string | number | boolean;

export interface WhereParams {
  column: string;
  eq?: WhereValue;
  ne?: WhereValue;
  in?: WhereValue[];
  not_in?: WhereValue[];
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  missing: 'drop' | 'keep';
}

export const WHERE_DEFAULTS: WhereParams = { column: '', missing: 'drop' };

/** The condition parameters (at least one is required). */
export const WHERE_CONDITIONS = ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte'] as const;

/**
 * Does cell `v` equal literal `x`? A number literal matches a numeric cell (numbers, bigints, numeric
 * strings: JSONL often holds `"3"`), a string literal only a string cell, a boolean only a boolean.
 */
export function whereEquals(v: unknown, x: WhereValue): boolean {
  if (typeof x === 'number') return toScore(typeof v === 'boolean' ? undefined : v) === x;
  return v === x;
}

export function where(p: WhereParams): Filter['filter'] {
  const col = p.column;
  const fail = drop(col);
  const missing = drop(`${col}:missing`);
  const keepMissing = p.missing === 'keep';
  const { eq, ne, gt, gte, lt, lte } = p;
  const inList = p.in;
  const notIn = p.not_in;
  const numeric = gt !== undefined || gte !== undefined || lt !== undefined || lte !== undefined;
  return (doc: FilterDoc): FilterResult => {
    const v = doc.get(col);
    if (v === null || v === undefined) return keepMissing ? true : missing;
    if (eq !== undefined && !whereEquals(v, eq)) return fail;
    if (ne !== undefined && whereEquals(v, ne)) return fail;
    if (inList !== undefined && !inList.some((x) => whereEquals(v, x))) return fail;
    if (notIn?.some((x) => whereEquals(v, x))) return fail;
    if (numeric) {
      const n = typeof v === 'boolean' ? undefined : toScore(v);
      if (n === undefined) return fail;
      if (gt !== undefined && !(n > gt)) return fail;
      if (gte !== undefined && !(n >= gte)) return fail;
      if (lt !== undefined && !(n < lt)) return fail;
      if (lte !== undefined && !(n <= lte)) return fail;
    }
    return true;
  };
}
