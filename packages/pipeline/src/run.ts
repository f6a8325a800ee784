/**
 * runRecipe: read -> quality -> decontaminate -> exact/near dedup -> plan ->
 * sample -> shuffle -> write, in two passes so text is never held in memory.
 *
 * Pass 1 (worker threads, one file per task) keeps per row only its drop
 * reason, token count, text length, exact key and MinHash signature. Dedup
 * decisions, the plan, the sample and the global order are then computed from
 * those arrays. Pass 2 re-reads each source in order, scatters selected rows
 * into shuffle buckets on disk (BucketSpill) and rejected rows into
 * `rejected/`, then writes the buckets in output order.
 *
 * Decontamination runs before dedup (the design lists them the other way):
 * a contaminated document must never be the one a dedup cluster keeps, or its
 * clean near-copies would be dropped as duplicates of a row that is dropped too.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import {
  type Batch,
  CurateError,
  dict,
  type Kind,
  type ProgressListener,
  peakRssBytes,
  type Row,
  rowsToBatch,
  Stats,
} from '@curate/core';
import { CorpusMetrics, compareToReal, diversityWarnings, type MetricsResult } from '@curate/metrics';
import type { MixPlan } from '@curate/mix';
import { canonicalJson, type Recipe, recipeHash } from '@curate/recipe';
import {
  type ColumnSpec,
  type ColumnType,
  createShardWriter,
  expandInputs,
  type InputFile,
  type ProtectedPath,
  prepareOutputDir,
  readShard,
  type ShardWriter,
  type WrittenShard,
} from '@curate/shards';
import { checkRow, checkStamp, rowsChanged } from './integrity.js';
import type { Manifest, OutputShardRecord, SourceRecord } from './manifest.js';
import { MANIFEST_VERSION } from './manifest.js';
import { createOutputWriter, rowShardFormat } from './output-writer.js';
import type { SamplePool } from './pool.js';
import { RowReasons } from './reasons.js';
import { makeRow, type SampleTask } from './sample.js';
import { type FileScan, passThroughColumns, Scanner, type ScanTask } from './scan.js';
import { qualitySignalsRecord, SignalHistograms, signalRate } from './signals.js';
import { BucketSpill } from './spill.js';
import { type DedupSource, dedupStage } from './stages/dedup.js';
import { planStage } from './stages/plan.js';
import { scanStage } from './stages/scan.js';
import { WorkDir } from './stages/workdir.js';

/** The version written into manifests, from this package's package.json (one version line for all of curate). */
export const TOOL_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export interface RunOptions {
  /** Output directory; overrides the recipe's `output.dir`. */
  out?: string;
  overwrite?: boolean;
  /** Worker threads for pass 1 (default: the cores available, at most 8). Output does not depend on it. */
  workers?: number;
  /** Stop after planning: nothing is written. */
  dryRun?: boolean;
  /** Scale an infeasible budget down instead of failing. */
  allowShortfall?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Recipe file and hash, for the manifest (set by `runRecipeFile`). */
  recipeFile?: string;
  /** Render report.html when the recipe asks (default true). */
  report?: boolean;
  /** Diversity metrics of the written rows (default true); off only to measure their cost. */
  metrics?: boolean;
  /** Quality-signal histograms of a sample of the rows read (default true); off only to measure their cost. */
  qualitySignals?: boolean;
  /**
   * The work dir: attribute shards reused and stored across runs (default: `.curate-work` beside
   * the output directory, see `defaultWorkDir`); false: nothing stored, everything computed.
   */
  work?: string | false;
}

export interface RunResult {
  plan: MixPlan;
  manifest: Manifest;
  /** The output directory, when something was written. */
  outDir?: string;
  dryRun: boolean;
}

/** Per-source state assembled after pass 1. */
interface SourceState {
  index: number;
  name: string;
  kind: Kind;
  generator: string | null;
  files: InputFile[];
  scans: FileScan[];
  /** First source row of each file. */
  fileBase: number[];
  rowsRead: number;
  /** First global document index of this source. */
  docBase: number;
  /** source row -> drop reason (a code per row into a table of distinct reasons). */
  reasons: RowReasons;
  /** Available source rows, ascending, and their tokens. */
  avail: Uint32Array;
  availTokens: Uint32Array;
  availChars: Uint32Array;
  columns: ColumnSpec[];
}

const BUCKET_BYTES = 64 << 20;
const WRITE_BATCH = 4096;

