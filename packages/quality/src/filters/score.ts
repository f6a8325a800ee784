/** Thresholds on an existing numeric column (LLM-judge or reward-model scores). */
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';

export interface ScoreParams {
  column: string;
  min?: number;
  max?: number;
  missing: 'drop' | 'keep';
}

export const SCORE_DEFAULTS: ScoreParams = { column: '', min: undefined, max: undefined, missing: 'drop' };

/** A number from a cell: numbers, numeric strings and booleans (1/0); anything else is missing. */
export function toScore(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function score(p: ScoreParams): Filter['filter'] {
  const min = p.min ?? Number.NEGATIVE_INFINITY;
  const max = p.max ?? Number.POSITIVE_INFINITY;
  const keepMissing = p.missing === 'keep';
  return (doc: FilterDoc): FilterResult => {
    const v = toScore(doc.get(p.column));
    if (v === undefined) return keepMissing ? true : drop('missing');
    if (v < min) return drop('below_min');
    if (v > max) return drop('above_max');
    return true;
  };
}
