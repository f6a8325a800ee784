import { type Batch, reasonKey } from '@curate/core';
import { FilterChain, type RowAccess, rowAccess } from './chain.js';
import { applies, DocView, type Filter } from './filter.js';

export interface FilterPassRate {
  /** Filter name, or `chain` for all filters in order. */
  name: string;
  /** Rows the filter applies to (applies_to). */
  rows: number;
  passed: number;
  /** Drops by reason key (`filter:gopher_quality:word_count`). */
  dropped: Record<string, number>;
}

export interface PassRates {
  rows: number;
  /** Each filter alone, on the original text. */
  filters: FilterPassRate[];
  /** All filters in order (cleaning applied), as a mix would run them. */
  chain: FilterPassRate;
}

/**
 * Per-filter pass rates over a corpus: each filter independently, plus the
 * chain. For `curate stats` and threshold tuning before a mix.
 */
export async function evaluateFilters(
  input: AsyncIterable<Batch> | Iterable<Batch>,
  filters: readonly Filter[],
  options: RowAccess = {},
): Promise<PassRates> {
  const chain = new FilterChain(filters);
  await chain.prepare();
  const single = filters.map((f) => new FilterChain([f]));
  const view = new DocView();
  const rates = filters.map((f) => ({ name: f.name, rows: 0, passed: 0, dropped: {} as Record<string, number> }));
  const chainRate: FilterPassRate = { name: 'chain', rows: 0, passed: 0, dropped: {} };
  let rows = 0;
  const access = rowAccess(options);
  for await (const batch of input) {
    const acc = access(batch);
    view.file = batch.file;
    chain.doc.file = batch.file;
    for (let r = 0; r < batch.length; r++) {
      const text = acc.text(r);
      const source = acc.source(r);
      const kind = acc.kind(r);
      const fileRow = batch.offset === undefined ? r : batch.offset + r;
      rows++;
      // every filter on the original text, sharing one analysis
      view.set(text, source, kind, batch.columns, r);
      view.fileRow = fileRow;
      for (let i = 0; i < filters.length; i++) {
        const f = filters[i];
        if (!applies(f, source, kind)) continue;
        const rate = rates[i];
        rate.rows++;
        const res = f.filter(view);
        if (res === true || !('drop' in res)) rate.passed++;
        else {
          const key = reasonKey(single[i].reason(0, res.drop));
          rate.dropped[key] = (rate.dropped[key] ?? 0) + 1;
        }
      }
      chain.doc.fileRow = fileRow;
      chainRate.rows++;
      const reason = chain.run(text, source, kind, batch.columns, r);
      if (reason === null) chainRate.passed++;
      else {
        const key = reasonKey(reason);
        chainRate.dropped[key] = (chainRate.dropped[key] ?? 0) + 1;
      }
    }
  }
  return { rows, filters: rates, chain: chainRate };
}

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`;
}

/** Plain-text table of pass rates: one line per filter, the chain last, top drop reasons. */
export function formatPassRates(rates: PassRates, options: { topReasons?: number } = {}): string {
  const top = options.topReasons ?? 3;
  const all = [...rates.filters, rates.chain];
  const rows = all.map((r) => {
    const reasons = Object.entries(r.dropped)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, top)
      .map(([k, v]) => `${r.name === 'chain' ? k.replace(/^filter:/, '') : k.split(':').slice(2).join(':') || k} ${v}`)
      .join(', ');
    return [r.name, String(r.rows), String(r.passed), pct(r.passed, r.rows), reasons];
  });
  const head = ['filter', 'rows', 'passed', 'pass rate', 'top drop reasons'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