function now(): number {
  return performance.now();
}

/** Run a resolved recipe (see `loadRecipe` in @curate/recipe). */
export async function runRecipe(recipe: Recipe, options: RunOptions = {}): Promise<RunResult> {
  const started = new Date();
  const t0 = now();
  const timings: Record<string, number> = {};
  const progress = options.onProgress ?? (() => {});
  const workers = Math.max(1, options.workers ?? Math.min(availableParallelism(), 8));
  const outDir = resolve(options.out ?? recipe.output.dir);

  // Inputs (fail before any work when a path matches nothing).
  const files: InputFile[][] = [];
  for (const s of recipe.sources) files.push(await expandInputs(s.paths));
  // Pass-through columns under provenance names are refused before any work (a recipe not validated).
  for (let i = 0; i < recipe.sources.length; i++) passThroughColumns(recipe, i);
  const measure = options.qualitySignals !== false;
  const tasks = scanTasks(files, measure);
  const totalBytes = tasks.reduce((a, t) => a + t.size, 0);

  // The work dir (attributes reused across runs), locked for this run; none for a dry run.
  const workPath = options.dryRun || options.work === false ? null : resolve(options.work ?? defaultWorkDir(outDir));
  // The output directory is checked before any work, and written under a temporary name.
  const out = options.dryRun ? null : await openOutput(outDir, recipe, files, options, workPath);
  let work: WorkDir | null = null;
  // The pass-1 threads, kept for pass 2 when they can do it (no rejected rows to write).
  let samplePool: SamplePool | null = null;
  try {
    if (workPath) work = await WorkDir.open(workPath, TOOL_VERSION);
    // Pass 1.
    let scannedBytes = 0;
    let scannedRows = 0;
    progress({ phase: 'scan', rows: 0, bytes: 0, totalBytes });
    const { scans, record: scanRecord } = await scanStage(recipe, tasks, {
      workers,
      work,
      tool: TOOL_VERSION,
      signal: options.signal,
      onDone: (t, r) => {
        scannedBytes += t.size;
        scannedRows += r.rows;
        progress({ phase: 'scan', rows: scannedRows, bytes: scannedBytes, totalBytes });
      },
      keep:
        options.dryRun || recipe.output.write_rejected
          ? undefined
          : (p) => {
              samplePool = p;
            },
    });
    timings.scan_seconds = (now() - t0) / 1000;

    // Quality-signal histograms per kind (sums of the files' histograms: order does not matter).
    let signalsRecord: Manifest['quality_signals'];
    if (measure) {
      const byKind = { real: new SignalHistograms(), synthetic: new SignalHistograms() };
      let seconds = 0;
      for (const t of tasks) {
        const h = scans[t.id].signals;
        if (!h) continue;
        byKind[recipe.sources[t.sourceIndex].kind === 'synthetic' ? 'synthetic' : 'real'].merge(h);
        seconds += h.seconds;
      }
      // Thread time spent measuring signals, summed over the scan workers (inside scan_seconds).
      timings.signals_seconds = seconds;
      signalsRecord = qualitySignalsRecord(recipe, byKind);
    }

    // Assemble per source.
    const sources: SourceState[] = [];
    let docBase = 0;
    recipe.sources.forEach((s, si) => {
      const sc = tasks.filter((t) => t.sourceIndex === si).map((t) => scans[t.id]);
      const fileBase: number[] = [];
      let rowsRead = 0;
      const reasons = new RowReasons(sc.reduce((a, f) => a + f.rows, 0));
      for (const f of sc) {
        fileBase.push(rowsRead);
        for (let i = 0; i < f.dropRows.length; i++) reasons.set(rowsRead + f.dropRows[i], f.dropReasons[i]);
        // held in `reasons` from here: a string per dropped row need not live on
        f.dropRows = [];
        f.dropReasons = [];
        rowsRead += f.rows;
      }
      sources.push({
        index: si,
        name: s.name,
        kind: s.kind as Kind,
        generator: s.kind === 'synthetic' ? (s.generator ?? null) : null,
        files: files[si],
        scans: sc,
        fileBase,
        rowsRead,
        docBase,
        reasons,
        avail: new Uint32Array(0),
        availTokens: new Uint32Array(0),
        availChars: new Uint32Array(0),
        columns: mergeColumns(sc.map((f) => f.columns)),
      });
      docBase += rowsRead;
    });
    const idOf = (s: DedupSource, sourceRow: number): string => {
      const f = fileOf(s, sourceRow);
      const v = s.scans[f].ids?.[sourceRow - s.fileBase[f]];
      return v ? v : `${s.name}:${sourceRow}`;
    };

    // Dedup decisions (global across sources unless scope: per_source).
    stagePoint('dedup');
    const t1 = now();
    const { record: dedupRecord, reused: dedupReused } = await dedupStage(recipe, sources, scans, idOf, work);
    timings.dedup_seconds = (now() - t1) / 1000;

    // Availability, counters and the plan.
    const stats = new Stats();
    for (const s of sources) {
      const n = s.rowsRead - s.reasons.size;
      s.avail = new Uint32Array(n);
      s.availTokens = new Uint32Array(n);
      s.availChars = new Uint32Array(n);
      let k = 0;
      s.scans.forEach((f, fi) => {
        for (let r = 0; r < f.rows; r++) {
          const sr = s.fileBase[fi] + r;
          if (s.reasons.has(sr)) continue;
          s.avail[k] = sr;
          s.availTokens[k] = f.tokens[r];
          s.availChars[k] = f.chars[r];
          k++;
        }
      });
      stats.read(s.name, s.rowsRead);
      stats.kept(s.name, n);
      for (const [r, k] of s.reasons.counts()) stats.drop(s.name, r, k);
      for (const f of s.scans) for (const [k, v] of Object.entries(f.changed)) stats.change(s.name, k, v);
    }
    const t2 = now();
    const {
      unit,
      plan,
      selections,
      achieved,
      warnings,
      order: orderOf,
    } = planStage(
      recipe,
      sources.map((s) => ({
        name: s.name,
        kind: s.kind,
        rowsRead: s.rowsRead,
        dropped: s.reasons.size,
        availTokens: s.availTokens,
      })),
      { allowShortfall: options.allowShortfall },
    );
    timings.plan_seconds = (now() - t2) / 1000;

    const baseManifest = (): Manifest => ({
      manifest_version: MANIFEST_VERSION,
      tool: { name: 'curate', version: TOOL_VERSION },
      recipe: {
        name: recipe.name,
        file: options.recipeFile,
        hash: recipeHash(recipe),
        resolved: JSON.parse(canonicalJson(recipe)),
      },
      seed: recipe.seed,
      tokenizer: recipe.tokenizer,
      unit,
      dry_run: Boolean(options.dryRun),
      started_at: started.toISOString(),
      finished_at: new Date().toISOString(),
      target: {
        budget: plan.budget,
        requested_budget: plan.requestedBudget ?? null,
        max_budget: plan.maxBudget,
        ratio: plan.targetRatio,
        planned_ratio: plan.plannedRatio,
        achieved_ratio: achieved.achievedRatio,
        shortfall: plan.shortfall
          ? {
              limiting_source: plan.shortfall.limitingSource,
              largest_feasible_budget: plan.shortfall.largestFeasibleBudget,
            }
          : undefined,
      },
      totals: {
        rows_read: sources.reduce((a, s) => a + s.rowsRead, 0),
        rows_dropped: sources.reduce((a, s) => a + s.reasons.size, 0),
        rows_available: sources.reduce((a, s) => a + s.avail.length, 0),
        rows_written: 0,
        tokens_written: 0,
        rows_rejected_written: 0,
      },
      sources: sources.map((s, si): SourceRecord => {
        const q = plan.quotas[si];
        const sel = selections[si];
        const counters = stats.toJSON()[s.name];
        return {
          name: s.name,
          kind: s.kind,
          generator: s.generator ?? undefined,
          files: s.files.map((f, fi) => ({
            path: f.path,
            format: f.compression ? `${f.format}+${f.compression}` : f.format,
            bytes: f.size,
            sha256: s.scans[fi].sha256,
            rows: s.scans[fi].rows,
          })),
          rows_read: s.rowsRead,
          dropped: counters?.dropped ?? {},
          ...(counters?.changed ? { changed: counters.changed } : {}),
          rows_available: s.avail.length,
          tokens_available: sum(s.availTokens),
          rows_sampled: sel.documents,
          tokens_sampled: sel.tokens,
          epochs: q.epochs,
          quota: q.quota,
          share: plan.budget > 0 ? q.quota / plan.budget : 0,
          kind_share: q.share,
          max_epochs: q.maxEpochs,
          limiting: q.limiting,
        };
      }),
      dedup: dedupRecord,
      metrics: { sources: {}, kinds: {}, comparisons: {} },
      warnings,
      quality_signals: signalsRecord,
      output: {
        dir: outDir,
        format: recipe.output.format,
        compression: recipe.output.compression,
        shards: [],
        rejected: [],
        columns: [],
      },
      ...(work ? { work: { dir: work.dir, scan: scanRecord, dedup: { reused: dedupReused } } } : {}),
      timings: { ...timings, total_seconds: (now() - t0) / 1000 },
      counters: stats.toJSON(),
    });

    if (options.dryRun || !out) {
      return { plan, manifest: baseManifest(), dryRun: true };
    }

    stagePoint('write');
    // Global order -> per source (row, epoch, position), sorted by source row for pass 2.
    const t3 = now();
    const order = orderOf();
    const total = order.length;
    const perSourceSel = sources.map((_, si) => ({
      n: 0,
      rows: new Uint32Array(selections[si].documents),
      epochs: new Uint16Array(selections[si].documents),
      pos: new Float64Array(selections[si].documents),
    }));
    let p = 0;
    for (const chunk of order) {
      for (let i = 0; i < chunk.length; i++) {
        const ps = perSourceSel[chunk.source[i]];
        ps.rows[ps.n] = sources[chunk.source[i]].avail[chunk.row[i]];
        ps.epochs[ps.n] = chunk.epoch[i];
        ps.pos[ps.n] = p++;
        ps.n++;
      }
    }
    let estBytes = 0;
    for (let si = 0; si < sources.length; si++) {
      const sel = selections[si];
      for (let i = 0; i < sel.rows.length; i++) estBytes += sources[si].availChars[sel.rows[i]] * 2 + 200;
    }
    const spillDir = join(out.tmpDir, '.spill');
    await mkdir(spillDir, { recursive: true });
    const spill = new BucketSpill(spillDir, Math.max(1, Math.ceil(estBytes / BUCKET_BYTES)), total);

    // Pass 2: re-read, scatter selected rows to buckets and rejected rows to rejected/.
    const rejectedWriter: ShardWriter | null = recipe.output.write_rejected
      ? createShardWriter({
          dir: join(out.tmpDir, 'rejected'),
          ...rowShardFormat(recipe),
          maxRows: recipe.output.shard_rows,
          maxBytes: recipe.output.shard_size,
          columns: rejectedColumns(sources),
        })
      : null;
    if (rejectedWriter) await mkdir(join(out.tmpDir, 'rejected'), { recursive: true });
    let rejectedRows = 0;
    let pass2Bytes = 0;
    let pass2Rows = 0;
    const pool = samplePool as SamplePool | null;
    // The pass-1 threads do pass 2 unless rejected rows must be written (only this thread writes).
    const threaded = pool !== null && !rejectedWriter;
    // Diversity metrics of the written rows, per source (kinds are merged from sources below).
    const bySource = new Map<string, CorpusMetrics>();
    const byKind = new Map<string, CorpusMetrics>();
    const metricsFor = (m: Map<string, CorpusMetrics>, k: string) => {
      let x = m.get(k);
      if (!x) {
        x = new CorpusMetrics({ seed: recipe.seed });
        m.set(k, x);
      }
      return x;
    };
    let metricsSeconds = 0;
    // On the pass-2 threads, each file's texts are measured where they are read; the accumulators
    // merge exactly (order does not matter), so the writer below does not measure again.
    const metricsInPass2 = threaded && options.metrics !== false;
    if (threaded) {
      // On the pass-1 threads, one task per file with selected rows (or per row range of a big JSONL
      // file); records arrive ready to file.
      const stasks: SampleTask[] = [];
      for (const s of sources) {
        const sel = perSourceSel[s.index];
        const idx = sortIndex(sel.rows, sel.epochs, sel.n);
        const passCols = passThroughColumns(recipe, s.index);
        let k = 0;
        for (let fi = 0; fi < s.files.length && k < sel.n; fi++) {
          const end = fi + 1 < s.files.length ? s.fileBase[fi + 1] : Number.POSITIVE_INFINITY;
          const start = k;
          while (k < sel.n && sel.rows[idx[k]] < end) k++;
          if (k === start) continue;
          const f = s.files[fi];
          const sc = s.scans[fi];
          // A JSONL file with many selected rows is shared out in row ranges (each task scans the
          // file's bytes and parses only its own lines), so no thread finishes pass 2 alone.
          const m = k - start;
          const raw = f.format === 'jsonl' && !f.compression;
          const chunks = raw ? Math.max(1, Math.min(workers, Math.floor(m / 128))) : 1;
          let from = start;
          for (let c = 1; c <= chunks; c++) {
            let to = c === chunks ? k : start + Math.round((m * c) / chunks);
            while (to < k && to > from && sel.rows[idx[to]] === sel.rows[idx[to - 1]]) to++; // whole rows
            if (to <= from) continue;
            const n = to - from;
            const rows = new Uint32Array(n);
            const epochs = new Uint16Array(n);
            const pos = new Float64Array(n);
            const ids: string[] = new Array(n);
            const hashes = new Uint32Array(n);
            let chars = 0;
            for (let j = 0; j < n; j++) {
              const e = idx[from + j];
              rows[j] = sel.rows[e];
              epochs[j] = sel.epochs[e];
              pos[j] = sel.pos[e];
              ids[j] = idOf(s, sel.rows[e]);
              hashes[j] = sc.textHashes[sel.rows[e] - s.fileBase[fi]];
              chars += sc.chars[sel.rows[e] - s.fileBase[fi]];
            }
            stasks.push({
              kind: 'sample',
              id: stasks.length,
              sourceIndex: s.index,
              source: { name: s.name, kind: s.kind, generator: s.generator },
              path: f.path,
              format: f.format,
              compression: f.compression,
              size: f.size,
              // characters to re-derive and write, plus the bytes to scan (an estimate, for ordering)
              cost: chars + f.size / 16,
              bytes: f.size / chunks,
              fileBase: s.fileBase[fi],
              keys: sc.keys,
              rows,
              epochs,
              pos,
              ids,
              hashes,
              stamp: sc.stat,
              passCols,
              metricsSeed: metricsInPass2 ? recipe.seed : null,
            });
            from = to;
          }
        }
      }
      const found = new Array(sources.length).fill(0);
      await pool.run(
        stasks,
        (t, r) => {
          for (let j = 0; j < r.found; j++)
            spill.addRecord(r.positions[j], r.data.subarray(r.offsets[j], r.offsets[j + 1]));
          found[t.sourceIndex] += r.found;
          if (r.metrics) {
            const tm = now();
            metricsFor(bySource, t.source.name).merge(CorpusMetrics.fromState(r.metrics));
            metricsSeconds += r.metricsSeconds + (now() - tm) / 1000;
          }
          pass2Rows += r.rowsRead;
          pass2Bytes += t.bytes;
          progress({ phase: 'sample', rows: pass2Rows, bytes: pass2Bytes, totalBytes });
        },
        options.signal,
      );
      for (const s of sources) {
        const n = perSourceSel[s.index].n;
        if (found[s.index] !== n) {
          throw new CurateError(
            `source "${s.name}" changed between passes: ${n - found[s.index]} selected rows were not found again (were its files modified during the run?)`,
            { code: 'E_INPUT_CHANGED' },
          );
        }
      }
    }
    // Pass 2 on this thread: its own text-only scanner (not built when the pass-1 threads did pass 2).
    const mainSources = threaded ? [] : sources;
    let textScanner: Scanner | undefined;
    for (const s of mainSources) {
      textScanner ??= await Scanner.create(recipe, { textOnly: true });
      const scanner = textScanner;
      const sel = perSourceSel[s.index];
      const idx = sortIndex(sel.rows, sel.epochs, sel.n);
      let ptr = 0;
      const passCols = passThroughColumns(recipe, s.index);
      // pii: rejected rows' text and every row's string pass-through values are redacted too
      const redact = scanner.redactor(s.index);
      let rejected: Row[] = [];
      for (let fi = 0; fi < s.files.length; fi++) {
        const f = s.files[fi];
        const sc = s.scans[fi];
        scanner.chain.doc.file = f.path;
        await checkStamp(f.path, sc.stat);
        let fileRows = 0;
        for await (const batch of readShard(f)) {
          const base = s.fileBase[fi] + (batch.offset ?? 0);
          fileRows += batch.length;
          if (fileRows > sc.rows) throw rowsChanged(f.path, `more than the ${sc.rows} rows pass 1 read`);
          for (let r = 0; r < batch.length; r++) {
            const sr = base + r;
            const reason = s.reasons.get(sr);
            if (reason !== undefined) {
              if (rejectedWriter) {
                const raw = scanner.templates[s.index].render(batch, r);
                checkRow(f.path, sr - s.fileBase[fi], raw, sc.textHashes[sr - s.fileBase[fi]]);
                rejected.push(
                  makeRow(s, sr, idOf(s, sr), redact ? redact(raw) : raw, null, batch, r, passCols, reason, redact),
                );
                if (rejected.length >= WRITE_BATCH) {
                  await rejectedWriter.write(rowsToBatch(rejected));
                  rejectedRows += rejected.length;
                  rejected = [];
                }
              }
              continue;
            }
            if (ptr >= sel.n || sel.rows[idx[ptr]] !== sr) continue;
            const raw = scanner.templates[s.index].render(batch, r);
            checkRow(f.path, sr - s.fileBase[fi], raw, sc.textHashes[sr - s.fileBase[fi]]);
            const text = scanner.transforms ? scanner.judge(s.index, raw, batch, r).text : raw;
            const id = idOf(s, sr);
            while (ptr < sel.n && sel.rows[idx[ptr]] === sr) {
              const j = idx[ptr++];
              spill.add(sel.pos[j], makeRow(s, sr, id, text, sel.epochs[j], batch, r, passCols, null, redact));
            }
          }
          pass2Rows += batch.length;
          progress({ phase: 'sample', rows: pass2Rows, bytes: pass2Bytes, totalBytes });
        }
        if (fileRows !== sc.rows) throw rowsChanged(f.path, `${fileRows} rows where pass 1 read ${sc.rows}`);
        await checkStamp(f.path, sc.stat);
        pass2Bytes += f.size;
      }
      if (ptr !== sel.n) {
        throw new CurateError(
          `source "${s.name}" changed between passes: ${sel.n - ptr} selected rows were not found again (were its files modified during the run?)`,
          { code: 'E_INPUT_CHANGED' },
        );
      }
      if (rejectedWriter && rejected.length) {
        await rejectedWriter.write(rowsToBatch(rejected));
        rejectedRows += rejected.length;
      }
    }
    if (pool) {
      samplePool = null;
      await pool.close();
    }
    timings.sample_seconds = (now() - t3) / 1000;

    // Write in output order; metrics on the written rows.
    const t4 = now();
    const columns = outputColumns(sources, recipe);
    const writer = await createOutputWriter(recipe, {
      dir: out.tmpDir,
      maxRows: recipe.output.shard_rows,
      maxBytes: recipe.output.shard_size,
      columns,
      rowGroupRows: recipe.output.row_group_rows,
    });
    const tokensOfRow = new Map<string, Uint32Array>();
    for (const s of sources) tokensOfRow.set(s.name, s.availTokens);
    let written = 0;
    let shards: WrittenShard[] = [];
    let rejectedShards: WrittenShard[] = [];
    try {
      for (const rows of spill.drain()) {
        for (let i = 0; i < rows.length; i += WRITE_BATCH) {
          const part = rows.slice(i, i + WRITE_BATCH);
          if (options.metrics !== false && !metricsInPass2) {
            const tm = now();
            for (const row of part) {
              const text = row.text as string;
              metricsFor(bySource, row.source as string).add(text);
            }
            metricsSeconds += (now() - tm) / 1000;
          }
          await writer.write(toBatch(part, columns));
          written += part.length;
          progress({ phase: 'write', rows: written, bytes: 0 });
        }
      }
      shards = await writer.close();
      if (rejectedWriter) rejectedShards = await rejectedWriter.close();
    } catch (e) {
      await writer.abort().catch(() => {});
      await rejectedWriter?.abort().catch(() => {});
      throw e;
    }
    await rm(spillDir, { recursive: true, force: true });
    timings.write_seconds = (now() - t4) / 1000;

    stagePoint('finalize');
    // Metrics, warnings, manifest, report.
    const tm = now();
    const metricsSources: Record<string, MetricsResult> = {};
    for (const [k, m] of [...bySource].sort((a, b) => (a[0] < b[0] ? -1 : 1))) metricsSources[k] = m.result();
    const metricsKinds: Record<string, MetricsResult> = {};
    // Kinds are their sources merged (CorpusMetrics merges exactly): each row is scanned once.
    // A kind with one measured source has that source's result (the merge would be an exact copy).
    const kindSources = new Map<string, string[]>();
    for (const src of sources) {
      if (!bySource.has(src.name)) continue;
      const list = kindSources.get(src.kind) ?? [];
      list.push(src.name);
      kindSources.set(src.kind, list);
    }
    for (const [kind, names] of kindSources) {
      if (names.length === 1) continue;
      for (const name of names) metricsFor(byKind, kind).merge(bySource.get(name) as CorpusMetrics);
    }
    for (const k of [...kindSources.keys()].sort()) {
      const names = kindSources.get(k) as string[];
      metricsKinds[k] =
        names.length === 1 ? copyResult(metricsSources[names[0]]) : (byKind.get(k) as CorpusMetrics).result();
    }
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

    metricsSeconds += (now() - tm) / 1000;
    timings.metrics_seconds = metricsSeconds;
    const manifest = baseManifest();
    manifest.totals.rows_written = written;
    manifest.totals.tokens_written = achieved.totals.tokens;
    manifest.totals.rows_rejected_written = rejectedRows;
    // The unigram sketches (up to 64k buckets each) served the comparisons; the manifest keeps the numbers.
    const slim = (g: Record<string, MetricsResult>) =>
      Object.fromEntries(Object.entries(g).map(([k, { unigram: _u, ...rest }]) => [k, rest]));
    manifest.metrics = { sources: slim(metricsSources), kinds: slim(metricsKinds), comparisons };
    manifest.warnings = warnings;
    const rel = (w: WrittenShard): OutputShardRecord => ({
      path: relative(out.tmpDir, w.path),
      rows: w.rows,
      bytes: w.bytes,
      sha256: w.sha256,
    });
    manifest.output.shards = shards.map(rel);
    manifest.output.rejected = rejectedShards.map(rel);
    manifest.output.columns = columns;
    manifest.timings = {
      ...timings,
      total_seconds: (now() - t0) / 1000,
      peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20),
    };
    manifest.finished_at = new Date().toISOString();
    checkInvariant(manifest);
    await writeFile(join(out.tmpDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    if (recipe.report !== false && options.report !== false) await writeReportFile(out.tmpDir);
    await out.commit();
    return { plan, manifest, outDir, dryRun: false };
  } catch (e) {
    await out?.abort().catch(() => {});
    throw e;
  } finally {
    await (samplePool as SamplePool | null)?.close();
    await (work as WorkDir | null)?.release();
  }
}

/** One scan task per input file (sources in order, files sorted), with its signal sample rate. */
export function scanTasks(files: InputFile[][], measure = true): ScanTask[] {
  const tasks: ScanTask[] = [];
  files.forEach((fs, si) => {
    // The signal sample's rate is fixed per source before the scan, from its input bytes.
    const rate = measure ? signalRate(fs.reduce((a, f) => a + f.size, 0)) : 0;
    fs.forEach((f, fi) => {
      tasks.push({
        id: tasks.length,
        sourceIndex: si,
        fileIndex: fi,
        path: f.path,
        format: f.format,
        compression: f.compression,
        size: f.size,
        signalRate: rate,
      });
    });
  });
  return tasks;
}

/** Test seam: `CURATE_TEST_KILL_AT=STAGE` kills the process with SIGKILL as that stage starts. */
function stagePoint(stage: 'dedup' | 'write' | 'finalize'): void {
  if (process.env.CURATE_TEST_KILL_AT === stage) process.kill(process.pid, 'SIGKILL');
}

/** The default work dir: `.curate-work` beside the output directory (shared by sibling outputs). */
export function defaultWorkDir(outDir: string): string {
  return join(dirname(resolve(outDir)), '.curate-work');
}

/** rows_read == sum(dropped) + rows_available for every source, or the run fails. */
export function checkInvariant(m: Manifest): void {
  for (const s of m.sources) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    if (s.rows_read !== dropped + s.rows_available) {
      throw new CurateError(
        `internal: accounting broken for source "${s.name}": rows_read ${s.rows_read} != dropped ${dropped} + available ${s.rows_available}`,
        { code: 'E_ACCOUNTING' },
      );
    }
  }
}

