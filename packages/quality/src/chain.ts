import { type Batch, dropReason, type Kind, type Step, selectRows } from '@curate/core';
import { applies, DocView, type Filter } from './filter.js';

/**
 * A list of filters run in order on one row at a time, for hot loops: no
 * allocation per kept row, one cached reason string per distinct drop.
 */
export class FilterChain {
  readonly filters: readonly Filter[];
  /** The row view; after `run` returns null, `doc.text` is the kept (possibly cleaned) text. */
  readonly doc = new DocView();
  /** The index of the filter that dropped the last dropped row. */
  droppedBy = -1;
  private readonly reasons: Map<string, string>[];

  constructor(filters: readonly Filter[]) {
    this.filters = filters;
    this.reasons = filters.map(() => new Map());
  }

  /**
   * The columns the filters read besides the text, or undefined when a filter does not say
   * (a hand-written one may read any column: keep them all).
   */
  columns(): string[] | undefined {
    const out = new Set<string>();
    for (const f of this.filters) {
      if (!f.columns) return undefined;
      for (const c of f.columns) out.add(c);
    }
    return [...out];
  }

  /** Run every filter's one-time set-up (tokenizers, detectors). */
  async prepare(): Promise<void> {
    for (const f of this.filters) if (f.prepare) await f.prepare();
  }

  /** Full reason (`filter:NAME:DETAIL`) of filter `i` with `detail`. */
  reason(i: number, detail: string): string {
    const m = this.reasons[i];
    let r = m.get(detail);
    if (r === undefined) {
      r = dropReason('filter', this.filters[i].name, detail);
      m.set(detail, r);
    }
    return r;
  }

  /**
   * Decide one row: null to keep it (then `doc.text` is its text, cleaned when a
   * filter cleaned it; `doc.text !== text` tells), or the drop reason.
   */
  run(text: string, source: string, kind: Kind, columns?: Record<string, unknown[]>, row = 0): string | null {
    const doc = this.doc.set(text, source, kind, columns, row);
    const fs = this.filters;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i];
      if (f.appliesTo !== undefined && !applies(f, source, kind)) continue;
      const r = f.filter(doc);
      if (r === true) continue;
      if ('drop' in r) {
        this.droppedBy = i;
        return this.reason(i, r.drop);
      }
      doc.setText(r.text);
    }
    return null;
  }
}

/** Where a step finds each row's text, source and kind. */
export interface RowAccess {
  /** Text column name (default `text`) or a function of (batch, row). */
  text?: string | ((batch: Batch, row: number) => string);
  /** Source name when the batch has no `source` column (default `default`). */
  source?: string;
  /** Kind when the batch has no `kind` column (default `real`). */
  kind?: Kind;
}

export interface QualityStepOptions extends RowAccess {
  /** Column that receives cleaned text (c4 clean mode); default: the text column, or `text` for a template. */
  textColumn?: string;
  /** Called for every dropped row with its reason (to write rejected shards). */
  onReject?: (batch: Batch, row: number, reason: string) => void;
  /** Also count rows read and kept (standalone use; the pipeline counts those itself). */
  countRows?: boolean;
}

/** Resolve text/source/kind accessors for a batch. */
export function rowAccessor(
  batch: Batch,
  opts: RowAccess,
): {
  text: (row: number) => string;
  source: (row: number) => string;
  kind: (row: number) => Kind;
} {
  const t = opts.text ?? 'text';
  let text: (row: number) => string;
  if (typeof t === 'function') text = (r) => t(batch, r);
  else {
    const col = batch.columns[t];
    text = col ? (r) => toText(col[r]) : () => '';
  }
  const sc = batch.columns.source;
  const kc = batch.columns.kind;
  const src = opts.source ?? 'default';
  const kd = opts.kind ?? 'real';
  return {
    text,
    source: sc ? (r) => (typeof sc[r] === 'string' ? (sc[r] as string) : src) : () => src,
    kind: kc ? (r) => (kc[r] === 'synthetic' ? 'synthetic' : kc[r] === 'real' ? 'real' : kd) : () => kd,
  };
}

function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return String(v);
}

/**
 * The quality step: runs the chain on each batch, keeps or drops each row,
 * counts drops per source and reason in `ctx.stats`, and writes cleaned text back.
 */
export function qualityStep(filters: readonly Filter[], options: QualityStepOptions = {}): Step {
  return async function* quality(input, ctx) {
    const chain = new FilterChain(filters);
    await chain.prepare();
    const textCol = options.textColumn ?? (typeof options.text === 'string' ? options.text : 'text');
    for await (const batch of input) {
      if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
      const acc = rowAccessor(batch, options);
      const keep: number[] = [];
      let cleaned: unknown[] | undefined;
      chain.doc.file = batch.file;
      for (let r = 0; r < batch.length; r++) {
        const text = acc.text(r);
        const source = acc.source(r);
        chain.doc.fileRow = batch.offset === undefined ? r : batch.offset + r;
        const reason = chain.run(text, source, acc.kind(r), batch.columns, r);
        if (options.countRows) ctx.stats.read(source);
        if (reason === null) {
          keep.push(r);
          if (options.countRows) ctx.stats.kept(source);
          if (chain.doc.text !== text) {
            if (!cleaned) {
              const orig = batch.columns[textCol];
              cleaned = new Array(batch.length);
              for (let i = 0; i < batch.length; i++) cleaned[i] = orig ? orig[i] : acc.text(i);
            }
            cleaned[r] = chain.doc.text;
          }
        } else {
          ctx.stats.drop(source, reason);
          options.onReject?.(batch, r, reason);
        }
      }
      if (keep.length === batch.length && !cleaned) {
        yield batch;
        continue;
      }
      const src = cleaned ? { ...batch, columns: { ...batch.columns, [textCol]: cleaned } } : batch;
      if (keep.length > 0) yield selectRows(src, keep);
    }
  };
}
