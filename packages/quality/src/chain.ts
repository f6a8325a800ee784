import { type Batch, dropReason, type Kind, type RejectHandler, type Stats, type Step, selectRows } from '@curate/core';
import { compileTemplate, type TextTemplate } from '@curate/shards';
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
  private readonly redactors = new Map<string, ((s: string) => string) | null>();

  constructor(filters: readonly Filter[]) {
    this.filters = filters;
    this.reasons = filters.map(() => new Map());
  }

  /** Send what filters count (`doc.count`) to `stats` as changes of the row's source; null: drop them. */
  countInto(stats: Stats | null): this {
    this.doc.onCount = stats ? (source, key, n) => stats.change(source, key, n) : undefined;
    return this;
  }

  /**
   * The redaction (see `Filter.redact`) of the filters that apply to rows of `source` and `kind`,
   * in chain order, or null when none does.
   */
  redactor(source: string, kind: Kind): ((s: string) => string) | null {
    const key = `${kind}\u0000${source}`;
    let r = this.redactors.get(key);
    if (r === undefined) {
      const fs = this.filters.filter((f) => f.redact && applies(f, source, kind));
      r =
        fs.length === 0
          ? null
          : (s: string) => {
              let out = s;
              for (const f of fs) out = (f.redact as (v: string) => string)(out);
              return out;
            };
      this.redactors.set(key, r);
    }
    return r;
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
      doc.filterName = f.name;
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
  /**
   * Text column name or template (`{instruction}\n\n{response}`), default `text`, or a function of
   * (batch, row). A column the template names that a batch lacks is an InputError `E_MISSING_COLUMN`
   * naming the column and the batch's file, as in the dedup steps (never an empty text).
   */
  text?: string | ((batch: Batch, row: number) => string);
  /** Source name when the batch has no `source` column (default `default`). */
  source?: string;
  /** Kind when the batch has no `kind` column (default `real`). */
  kind?: Kind;
}

export interface QualityStepOptions extends RowAccess {
  /** Column that receives cleaned text (c4 clean mode, pii); default: the text column, or `text` for a template. */
  textColumn?: string;
  /** Receives the dropped rows of each batch with their reasons (to write rejected shards). */
  onReject?: RejectHandler;
  /** Also count rows read and kept (standalone use; the pipeline counts those itself). */
  countRows?: boolean;
}

export interface RowAccessor {
  text: (row: number) => string;
  source: (row: number) => string;
  kind: (row: number) => Kind;
}

/**
 * Text/source/kind accessors per batch for `opts`; the text template is compiled once and checked
 * against every batch (E_MISSING_COLUMN for a column it names that the batch lacks).
 */
export function rowAccess(opts: RowAccess): (batch: Batch) => RowAccessor {
  const t = opts.text ?? 'text';
  const template = typeof t === 'string' ? compileTemplate(t) : undefined;
  const src = opts.source ?? 'default';
  const kd = opts.kind ?? 'real';
  return (batch) => {
    let text: (row: number) => string;
    if (typeof t === 'function') text = (r) => t(batch, r);
    else {
      const tpl = template as TextTemplate;
      tpl.check(batch);
      text = (r) => tpl.render(batch, r);
    }
    const sc = batch.columns.source;
    const kc = batch.columns.kind;
    return {
      text,
      source: sc ? (r) => (typeof sc[r] === 'string' ? (sc[r] as string) : src) : () => src,
      kind: kc ? (r) => (kc[r] === 'synthetic' ? 'synthetic' : kc[r] === 'real' ? 'real' : kd) : () => kd,
    };
  };
}

/** The column cleaned text is written to: the text column, or `text` for a template or a function. */
export function cleanedTextColumn(options: QualityStepOptions): string {
  if (options.textColumn) return options.textColumn;
  if (typeof options.text !== 'string') return 'text';
  const tpl = compileTemplate(options.text);
  return tpl.columns.length === 1 && tpl.columns[0] === options.text ? options.text : 'text';
}

/**
 * The quality step: runs the chain on each batch, keeps or drops each row,
 * counts drops per source and reason in `ctx.stats`, and writes cleaned text back.
 * Kept rows whose text a redacting filter (`pii`) changed have every other string column
 * redacted the same way, so nothing the step yields holds what it removed.
 */
export function qualityStep(filters: readonly Filter[], options: QualityStepOptions = {}): Step {
  return async function* quality(input, ctx) {
    const chain = new FilterChain(filters);
    chain.countInto(ctx.stats);
    await chain.prepare();
    const textCol = cleanedTextColumn(options);
    const access = rowAccess(options);
    for await (const batch of input) {
      if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
      const acc = access(batch);
      const keep: number[] = [];
      const drop: number[] = [];
      const reasons: string[] = [];
      let out: Record<string, unknown[]> | undefined;
      chain.doc.file = batch.file;
      for (let r = 0; r < batch.length; r++) {
        const text = acc.text(r);
        const source = acc.source(r);
        const kind = acc.kind(r);
        chain.doc.fileRow = batch.offset === undefined ? r : batch.offset + r;
        const reason = chain.run(text, source, kind, batch.columns, r);
        if (options.countRows) ctx.stats.read(source);
        if (reason === null) {
          keep.push(r);
          if (options.countRows) ctx.stats.kept(source);
          if (chain.doc.text !== text) {
            out ??= copyColumns(batch, textCol, acc.text);
            out[textCol][r] = chain.doc.text;
          }
          const redact = chain.redactor(source, kind);
          if (redact) {
            out ??= copyColumns(batch, textCol, acc.text);
            redactRow(out, batch.columns, r, redact, textCol);
          }
        } else {
          drop.push(r);
          reasons.push(reason);
          ctx.stats.drop(source, reason);
        }
      }
      if (drop.length && options.onReject) await options.onReject(selectRows(batch, drop), reasons);
      if (keep.length === batch.length && !out) {
        yield batch;
        continue;
      }
      const src = out ? { ...batch, columns: out } : batch;
      if (keep.length > 0) yield selectRows(src, keep);
    }
  };
}

/** Shallow copies of a batch's columns with `textCol` as its own array (rendered when absent). */
function copyColumns(batch: Batch, textCol: string, text: (row: number) => string): Record<string, unknown[]> {
  const cols: Record<string, unknown[]> = { ...batch.columns };
  const orig = batch.columns[textCol];
  const t = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) t[i] = orig ? orig[i] : text(i);
  cols[textCol] = t;
  return cols;
}

/**
 * Redact the string cells of row `r` in every column but `skip` (the text column, already redacted by
 * the chain), copying a column on its first change so the input batch is never modified.
 */
export function redactRow(
  out: Record<string, unknown[]>,
  input: Record<string, unknown[]>,
  r: number,
  redact: (s: string) => string,
  skip: string,
): void {
  for (const name of Object.keys(out)) {
    if (name === skip) continue;
    const v = out[name][r];
    if (typeof v !== 'string') continue;
    const red = redact(v);
    if (red === v) continue;
    if (out[name] === input[name]) out[name] = [...input[name]];
    out[name][r] = red;
  }
}
