/**
 * runRecipe: read -> quality -> decontaminate -> exact/near dedup -> plan ->
 * sample -> shuffle -> write, in two passes so text is never held in memory.
 *
 * Pass 1 (worker threads, one file per task) keeps per row only its drop
 * reason, token count, text length, exact key and MinHash signature. Dedup
 * decisions, the plan, the sample and the global order are then computed from
 * those arrays. Pass 2 re-reads each source in order, scatters selected rows
 * into shuffle buckets on disk (the write stage's scatter units) and rejected
 * rows into `rejected/`, then writes the buckets in output order.
 *
 * Decontamination runs before dedup (the design lists them the other way):
 * a contaminated document must never be the one a dedup cluster keeps, or its
 * clean near-copies would be dropped as duplicates of a row that is dropped too.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CurateError, type Kind, type ProgressListener, Stats } from '@curate/core';
import type { MixPlan } from '@curate/mix';
import { canonicalJson, type Recipe, recipeHash } from '@curate/recipe';
import {
  expandInputs,
  type InputFile,
  isRemote,
  mergeColumnSpecs,
  type ProtectedPath,
  prepareOutputDir,
  transferCountsOf,
} from '@curate/shards';
import { checkRowDepths, generationColumn, sourceLineage } from './lineage.js';
import type { InputFileRecord, Manifest, SourceRecord } from './manifest.js';
import { MANIFEST_VERSION } from './manifest.js';
import type { SamplePool } from './pool.js';
import { RowReasons } from './reasons.js';
import { passThroughColumns, type ScanTask } from './scan.js';
import { qualitySignalsRecord, SignalHistograms, signalRate } from './signals.js';
import { type DedupSource, dedupStage, type RankedDedup } from './stages/dedup.js';
import { finalizeStage } from './stages/finalize.js';
import { planStage } from './stages/plan.js';
import { scanStage } from './stages/scan.js';
import { stagePoint } from './stages/seams.js';
import type { SourceState } from './stages/sources.js';
import { UnitStore } from './stages/units.js';
import { WorkMirror } from './stages/work-mirror.js';
import { configKey, WorkDir } from './stages/workdir.js';
import { type WritePart, type WriteResult, writeStage } from './stages/write.js';

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
  /**
   * One rank of a later stage of a staged run (`runStage`, staged.ts): what it reads must be stored
   * by the stages before it, and it does only its share. Set by `runStage`, not by callers.
   */
  rankStage?: RankHooks;
}

/** How `runStage` drives `runRecipe` for the plan, scatter, write and finalize ranks. */
export interface RankHooks {
  stage: 'plan' | 'scatter' | 'write' | 'finalize';
  /** A predecessor's output is missing: throws the stage's one-line failure. */
  fail: (what: string) => never;
  /** Before dedup: checks the stages before (plan's dedup ranks, the others' plan marker). */
  before: (work: WorkDir) => Promise<RankedDedup>;
  /** The write stage's share (scatter, write, link). */
  part?: WritePart;
  /** Receives the write stage's units (scatter and write ranks), and whether every write unit is done (write). */
  units?: (u: WriteResult['units'], complete: boolean) => void;
}

