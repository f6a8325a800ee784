/**
 * The finalize stage: diversity metrics per kind (sources merged) and the synthetic-vs-real
 * comparisons with their warnings, the output's totals, shards and columns in the manifest, the
 * ledger invariant (rows_read == dropped + available for every source, or the run fails),
 * `manifest.json` (last of the data files) and `report.html`. The caller then commits the output.
 */
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { peakRssBytes } from '@curate/core';
import { compareToReal, diversityWarnings, type MetricsResult } from '@curate/metrics';
import type { Recipe } from '@curate/recipe';
import type { WrittenShard } from '@curate/shards';
import { chatHistograms, nonTextWarnings } from '../chat-stats.js';
import { diversityResults, reviveResults } from '../diversity.js';
import { lineageRecord, lineageWarnings } from '../lineage.js';
import type { Manifest, OutputShardRecord, WarningRecord } from '../manifest.js';
import { roleMetricsRecord } from '../role-metrics.js';
import { checkInvariant } from '../run.js';
import type { SourceState } from './sources.js';
import type { WriteResult } from './write.js';

export interface FinalizeContext {
  recipe: Recipe;
  sources: SourceState[];
  /** The manifest as planned (filled in here). */
  manifest: Manifest;
  write: WriteResult;
  tokensWritten: number;
  /** The plan's warnings (the diversity warnings are added). */
  warnings: WarningRecord[];
  tmpDir: string;
  report: boolean;
  timings: Record<string, number>;
  /** performance.now() at the start of the run. */
  started: number;
}

function now(): number {
  return performance.now();
}

export async function finalizeStage(ctx: FinalizeContext): Promise<Manifest> {
  const { recipe, sources, warnings, tmpDir, timings } = ctx;
  const { shards, rejectedShards, written, rejectedRows, columns, bySource } = ctx.write;
  // Metrics, warnings, manifest, report.
  const tm = now();
  let metricsTime = ctx.write.metricsSeconds;
  // computed on a pass-2 thread while the shards were written, else here
  const div = ctx.write.diversity
    ? reviveResults(await ctx.write.diversity)
    : diversityResults(bySource, sources, recipe.seed);
  const metricsSources = div.sources;
  const metricsKinds = div.kinds;
  const synthetic: Record<string, MetricsResult> = {};
  for (const s of sources)
    if (s.kind === 'synthetic' && metricsSources[s.name]) synthetic[s.name] = metricsSources[s.name];
  const comparisons = metricsKinds.real ? compareToReal(synthetic, metricsKinds.real) : {};
  const diversity = diversityWarnings({
    comparisons,
    thresholds:
      recipe.guards?.min_diversity_ratio !== undefined
        ? { minDistinctRatio: recipe.guards.min_diversity_ratio }
        : undefined,
  });
  for (const w of diversity)
    warnings.push({ code: w.code, message: w.message, sources: w.source ? [w.source] : undefined, fact: w.fact });

  metricsTime += (now() - tm) / 1000;
  timings.metrics_seconds = metricsTime;
  const manifest = ctx.manifest;
  manifest.totals.rows_written = written;
  manifest.totals.tokens_written = ctx.tokensWritten;
  manifest.totals.rows_rejected_written = rejectedRows;
  // The unigram sketches (up to 64k buckets each) served the comparisons; the manifest keeps the numbers.
  const slim = (g: Record<string, MetricsResult>) =>
    Object.fromEntries(Object.entries(g).map(([k, { unigram: _u, ...rest }]) => [k, rest]));
  manifest.metrics = { sources: slim(metricsSources), kinds: slim(metricsKinds), comparisons };
  const roles = roleMetricsRecord(sources, ctx.write.byRole, recipe.seed);
  if (roles) manifest.metrics.roles = roles;
  manifest.lineage = lineageRecord(recipe, manifest.sources);
  manifest.conversations = chatHistograms(sources.map((s) => ({ kind: s.kind, counts: s.scans.map((f) => f.chat) })));
  warnings.push(...nonTextWarnings(sources.map((s) => ({ name: s.name, counts: s.scans.map((f) => f.chat) }))));
  warnings.push(...lineageWarnings(recipe, manifest.lineage, manifest.sources));
  manifest.warnings = warnings;
  const rel = (w: WrittenShard): OutputShardRecord => ({
    path: relative(tmpDir, w.path),
    rows: w.rows,
    bytes: w.bytes,
    sha256: w.sha256,
  });
  manifest.output.shards = shards.map(rel);
  manifest.output.rejected = rejectedShards.map(rel);
  manifest.output.columns = columns;
  manifest.timings = {
    ...timings,
    total_seconds: (now() - ctx.started) / 1000,
    peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20),
  };
  manifest.finished_at = new Date().toISOString();
  checkInvariant(manifest);
  await writeFile(join(tmpDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (ctx.report) await writeReportFile(tmpDir);
  return manifest;
}

async function writeReportFile(dir: string): Promise<void> {
  // loaded only when a report is written (~40 ms of imports a `report: false` run does not pay)
  const { writeReport } = await import('@curate/report');
  await writeReport(join(dir, 'manifest.json'), join(dir, 'report.html'));
}
