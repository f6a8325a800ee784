import { InputError, type Kind } from '@curate/core';
import { TextAnalysis } from './text.js';

/** Which rows a filter looks at: a kind, or a list of source names. Others pass untouched. */
export type AppliesTo = 'real' | 'synthetic' | readonly string[];

/** A cheap, reused view of one row. */
export interface FilterDoc {
  /** The document text (after any cleaning by earlier filters). */
  readonly text: string;
  readonly source: string;
  readonly kind: Kind;
  /** Another column of the row; throws InputError when the column does not exist. */
  get(column: string): unknown;
  /** Shared, lazily computed tokens and lines of `text` (see text.ts). */
  readonly analysis: TextAnalysis;
  /**
   * Count `n` under `key` of what the filter changed in this row (`count('email', 2)`): the base adds
   * it to the row's source as `NAME:key` (`pii:email`) in the run's counters (`Stats.change`).
   */
  count(key: string, n?: number): void;
}

/** Keep (`true`), drop with a reason detail, or keep with cleaned text. */
export type FilterResult = true | { drop: string } | { text: string };

/** A filter: the one hook `filter(doc)`; counting and rejected rows are the base's job. */
export interface Filter {
  /** Filter name as in the recipe (`gopher_quality`), used in drop reasons `filter:NAME:DETAIL`. */
  readonly name: string;
  readonly appliesTo?: AppliesTo;
  /**
   * The columns the filter reads with `doc.get` (besides the text): [] for one that reads none;
   * absent when unknown (a hand-written filter may read any), so readers must keep every column.
   */
  readonly columns?: readonly string[];
  /** Optional one-time async set-up (e.g. loading a tokenizer). */
  prepare?(): Promise<void>;
  filter(doc: FilterDoc): FilterResult;
  /**
   * For filters that remove content from the text (`pii`): the same removal for any other string
   * value written with a row the filter applies to (pass-through columns, the input columns
   * `curate filter` keeps, rejected rows), so no copy of what was removed is written.
   */
  redact?(value: string): string;
  /**
   * The filter split in two (a staged mix stores the values and decides later, see FilterSignals):
   * `decide(measure(doc))` must equal `filter(doc)` for every document and every threshold.
   */
  readonly signals?: FilterSignals;
}

/**
 * A filter whose decision is a function of a few numbers measured on the text and of threshold
 * parameters. The staged mix (@curate/pipeline) stores the numbers per row in the input's attribute
 * shard, keyed by `key`, and decides from them: a recipe that changes only thresholds re-reads no text.
 */
export interface FilterSignals {
  /** The parameters the measured values depend on (JSON; part of the attribute key). Thresholds are not. */
  readonly key: unknown;
  /** The values' names, in order (attribute column names). */
  readonly names: readonly string[];
  /** Write the values of `doc` into `out` (length `names.length`). */
  measure(doc: FilterDoc, out: Float64Array): void;
  /** The decision from the values: keep, or drop with the detail `filter(doc)` gives. */
  decide(values: Float64Array): true | { drop: string };
}

/** Does the filter look at rows of this source and kind? */
export function applies(f: Filter, source: string, kind: Kind): boolean {
  const a = f.appliesTo;
  if (a === undefined) return true;
  if (typeof a === 'string') return a === kind;
  return a.includes(source);
}

/** Shared drop-result objects so a drop allocates nothing. */
const dropCache = new Map<string, { drop: string }>();
export function drop(detail: string): { drop: string } {
  let d = dropCache.get(detail);
  if (!d) {
    d = Object.freeze({ drop: detail }) as { drop: string };
    dropCache.set(detail, d);
  }
  return d;
}

/** The mutable row view used by the chain; one per stream, re-pointed per row. */
export class DocView implements FilterDoc {
  text = '';
  source = '';
  kind: Kind = 'real';
  columns: Record<string, unknown[]> | undefined;
  row = 0;
  file: string | undefined;
  fileRow: number | undefined;
  /** The name of the filter being run (set by the chain, for `count`). */
  filterName = '';
  /** Where `count` goes (set by the chain); counts are dropped when absent. */
  onCount: ((source: string, key: string, n: number) => void) | undefined;
  private readonly a = new TextAnalysis();
  private analysed = false;

  set(text: string, source: string, kind: Kind, columns?: Record<string, unknown[]>, row = 0): this {
    this.text = text;
    this.source = source;
    this.kind = kind;
    this.columns = columns;
    this.row = row;
    this.analysed = false;
    return this;
  }

  setText(text: string): void {
    this.text = text;
    this.analysed = false;
  }

  get analysis(): TextAnalysis {
    if (!this.analysed) {
      this.a.reset(this.text);
      this.analysed = true;
    }
    return this.a;
  }

  count(key: string, n = 1): void {
    this.onCount?.(this.source, `${this.filterName}:${key}`, n);
  }

  get(column: string): unknown {
    const col = this.columns?.[column];
    if (col === undefined) {
      const names = this.columns ? Object.keys(this.columns).join(', ') : '';
      throw new InputError(`column "${column}" not found (columns: ${names || 'none'})`, {
        code: 'E_MISSING_COLUMN',
        file: this.file,
        row: this.fileRow,
      });
    }
    return col[this.row];
  }
}