async function writeReportFile(dir: string): Promise<void> {
  // loaded only when a report is written (~40 ms of imports a `report: false` run does not pay)
  const { writeReport } = await import('@curate/report');
  await writeReport(join(dir, 'manifest.json'), join(dir, 'report.html'));
}

/**
 * Open the output directory under a temporary name (see `prepareOutputDir`): it must not be
 * or contain the recipe, an input file or an eval set, and is replaced only when curate wrote it.
 */
async function openOutput(
  dir: string,
  recipe: Recipe,
  inputs: InputFile[][],
  options: RunOptions,
  workDir: string | null,
) {
  const protect: ProtectedPath[] = inputs.flat().map((f) => ({ path: f.path, role: 'input file' }));
  if (workDir) protect.push({ path: workDir, role: 'work dir' });
  for (const d of recipe.dedup.decontaminate ?? []) {
    for (const f of await expandInputs(d.paths)) protect.push({ path: f.path, role: 'eval set' });
  }
  if (options.recipeFile) protect.push({ path: options.recipeFile, role: 'recipe' });
  return prepareOutputDir(dir, { overwrite: Boolean(options.overwrite), protect, command: 'mix' });
}

/** A deep copy of a metrics result (the same values; nothing shared). */
function copyResult(r: MetricsResult): MetricsResult {
  return {
    ...r,
    length: structuredClone(r.length),
    distinct: { ...r.distinct },
    curve: structuredClone(r.curve),
    unigram: r.unigram.clone(),
    options: { ...r.options },
  };
}