export interface RunResult {
  plan: MixPlan;
  manifest: Manifest;
  /** The output directory, when something was written. */
  outDir?: string;
  dryRun: boolean;
}

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
  const outArg = options.out ?? recipe.output.dir;
  const outDir = isRemote(outArg) ? outArg.replace(/\/+$/, '') : resolve(outArg);

  // Inputs (fail before any work when a path matches nothing).
  const files: InputFile[][] = [];
  for (const s of recipe.sources) files.push(await expandInputs(s.paths));
  // Pass-through columns under provenance names are refused before any work (a recipe not validated).
  for (let i = 0; i < recipe.sources.length; i++) passThroughColumns(recipe, i);
  const measure = options.qualitySignals !== false;
  const tasks = scanTasks(files, measure);
  const totalBytes = tasks.reduce((a, t) => a + t.size, 0);

  // The work dir (attributes reused across runs), locked for this run; none for a dry run.
  // An s3:// work dir is a local cache mirrored to the prefix (stages/work-mirror.ts).
  const remoteWork = typeof options.work === 'string' && isRemote(options.work) ? options.work : null;
  const workPath =
    options.dryRun || options.work === false
      ? null
      : remoteWork
        ? WorkMirror.cacheDirOf(remoteWork)
        : resolve(options.work ?? defaultWorkDir(outDir));
  // The output directory is checked before any work, and written under a temporary name.
  const rank = options.rankStage;
  const out =
    options.dryRun || (rank && rank.stage !== 'finalize')
      ? null
      : await openOutput(outDir, recipe, files, options, workPath && (remoteWork ?? workPath));
  let work: WorkDir | null = null;
  let mirror: WorkMirror | null = null;
  // The pass-1 threads, kept for pass 2 (a staged run's ranks do theirs on their own thread).
  let samplePool: SamplePool | null = null;
  try {
    if (workPath && remoteWork) mirror = await WorkMirror.open(remoteWork);
    // the ranks of a staged run share the work dir (each writes only its own units)
    if (workPath) work = await WorkDir.open(workPath, TOOL_VERSION, { shared: Boolean(rank) });
    // a later stage's rank: the stage before it must be done (its markers), checked first
    const ranked = rank && work ? await rank.before(work) : undefined;
    // Pass 1 (a later stage's rank: the attributes the scan ranks stored, without the signatures).
    const { scans, record: scanRecord } = await scanStage(recipe, tasks, {
      workers,
      work,
      tool: TOOL_VERSION,
      signal: options.signal,
      onProgress: progress,
      ...(rank
        ? {
            omit: ['minhash'],
            require: (t: ScanTask, missing: string[]) =>
              rank.fail(`the scan stage left no attributes (${missing.join(', ')}) for ${t.path}: run its rank first`),
          }
        : {}),
      keep:
        rank || options.dryRun
          ? undefined
          : (p) => {
              samplePool = p;
            },
    });
    await mirror?.push();
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
        generation: generationColumn(recipe, si),
        ...(s.generation_column ? { generationColumn: s.generation_column } : {}),
        ...(s.generator_column ? { generatorColumn: s.generator_column } : {}),
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
    // rows deeper than guards.max_generation_depth (sources with a generation column) are refused
    checkRowDepths(recipe, sources);
    const idOf = (s: DedupSource, sourceRow: number): string => {
      const f = fileOf(s, sourceRow);
      const v = s.scans[f].ids?.[sourceRow - s.fileBase[f]];
      return v ? v : `${s.name}:${sourceRow}`;
    };

    // Dedup decisions (global across sources unless scope: per_source).
    stagePoint('dedup');
    const t1 = now();
    const { record: dedupRecord, reused: dedupReused } = await dedupStage(recipe, sources, scans, idOf, work, ranked);
    await mirror?.push();
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
          generation: s.generation,
          ...(s.generationColumn || s.generatorColumn ? { lineage: sourceLineage(s, sel) } : {}),
          files: s.files.map((f, fi) => ({
            path: f.path,
            format: f.compression ? `${f.format}+${f.compression}` : f.format,
            bytes: f.size,
            sha256: s.scans[fi].sha256,
            rows: s.scans[fi].rows,
            ...fetchedRecord(f.path),
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
      ...(work ? { work: { dir: mirror?.url ?? work.dir, scan: scanRecord, dedup: { reused: dedupReused } } } : {}),
      timings: { ...timings, total_seconds: (now() - t0) / 1000 },
      counters: stats.toJSON(),
    });

    if (options.dryRun || rank?.stage === 'plan') {
      return { plan, manifest: baseManifest(), dryRun: true };
    }

    stagePoint('write');
    // The write stage's units: under the work dir, keyed by the recipe (but where its output goes)
    // and the inputs' checksums, so a rerun of the same command skips the units a killed run finished.
    const writeKey = configKey({
      tool: TOOL_VERSION,
      // the layout of a scatter unit's records (2: texts as UTF-8 after the row, sample.ts
      // `pushTextRecord`): units of another layout, left by a killed run of an older build, are not read
      records: 2,
      recipe: JSON.parse(canonicalJson({ ...recipe, output: { ...recipe.output, dir: '' } })),
      inputs: sources.map((s) => s.scans.map((f) => f.sha256)),
    });
    const store = work
      ? await UnitStore.open(work.path('write', writeKey), true)
      : await UnitStore.open(join((out as { tmpDir: string }).tmpDir, '.write'), false);
    const writeResult = await writeStage({
      recipe,
      sources,
      selections,
      order: orderOf,
      out: out ?? { tmpDir: '' },
      store,
      samplePool,
      workers,
      options,
      progress,
      totalBytes,
      idOf,
      timings,
      part: rank?.part,
    });
    samplePool = null; // closed by the write stage
    if (!out) {
      rank?.units?.(writeResult.units, writeResult.complete === true);
      return { plan, manifest: baseManifest(), dryRun: false };
    }

    stagePoint('finalize');
    const manifest = await finalizeStage({
      recipe,
      sources,
      manifest: withWriteUnits(baseManifest(), writeResult.units),
      write: writeResult,
      tokensWritten: achieved.totals.tokens,
      warnings,
      tmpDir: out.tmpDir,
      report: recipe.report !== false && options.report !== false,
      timings,
      started: t0,
    });
    await out.commit();
    // committed: the units' files are the output's now (hard links) or copies of it
    if (store.persistent) {
      await store.remove().catch(() => {});
      await mirror?.push(); // and from an s3:// work dir (a failed run may have mirrored them)
    }
    return { plan, manifest, outDir, dryRun: false };
  } catch (e) {
    await out?.abort().catch(() => {});
    // units a failed run completed are verified by their markers: keep them for the rerun
    await (mirror as WorkMirror | null)?.push().catch(() => {});
    throw e;
  } finally {
    await (samplePool as SamplePool | null)?.close();
    await (work as WorkDir | null)?.release();
    await (mirror as WorkMirror | null)?.release();
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

/** The write stage's units reused and computed, in the manifest's work record (when there is a work dir). */
function withWriteUnits(m: Manifest, units: WriteResult['units']): Manifest {
  if (m.work) {
    m.work.write = { reused: units.reused, computed: units.computed };
    if (units.text.from_spans + units.text.rederived > 0) m.work.write.text = units.text;
  }
  return m;
}

/** Bytes fetched, requests and retries of an s3:// input (all passes, all threads); nothing for a local file. */
function fetchedRecord(path: string): Pick<InputFileRecord, 'fetched'> {
  const c = isRemote(path) ? transferCountsOf(path) : undefined;
  return c ? { fetched: { bytes: c.bytesFetched, requests: c.requests, retries: c.retries } } : {};
}

/** The default work dir: `.curate-work` beside the output directory (shared by sibling outputs). */
export function defaultWorkDir(outDir: string): string {
  // an s3:// output: the work dir stays local, in the working directory
  if (isRemote(outDir)) return resolve('.curate-work');
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

/** One spec per column over a source's files: int64 with double is double, nested shapes merge, else JSON. */
const mergeColumns = mergeColumnSpecs;

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

function sum(a: Uint32Array): number {
  let t = 0;
  for (let i = 0; i < a.length; i++) t += a[i];
  return t;
}
