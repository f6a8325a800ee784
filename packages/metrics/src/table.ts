import type { MetricsResult } from './corpus-metrics.js';

const COLUMNS: { head: string; cell: (r: MetricsResult) => string }[] = [
  { head: 'docs', cell: (r) => String(r.documents) },
  { head: 'tokens', cell: (r) => String(r.tokens) },
  { head: 'len p10/p50/p90', cell: (r) => `${fmt(r.length.p10)}/${fmt(r.length.p50)}/${fmt(r.length.p90)}` },
  { head: 'sample', cell: (r) => String(r.sampleTokens) },
  { head: 'dist-1', cell: (r) => r.distinct[1].toFixed(3) },
  { head: 'dist-2', cell: (r) => r.distinct[2].toFixed(3) },
  { head: 'dist-3', cell: (r) => r.distinct[3].toFixed(3) },
  { head: 'mattr', cell: (r) => r.mattr.toFixed(3) },
  { head: 'hapax', cell: (r) => r.hapaxShare.toFixed(3) },
  { head: 'gzip', cell: (r) => r.compressionRatio.toFixed(2) },
  { head: 'top3g', cell: (r) => r.topNgramConcentration.toFixed(3) },
];

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toString() : x.toFixed(x >= 10 ? 0 : 1);
}

/**
 * A plain-text table, one row per group (sorted by name), for `curate stats`.
 * Lengths are in words (quantiles from 1/4-octave buckets); diversity columns are
 * measured on each group's sample (column `sample`, in words).
 */
export function formatMetricsTable(rows: Record<string, MetricsResult>): string {
  const names = Object.keys(rows).sort();
  const table = [['group', ...COLUMNS.map((c) => c.head)]];
  for (const n of names) table.push([n, ...COLUMNS.map((c) => c.cell(rows[n]))]);
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
    .join('\n');
}