function toBatch(rows: Row[], columns: ColumnSpec[]): Batch {
  const cols = dict<unknown[]>();
  for (const c of columns) cols[c.name] = rows.map((r) => (Object.hasOwn(r, c.name) ? (r[c.name] ?? null) : null));
  return { length: rows.length, columns: cols };
}

const PROVENANCE: ColumnSpec[] = [
  { name: 'id', type: 'string' },
  { name: 'text', type: 'string' },
  { name: 'source', type: 'string' },
  { name: 'kind', type: 'string' },
  { name: 'source_row', type: 'int64' },
  { name: 'epoch', type: 'int64' },
  { name: 'generator', type: 'string' },
];

function passSpecs(sources: SourceState[], recipe: Recipe): ColumnSpec[] {
  const names: string[] = [];
  for (const s of sources)
    for (const c of passThroughColumns(recipe, s.index)) if (!names.includes(c.output)) names.push(c.output);
  const reserved = new Set([...PROVENANCE.map((c) => c.name), 'reason']);
  return names
    .filter((n) => !reserved.has(n))
    .map((name) => {
      const types = new Set<ColumnType>();
      for (const s of sources) for (const c of s.columns) if (c.name === name) types.add(c.type);
      return { name, type: types.size === 1 ? [...types][0] : types.size === 0 ? 'string' : 'json' };
    });
}

function outputColumns(sources: SourceState[], recipe: Recipe): ColumnSpec[] {
  return [...PROVENANCE, ...passSpecs(sources, recipe)];
}

function rejectedColumns(sources: SourceState[]): ColumnSpec[] {
  const cols = PROVENANCE.filter((c) => c.name !== 'epoch');
  const names = new Set<string>();
  const extra: ColumnSpec[] = [];
  for (const s of sources) {
    for (const c of s.columns) {
      if (names.has(c.name) || cols.some((p) => p.name === c.name) || c.name === 'reason') continue;
      names.add(c.name);
      extra.push(c);
    }
  }
  return [...cols, { name: 'reason', type: 'string' }, ...extra];
}

function mergeColumns(lists: ColumnSpec[][]): ColumnSpec[] {
  const out: ColumnSpec[] = [];
  for (const l of lists) {
    for (const c of l) {
      const cur = out.find((x) => x.name === c.name);
      if (!cur) out.push({ ...c });
      else if (cur.type !== c.type) cur.type = numericMerge(cur.type, c.type);
    }
  }
  return out;
}

function numericMerge(a: ColumnType, b: ColumnType): ColumnType {
  if ((a === 'int64' && b === 'double') || (a === 'double' && b === 'int64')) return 'double';
  return 'json';
}

function fileOf(s: { fileBase: number[] }, sourceRow: number): number {
  let lo = 0;
  let hi = s.fileBase.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s.fileBase[mid] <= sourceRow) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function sortIndex(rows: Uint32Array, epochs: Uint16Array, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => rows[a] - rows[b] || epochs[a] - epochs[b]);
  return idx;
}

function sum(a: Uint32Array): number {
  let t = 0;
  for (let i = 0; i < a.length; i++) t += a[i];
  return t;
}
