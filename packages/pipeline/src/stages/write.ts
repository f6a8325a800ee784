/**
 * The write stage, in units with completion markers (see units.ts), so a killed run resumes where it
 * stopped:
 *
 * 1. scatter: one unit per input file (or row range of a big JSONL file, on the scan threads): re-read
 *    it, prove each row is the one the scan judged (size, mtime, row count, text hash), and store its
 *    selected rows (sample.ts `pushTextRecord`, grouped by shuffle bucket) and rejected rows in
 *    one file;
 * 2. rejected: the rejected rows of every scatter unit, in source and file order, into `rejected/`;
 * 3. write: one unit per range of output positions (a few GB of text, fixed by the plan; with
 *    `shard_rows` alone a multiple of it): its buckets' rows from every scatter unit, sorted by
 *    position, into shards (and the written rows' diversity metrics, when the scan threads did not
 *    measure them);
 * 4. the units' shards are linked into the output under their global names.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { copyFile, link, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { type Batch, CurateError, dict, type ProgressListener, type Row, rowsToBatch } from '@curate/core';
import { CorpusMetrics, type CorpusMetricsState, RoleMetrics, type RoleMetricsState } from '@curate/metrics';
import type { SampleSelection, shuffleOrder } from '@curate/mix';
import type { Recipe } from '@curate/recipe';
import {
  type ColumnSpec,
  type ColumnType,
  createShardWriter,
  isConversation,
  mergeColumnSpecs,
  utf8Text,
  type WrittenShard,
  warmCompressor,
} from '@curate/shards';
import { type DiversityResults, type DiversityTask, mergeSourceStates, stateBuffers } from '../diversity.js';
import { withGenerationColumn } from '../lineage.js';
import { createOutputWriter, rowShardFormat, tokenizedOutput } from '../output-writer.js';
import type { SamplePool } from '../pool.js';
import type { RunOptions } from '../run.js';
import { type SampleResult, type SampleTask, sampleFile } from '../sample.js';
import { type FileScan, passThroughColumns, Scanner } from '../scan.js';
import { writeFileChecked, writePartsChecked } from '../spill.js';
import { UnitClaims } from './claims.js';
import { killPoint, pausePoint } from './seams.js';
import type { SourceState } from './sources.js';
import type { UnitStore } from './units.js';

/** Text (estimated bytes) per shuffle bucket: the write stage holds one bucket's rows at a time. */
const BUCKET_BYTES = 64 << 20;
/** Text (estimated bytes) per write unit: shards rotate inside a unit; each unit ends its last shard. */
export const WRITE_UNIT_BYTES = 8 * 1024 ** 3;
const WRITE_BATCH = 4096;

export interface WriteContext {
  recipe: Recipe;
  sources: SourceState[];
  selections: SampleSelection[];
  /** The plan's seeded global order (computed here: a dry run never needs it). */
  order: () => ReturnType<typeof shuffleOrder>;
  /** The output's temporary directory. */
  out: { tmpDir: string };
  /** Where the units and their markers are kept (a work dir's `write/<key>`, or inside the output). */
  store: UnitStore;
  /** The scan threads, when they may do pass 2 (closed here). */
  samplePool: SamplePool | null;
  workers: number;
  options: RunOptions;
  progress: ProgressListener;
  totalBytes: number;
  idOf: (s: SourceState, sourceRow: number) => string;
  /** Receives sample_seconds and write_seconds. */
  timings: Record<string, number>;
  /** A rank's share of the stage (stages/ranks.ts); absent: every unit, in this process. */
  part?: WritePart;
}

/**
 * A rank's share of the write stage: `scatter` computes the scatter units `scatter` assigns it and
 * stops; `write` computes its write units (and the rejected rows' unit when `rejected`) from every
 * scatter unit; `link` computes nothing and links every unit's shards into the output. A unit the
 * step needs from an earlier one and does not find calls `missing` (which throws).
 */
export interface WritePart {
  step: 'scatter' | 'write' | 'link';
  rank?: number;
  scatter?: (sourceIndex: number, fileIndex: number) => boolean;
  write?: (unit: number, count: number) => boolean;
  rejected?: boolean;
  missing: (step: 'scatter' | 'rejected' | 'write', unit: string) => never;
  /**
   * The write step takes units (stages/claims.ts): the scatter units no rank stored (its own, then
   * those of ranks not running; it waits for those a live rank computes), the rejected rows' unit
   * (rank 0's) and the write units (its own, then those of ranks not running). Without it, the step
   * computes its own write units from stored scatter units.
   */
  take?: {
    worldSize: number;
    /** Where the ranks' started files are (`UnitClaims.register`). */
    startedDir: string;
    scatterOwner: (sourceIndex: number, fileIndex: number) => number;
    writeOwner: (unit: number, count: number) => number;
    /** The finalize stage is done (the output committed, the units removed): nothing is left. */
    finalized: () => Promise<boolean>;
  };
}

type WriteTake = NonNullable<WritePart['take']> & { claims: UnitClaims };

/** A scatter unit of the one-thread pass 2: the selected entries idx[from, to) of file `fi` of source `s`. */
interface ScatterJob {
  s: SourceState;
  fi: number;
  idx: Uint32Array;
  from: number;
  to: number;
  rejected: Uint32Array;
  name: string;
}

export interface WriteResult {
  shards: WrittenShard[];
  rejectedShards: WrittenShard[];
  written: number;
  rejectedRows: number;
  columns: ColumnSpec[];
  /** Diversity metrics of the written rows per source (unless `options.metrics === false`). */
  bySource: Map<string, CorpusMetrics>;
  /** The diversity results, computed on a pass-2 thread (then `bySource` is empty), when they were. */
  diversity?: Promise<DiversityResults>;
  /** The same per role of the conversation sources' turns (role-metrics.ts). */
  byRole: Map<string, RoleMetrics>;
  metricsSeconds: number;
  /** A write step that takes units: every write unit (and the rejected rows' unit) was done when it ended. */
  complete?: boolean;
  /** Units reused from a killed run's markers and units computed, per step (scatter, rejected, write). */
  units: {
    reused: Record<string, number>;
    computed: Record<string, number>;
    /** Selected rows whose cleaned text came from the stored spans, and rows whose rewriting steps ran again. */
    text: { from_spans: number; rederived: number };
  };
}

/** The output positions' split into write units and, inside them, shuffle buckets. */
export interface WriteLayout {
  /** Start of each unit, then the total. */
  units: number[];
  /** Start of each bucket (every unit start is one), then the total. */
  buckets: number[];
}

export function writeLayout(total: number, estBytes: number, recipe: Recipe): WriteLayout {
  const avg = total > 0 ? Math.max(1, estBytes / total) : 1;
  const test = Number(process.env.CURATE_TEST_WRITE_UNIT_ROWS) || 0;
  let unitRows = test || Math.max(1, Math.ceil(WRITE_UNIT_BYTES / avg));
  const byRows = recipe.output.shard_rows;
  if (!test && byRows && !recipe.output.shard_size) unitRows = Math.max(1, Math.round(unitRows / byRows)) * byRows;
  const bucketRows = Math.max(1, Math.ceil(BUCKET_BYTES / avg));
  const units: number[] = [];
  const buckets: number[] = [];
  for (let u = 0; u < total || u === 0; u += unitRows) {
    units.push(u);
    const end = Math.min(total, u + unitRows);
    for (let b = u; b < end || b === u; b += bucketRows) buckets.push(b);
  }
  units.push(total);
  buckets.push(total);
  return { units, buckets };
}

function bucketOf(layout: WriteLayout, position: number): number {
  const b = layout.buckets;
  let lo = 0;
  let hi = b.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (b[mid] <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** What a scatter unit's marker holds: where its sections are in its file. */
interface ScatterData {
  sourceIndex: number;
  found: number;
  rowsRead: number;
  /** Rows whose cleaned text came from the stored spans, and rows whose rewriting steps ran again. */
  text?: [number, number];
  /** [bucket, offset, length, records] of the selected rows, by bucket. */
  buckets: [number, number, number, number][];
  /** [offset, length, rows] of the rejected rows (sample.ts `pushTextRecord`, length-prefixed). */
  rejected: [number, number, number];
  /** [offset, length] of the written rows' metrics states (`v8.serialize(UnitMetrics)`), when measured here. */
  metrics: [number, number] | null;
  metricsSeconds: number;
}

/** Metrics states a scatter unit measured: the texts' (on the pass-2 threads) and the conversations' turns per role. */
interface UnitMetrics {
  corpus: CorpusMetricsState | null;
  roles: RoleMetricsState | null;
}

interface ScatterUnit {
  file: string;
  data: ScatterData;
}

interface WriteUnitData {
  shards: { name: string; rows: number; bytes: number; sha256: string }[];
  written: number;
  /** The unit's metrics states file, when measured here. */
  metrics: string | null;
  metricsSeconds: number;
}

function now(): number {
  return performance.now();
}

const pad = (n: number) => String(n).padStart(5, '0');

/**
 * A scatter unit's file from a pass-2 result (`sampleFile`): its selected records, which come in
 * output position order and so one run of its buffer per bucket, then its rejected rows, then its
 * metrics. The buffers are written as they are (never joined).
 */
function scatterFile(
  layout: WriteLayout,
  r: SampleResult,
  metrics: UnitMetrics | null,
): {
  parts: Uint8Array[];
  buckets: ScatterData['buckets'];
  rejected: ScatterData['rejected'];
  metrics: ScatterData['metrics'];
} {
  const buckets: ScatterData['buckets'] = [];
  for (let j = 0; j < r.found; ) {
    const b = bucketOf(layout, r.positions[j]);
    if (buckets.length && b <= buckets[buckets.length - 1][0])
      throw new Error('internal: pass 2 records out of position order');
    let k = j + 1;
    while (k < r.found && bucketOf(layout, r.positions[k]) === b) k++;
    buckets.push([b, r.offsets[j], r.offsets[k] - r.offsets[j], k - j]);
    j = k;
  }
  let off = r.offsets[r.found];
  const parts: Uint8Array[] = [r.data.subarray(0, off), r.rejectedData];
  const rej: ScatterData['rejected'] = [off, r.rejectedData.length, r.rejectedCount];
  off += r.rejectedData.length;
  let m: ScatterData['metrics'] = null;
  if (metrics) {
    const buf = serialize(metrics);
    parts.push(buf);
    m = [off, buf.length];
  }
  return { parts, buckets, rejected: rej, metrics: m };
}

/** The dropped rows `rows` (source rows of the file starting at `fileBase`) for a pass-2 thread. */
function rejectedOf(
  s: SourceState,
  sc: FileScan,
  fileBase: number,
  rows: Uint32Array,
  idOf: (s: SourceState, sourceRow: number) => string,
): NonNullable<SampleTask['rejected']> {
  return {
    rows,
    reasons: Array.from(rows, (sr) => s.reasons.get(sr) as string),
    ids: Array.from(rows, (sr) => idOf(s, sr)),
    hashes: Uint32Array.from(rows, (sr) => sc.textHashes[sr - fileBase]),
  };
}

function readAt(path: string, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n <= 0) throw new CurateError(`internal: ${path} ended at byte ${offset + got}`, { code: 'E_UNIT_CORRUPT' });
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/**
 * A row's record (sample.ts `pushTextRecord`): [position (-1 for a dropped row), row]; its text a
 * view of the record's bytes (`textBytes`, for the Parquet writer) or a string.
 */
function textRecord(rec: Buffer, textBytes: boolean): [number, Row] {
  const m = rec.readUInt32LE(0);
  const [pos, row, chars] = deserialize(rec.subarray(4, 4 + m)) as [number, Row, number];
  if (chars >= 0) row.text = textBytes ? utf8Text(rec, 4 + m, rec.length, chars) : rec.toString('utf8', 4 + m);
  return [pos, row];
}

/** Length-prefixed records of a buffer. */
function* records(buf: Buffer, file: string): Generator<Buffer> {
  let off = 0;
  while (off < buf.length) {
    const len = off + 4 <= buf.length ? buf.readUInt32LE(off) : -1;
    if (len < 0 || off + 4 + len > buf.length) {
      throw new CurateError(`internal: unit file truncated at byte ${off} of ${buf.length}`, {
        code: 'E_UNIT_CORRUPT',
        file,
      });
    }
    yield buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
  }
}

export async function writeStage(ctx: WriteContext): Promise<WriteResult> {
  const { recipe, sources, selections, out, store, samplePool, workers, options, progress, totalBytes, idOf, timings } =
    ctx;
  // Global order -> per source (row, epoch, position), sorted by source row for pass 2.
  const t3 = now();
  const order = ctx.order();
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
  const layout = writeLayout(total, estBytes, recipe);
  const spec = ctx.part?.step === 'write' && store.persistent ? ctx.part.take : undefined;
  if (spec && (await spec.finalized())) return finalizedResult();
  await mkdir(store.path('scatter'), { recursive: true });
  const take: WriteTake | undefined = spec && {
    ...spec,
    claims: await UnitClaims.start(store.path('claims'), spec.startedDir, ctx.part?.rank ?? 0, spec.worldSize),
  };
  // Finalize ran while this rank started (it came late: the others did its units): it removed the
  // units, so what this rank made since is removed too.
  async function finalizedResult(): Promise<WriteResult> {
    await store.remove().catch(() => {});
    return { ...partResult(store), complete: true };
  }
  // Should this rank compute a unit now (take mode)? Its own when not stored, another rank's when
  // that rank is not running and the unit is neither stored nor claimed by a live process.
  const takeUnit = async (t: WriteTake, step: string, unit: string, owner: number): Promise<boolean> => {
    if (owner === t.claims.rank) {
      if (await store.load(step, unit)) return false;
    } else if ((await store.has(step, unit)) || (await t.claims.running(owner))) return false;
    return t.claims.claim(`${step}-${unit}`);
  };

  const writeRejected = Boolean(recipe.output.write_rejected);
  let pass2Bytes = 0;
  let pass2Rows = 0;
  const pool = samplePool;
  // The pass-1 threads do pass 2 (and build the rejected rows' records, when they are written).
  const threaded = pool !== null;
  let metricsSeconds = 0;
  // On the pass-2 threads, each file's texts are measured where they are read; the accumulators
  // merge exactly (order does not matter), so the write units do not measure again.
  const metricsInPass2 = threaded && options.metrics !== false;
  // Scatter units in source and file order (the rejected rows are written in that order).
  const scatter: { key: string; unit: ScatterUnit | null }[] = [];
  const unitFile = (name: string) => store.path('scatter', `${name}.bin`);
  const found = new Array(sources.length).fill(0);
  let scatterComputed = 0;
  const reuseScatter = async (name: string): Promise<ScatterUnit | null> => {
    const m = await store.load<ScatterData>('scatter', name);
    return m ? { file: unitFile(name), data: m.data } : null;
  };

  // A pass-2 task (sample.ts): the selected entries idx[from, to) of file `fi` of source `s` (by
  // row, then epoch) and, when they are written, its dropped rows `rejected`.
  const fileTask = (
    s: SourceState,
    fi: number,
    idx: Uint32Array,
    from: number,
    to: number,
    rejected: Uint32Array,
    parts: number,
    seeds: { metrics: number | null; roles?: number },
  ): SampleTask => {
    const sel = perSourceSel[s.index];
    const f = s.files[fi];
    const sc = s.scans[fi];
    const base = s.fileBase[fi];
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
      hashes[j] = sc.textHashes[sel.rows[e] - base];
      chars += sc.chars[sel.rows[e] - base];
    }
    for (const sr of rejected) chars += sc.chars[sr - base];
    return {
      kind: 'sample',
      id: 0,
      sourceIndex: s.index,
      source: {
        name: s.name,
        kind: s.kind,
        generator: s.generator,
        generation: s.generation,
        generationColumn: s.generationColumn,
        generatorColumn: s.generatorColumn,
      },
      path: f.path,
      format: f.format,
      compression: f.compression,
      size: f.size,
      // characters to re-derive and write, plus the bytes to scan (an estimate, for ordering)
      cost: chars + f.size / 16,
      bytes: f.size / parts,
      fileBase: base,
      keys: sc.keys,
      rows,
      epochs,
      pos,
      ids,
      hashes,
      stamp: sc.stat,
      passCols: passThroughColumns(recipe, s.index),
      metricsSeed: seeds.metrics,
      ...(seeds.roles !== undefined ? { roleMetricsSeed: seeds.roles } : {}),
      ...(sc.spansFile ? { spansFile: sc.spansFile } : {}),
      ...(rejected.length ? { rejected: rejectedOf(s, sc, base, rejected, idOf) } : {}),
    };
  };
  // A task's result as the unit's scatter file: records in position order, rejected rows in file order.
  const commitResult = (name: string, t: SampleTask, r: SampleResult): ScatterUnit => {
    found[t.sourceIndex] += r.found;
    pass2Rows += r.rowsRead;
    pass2Bytes += t.bytes;
    progress({ phase: 'sample', rows: pass2Rows, bytes: pass2Bytes, totalBytes });
    const metrics = r.metrics || r.roleMetrics ? { corpus: r.metrics, roles: r.roleMetrics } : null;
    const file = scatterFile(layout, r, metrics);
    const path = unitFile(name);
    const data: ScatterData = {
      sourceIndex: t.sourceIndex,
      found: r.found,
      rowsRead: r.rowsRead,
      text: [r.fromSpans, r.rederived],
      buckets: file.buckets,
      rejected: file.rejected,
      metrics: file.metrics,
      metricsSeconds: r.metricsSeconds,
    };
    store.commitFileSync('scatter', name, path, writePartsChecked(path, file.parts), data);
    killPoint('scatter', ++scatterComputed);
    pausePoint('scatter', scatterComputed, ctx.part?.rank);
    return { file: path, data };
  };

  // Take mode's scatter units (in `jobs` order): its own, then the others' of ranks not running;
  // then, since every write unit reads every scatter unit, it waits for those a live rank computes
  // (and takes any whose holder died). null: finalize ran meanwhile.
  const takeScatter = async (
    jobs: ScatterJob[],
    t: WriteTake,
    compute: (j: ScatterJob) => Promise<ScatterUnit>,
  ): Promise<ScatterUnit[] | null> => {
    const slots: (ScatterUnit | null)[] = jobs.map(() => null);
    const me = t.claims.rank;
    const owner = (j: ScatterJob) => t.scatterOwner(j.s.index, j.fi);
    const keys = jobs.map((_, i) => i);
    const order = [
      ...keys.filter((i) => owner(jobs[i]) === me),
      ...keys.filter((i) => owner(jobs[i]) !== me).reverse(),
    ];
    let later: number[] = [];
    for (const i of order) {
      const j = jobs[i];
      if (await t.finalized()) return null;
      if (owner(j) === me) {
        const r = await reuseScatter(j.name);
        if (r) {
          slots[i] = r;
          found[j.s.index] += r.data.found;
          continue;
        }
      } else if ((await store.has('scatter', j.name)) || (await t.claims.running(owner(j)))) {
        later.push(i);
        continue;
      }
      if (await t.claims.claim(`scatter-${j.name}`)) slots[i] = await compute(j);
      else later.push(i);
    }
    while (later.length) {
      if (await t.finalized()) return null;
      const still: number[] = [];
      for (const i of later) {
        const j = jobs[i];
        if (await store.has('scatter', j.name)) {
          const m = await store.load<ScatterData>('scatter', j.name, { count: false });
          if (m) {
            slots[i] = { file: unitFile(j.name), data: m.data };
            found[j.s.index] += m.data.found;
          } else slots[i] = await compute(j); // a marker whose file does not verify: redone (written atomically)
          continue;
        }
        const key = `scatter-${j.name}`;
        const h = await t.claims.holder(key);
        const free = h ? !t.claims.alive(h) : owner(j) === me || !(await t.claims.running(owner(j)));
        if (free && (await t.claims.claim(key))) slots[i] = await compute(j);
        else still.push(i);
      }
      later = still;
      if (later.length) await new Promise((r) => setTimeout(r, 100));
    }
    return slots as ScatterUnit[];
  };

  if (threaded) {
    // On the pass-1 threads, one task per file with selected (or, written, rejected) rows, or per
    // row range of a big JSONL file; records arrive ready to file.
    const stasks: SampleTask[] = [];
    const names = new Map<number, string>();
    for (const s of sources) {
      const sel = perSourceSel[s.index];
      const idx = sortIndex(sel.rows, sel.epochs, sel.n);
      // the source's dropped rows in row order, when they are written
      const rejRows = writeRejected ? s.reasons.dropped() : new Uint32Array(0);
      let k = 0;
      let q = 0;
      for (let fi = 0; fi < s.files.length && (k < sel.n || q < rejRows.length); fi++) {
        const end = fi + 1 < s.files.length ? s.fileBase[fi + 1] : Number.POSITIVE_INFINITY;
        const start = k;
        while (k < sel.n && sel.rows[idx[k]] < end) k++;
        const q0 = q;
        while (q < rejRows.length && rejRows[q] < end) q++;
        if (k === start && q === q0) continue;
        const f = s.files[fi];
        let rq = q0; // next rejected row: each range takes those before the next range's first row
        // A JSONL file with many selected rows is shared out in row ranges (each task scans the
        // file's bytes and parses only its own lines), so no thread finishes pass 2 alone.
        const m = k - start;
        const raw = f.format === 'jsonl' && !f.compression;
        const chunks = raw ? Math.max(1, Math.min(workers, Math.floor(m / 128))) : 1;
        let from = start;
        for (let c = 1; c <= chunks; c++) {
          let to = c === chunks ? k : start + Math.round((m * c) / chunks);
          while (to < k && to > from && sel.rows[idx[to]] === sel.rows[idx[to - 1]]) to++; // whole rows
          const rowEnd = to < k ? sel.rows[idx[to]] : end;
          const rq0 = rq;
          while (rq < q && rejRows[rq] < rowEnd) rq++;
          if (to <= from && rq === rq0) continue;
          const name = `t${metricsInPass2 ? 'm' : ''}${writeRejected ? 'r' : ''}-s${s.index}-f${fi}-${from}-${to}`;
          const slot = { key: name, unit: await reuseScatter(name) };
          scatter.push(slot);
          if (slot.unit) {
            found[s.index] += slot.unit.data.found;
            from = to;
            continue;
          }
          names.set(stasks.length, name);
          const task = fileTask(s, fi, idx, from, to, rejRows.slice(rq0, rq), chunks, {
            metrics: metricsInPass2 ? recipe.seed : null,
          });
          stasks.push({ ...task, id: stasks.length });
          from = to;
        }
      }
    }
    const slots = new Map(scatter.map((x) => [x.key, x]));
    // This thread idles while the threads work: the shards' compressor loads now, not on the write's
    // critical path (native zstd's loader costs ~60 ms, src/warm.ts in @curate/shards).
    if (stasks.length && !ctx.part && (!tokenizedOutput(recipe) || writeRejected)) {
      setTimeout(() => void warmCompressor(rowShardFormat(recipe).compression), 0);
    }
    await pool.run(
      stasks,
      (t, r: SampleResult) => {
        const name = names.get(t.id) as string;
        (slots.get(name) as { unit: ScatterUnit | null }).unit = commitResult(name, t, r);
      },
      options.signal,
    );
  } else {
    // Pass 2 on this thread, one unit per file, as a pass-2 thread takes one (sample.ts): its own
    // text-only scanner (built only if a unit is redone).
    let textScanner: Scanner | undefined;
    const jobs: ScatterJob[] = [];
    for (const s of sources) {
      const sel = perSourceSel[s.index];
      const idx = sortIndex(sel.rows, sel.epochs, sel.n);
      const rejRows = writeRejected ? s.reasons.dropped() : new Uint32Array(0);
      let ptr = 0;
      let q = 0;
      for (let fi = 0; fi < s.files.length; fi++) {
        const end = s.fileBase[fi] + s.scans[fi].rows;
        const first = ptr;
        while (ptr < sel.n && sel.rows[idx[ptr]] < end) ptr++;
        const q0 = q;
        while (q < rejRows.length && rejRows[q] < end) q++;
        jobs.push({
          s,
          fi,
          idx,
          from: first,
          to: ptr,
          rejected: rejRows.slice(q0, q),
          name: `m${writeRejected ? 'r' : ''}-s${s.index}-f${fi}`,
        });
      }
    }
    const compute = async (j: ScatterJob): Promise<ScatterUnit> => {
      textScanner ??= await Scanner.create(recipe, { textOnly: true });
      // per-role metrics of a conversation source's written rows, from its turns (here, where they
      // are parsed); the texts themselves are measured by the write units
      const conv = options.metrics !== false && isConversation(textScanner.templates[j.s.index]);
      const task = fileTask(j.s, j.fi, j.idx, j.from, j.to, j.rejected, 1, {
        metrics: null,
        ...(conv ? { roles: recipe.seed } : {}),
      });
      return commitResult(j.name, task, await sampleFile(textScanner, task));
    };
    const part = ctx.part;
    if (take) {
      const got = await takeScatter(jobs, take, compute);
      if (!got) return finalizedResult();
      for (let i = 0; i < jobs.length; i++) scatter.push({ key: jobs[i].name, unit: got[i] });
    } else {
      for (const j of jobs) {
        if (part?.step === 'scatter' && !part.scatter?.(j.s.index, j.fi)) continue; // another rank's unit
        const reused = await reuseScatter(j.name);
        if (!reused && part && part.step !== 'scatter') part.missing('scatter', j.name);
        if (reused) {
          found[j.s.index] += reused.data.found;
          scatter.push({ key: j.name, unit: reused });
          continue;
        }
        scatter.push({ key: j.name, unit: await compute(j) });
      }
    }
  }
  // one thread stays for the diversity results when they are computed while the shards are written
  const keepThread = pool !== null && metricsInPass2 && !ctx.part;
  if (pool && !keepThread) await pool.close();
  if (ctx.part?.step === 'scatter') {
    timings.sample_seconds = (now() - t3) / 1000;
    return partResult(store);
  }
  for (const s of sources) {
    const n = perSourceSel[s.index].n;
    if (found[s.index] !== n) {
      throw new CurateError(
        `source "${s.name}" changed between passes: ${n - found[s.index]} selected rows were not found again (were its files modified during the run?)`,
        { code: 'E_INPUT_CHANGED' },
      );
    }
  }
  const units = scatter.map((x) => x.unit as ScatterUnit);
  // Diversity metrics of the written rows, per source (kinds are merged from sources in finalize).
  const bySource = new Map<string, CorpusMetrics>();
  const mergeStates = (states: Map<string, CorpusMetricsState[]>) => {
    for (const [name, m] of mergeSourceStates(states, recipe.seed)) bySource.set(name, m);
  };
  // The same per role of the conversation sources' turns, merged in unit order (role-metrics.ts).
  const byRole = new Map<string, RoleMetrics>();
  const states = new Map<string, CorpusMetricsState[]>();
  const roleStates: unknown[] = []; // used here after the corpus states moved to a thread
  for (const u of units) {
    if (!u.data.metrics) continue;
    const name = sources[u.data.sourceIndex].name;
    const st = deserialize(readAt(u.file, u.data.metrics[0], u.data.metrics[1])) as UnitMetrics;
    if (st.corpus) states.set(name, [...(states.get(name) ?? []), st.corpus]);
    if (st.roles) {
      roleStates.push(st.roles);
      let m = byRole.get(name);
      if (!m) byRole.set(name, (m = new RoleMetrics({ seed: recipe.seed })));
      m.merge(RoleMetrics.fromState(st.roles));
    }
    metricsSeconds += u.data.metricsSeconds;
  }
  let diversity: Promise<DiversityResults> | undefined;
  if (keepThread) {
    // the thread computes them while this one writes the shards, then ends
    const task: DiversityTask = {
      kind: 'diversity',
      states: [...states],
      sources: sources.map((s) => ({ name: s.name, kind: s.kind })),
      seed: recipe.seed,
    };
    const p = pool as SamplePool;
    diversity = p.call<DiversityResults>(task, stateBuffers(task.states, roleStates)).finally(() => p.close());
    diversity.catch(() => {}); // awaited (and its error thrown) by the finalize stage
  } else if (metricsInPass2) mergeStates(states);
  timings.sample_seconds = (now() - t3) / 1000;

  // Rejected rows: one unit, in source and file order.
  const t4 = now();
  let rejectedShards: WrittenShard[] = [];
  let rejectedRows = 0;
  const rejectedHere = take
    ? writeRejected && (await takeUnit(take, 'rejected', 'all', 0))
    : writeRejected && (ctx.part?.step !== 'write' || ctx.part.rejected);
  if (rejectedHere) {
    const done = await store.load<{ shards: WriteUnitData['shards']; rows: number }>('rejected', 'all');
    if (!done && ctx.part?.step === 'link') ctx.part.missing('rejected', 'all');
    const dir = store.path('rejected', 'all');
    if (done) {
      rejectedShards = done.data.shards.map((x) => ({
        path: join(dir, x.name),
        rows: x.rows,
        bytes: x.bytes,
        sha256: x.sha256,
      }));
      rejectedRows = done.data.rows;
    } else {
      await store.clear('rejected', 'all', [dir]);
      const textBytes = rowShardFormat(recipe).format === 'parquet';
      const writer = createShardWriter({
        dir,
        ...rowShardFormat(recipe),
        maxRows: recipe.output.shard_rows,
        maxBytes: recipe.output.shard_size,
        columns: withGenerationColumn(rejectedColumns(sources)),
      });
      await mkdir(dir, { recursive: true });
      try {
        for (const s of sources) {
          let rows: Row[] = [];
          for (const u of units) {
            if (u.data.sourceIndex !== s.index || u.data.rejected[2] === 0) continue;
            for (const rec of records(readAt(u.file, u.data.rejected[0], u.data.rejected[1]), u.file)) {
              rows.push(textRecord(rec, textBytes)[1]);
              if (rows.length >= WRITE_BATCH) {
                await writer.write(rowsToBatch(rows));
                rejectedRows += rows.length;
                rows = [];
              }
            }
          }
          if (rows.length) {
            await writer.write(rowsToBatch(rows));
            rejectedRows += rows.length;
          }
        }
        rejectedShards = await writer.close();
      } catch (e) {
        await writer.abort().catch(() => {});
        throw e;
      }
      const shards = rejectedShards.map((x) => ({
        name: basename(x.path),
        rows: x.rows,
        bytes: x.bytes,
        sha256: x.sha256,
      }));
      await store.commit('rejected', 'all', rejectedShards, { shards, rows: rejectedRows });
    }
  }

  // Write units: each one's buckets in output order into its own shards.
  const columns = withGenerationColumn(outputColumns(sources, recipe));
  let written = 0;
  const unitShards: WrittenShard[][] = [];
  const unitStates = new Map<string, CorpusMetricsState[]>();
  let writeComputed = 0;
  if (take) {
    // its own units, then the others' from the last rank's down (the ranks that start last)
    const count = layout.units.length - 1;
    const all = Array.from({ length: count }, (_, u) => u);
    const mine = all.filter((u) => take.writeOwner(u, count) === take.claims.rank);
    const others = all.filter((u) => take.writeOwner(u, count) !== take.claims.rank).reverse();
    for (const u of [...mine, ...others]) {
      const name = `u${pad(u)}`;
      if (await take.finalized()) return finalizedResult();
      if (!(await takeUnit(take, 'write', name, take.writeOwner(u, count)))) continue;
      const dir = store.path('write', name);
      const metricsFile = store.path('write', `${name}.metrics`);
      await store.clear('write', name, [dir, metricsFile]);
      await writeUnit(u, dir, metricsFile);
      killPoint('write', ++writeComputed);
      pausePoint('write', writeComputed, ctx.part?.rank);
    }
    let complete = !writeRejected || (await store.has('rejected', 'all'));
    for (let u = 0; u < count && complete; u++) complete = await store.has('write', `u${pad(u)}`);
    timings.write_seconds = (now() - t4) / 1000;
    return { ...partResult(store), complete };
  }
  for (let u = 0; u + 1 < layout.units.length; u++) {
    const name = `u${pad(u)}`;
    const dir = store.path('write', name);
    const metricsFile = store.path('write', `${name}.metrics`);
    if (ctx.part?.step === 'write' && !ctx.part.write?.(u, layout.units.length - 1)) continue; // another rank's
    const done = await store.load<WriteUnitData>('write', name);
    if (!done && ctx.part?.step === 'link') ctx.part.missing('write', name);
    let data: WriteUnitData;
    if (done) {
      data = done.data;
    } else {
      await store.clear('write', name, [dir, metricsFile]);
      data = await writeUnit(u, dir, metricsFile);
      killPoint('write', ++writeComputed);
      pausePoint('write', writeComputed, ctx.part?.rank);
    }
    unitShards.push(
      data.shards.map((x) => ({ path: join(dir, x.name), rows: x.rows, bytes: x.bytes, sha256: x.sha256 })),
    );
    written += data.written;
    if (data.metrics) {
      const states = deserialize(readFileSync(metricsFile)) as [string, CorpusMetricsState][];
      for (const [k, st] of states) unitStates.set(k, [...(unitStates.get(k) ?? []), st]);
      metricsSeconds += data.metricsSeconds;
    }
    progress({ phase: 'write', rows: written, bytes: 0 });
  }
  if (!metricsInPass2 && options.metrics !== false) mergeStates(unitStates);

  async function writeUnit(u: number, dir: string, metricsFile: string): Promise<WriteUnitData> {
    const [from, to] = [layout.units[u], layout.units[u + 1]];
    const writer = await createOutputWriter(recipe, {
      dir,
      maxRows: recipe.output.shard_rows,
      maxBytes: recipe.output.shard_size,
      columns,
      rowGroupRows: recipe.output.row_group_rows,
    });
    const measure = !metricsInPass2 && options.metrics !== false;
    // the Parquet writer takes the texts as the bytes the threads wrote (no string made here)
    const textBytes = !measure && !tokenizedOutput(recipe) && recipe.output.format === 'parquet';
    const metrics = new Map<string, CorpusMetrics>();
    let seconds = 0;
    let n = 0;
    let shards: WrittenShard[];
    try {
      let part: Row[] = [];
      const flush = async () => {
        if (measure) {
          const tm = now();
          for (const row of part) {
            const k = row.source as string;
            let m = metrics.get(k);
            if (!m) metrics.set(k, (m = new CorpusMetrics({ seed: recipe.seed })));
            m.add(row.text as string);
          }
          seconds += (now() - tm) / 1000;
        }
        await writer.write(toBatch(part, columns));
        n += part.length;
        part = [];
      };
      let expected = from;
      for (let b = bucketOf(layout, from); b + 1 < layout.buckets.length && layout.buckets[b] < to; b++) {
        const recs: [number, Row][] = [];
        for (const x of units) {
          const e = x.data.buckets.find((y) => y[0] === b);
          if (!e) continue;
          for (const rec of records(readAt(x.file, e[1], e[2]), x.file)) recs.push(textRecord(rec, textBytes));
        }
        recs.sort((x, y) => x[0] - y[0]);
        for (const [pos, row] of recs) {
          if (pos !== expected) throw new Error(`internal: shuffle position ${pos} where ${expected} was expected`);
          expected++;
          part.push(row);
          if (part.length >= WRITE_BATCH) await flush();
        }
      }
      // the last batch of a bucket is flushed with the next bucket's rows (batch cuts do not follow buckets)
      if (part.length) await flush();
      if (expected !== to) throw new Error(`internal: write unit ${u} has rows ${from}..${expected}, ${to} expected`);
      shards = await writer.close();
    } catch (e) {
      await writer.abort().catch(() => {});
      throw e;
    }
    const files: { path: string; sha256?: string }[] = [...shards];
    if (measure) {
      writeFileChecked(metricsFile, serialize([...metrics].map(([k, m]) => [k, m.toState()])));
      files.push({ path: metricsFile });
    }
    const data: WriteUnitData = {
      shards: shards.map((x) => ({ name: basename(x.path), rows: x.rows, bytes: x.bytes, sha256: x.sha256 })),
      written: n,
      metrics: measure ? basename(metricsFile) : null,
      metricsSeconds: seconds,
    };
    await store.commit('write', `u${pad(u)}`, files, data);
    return data;
  }

  if (ctx.part?.step === 'write') {
    timings.write_seconds = (now() - t4) / 1000;
    return partResult(store);
  }

  // The units' shards into the output, under global names (hard links: the units stay valid until
  // the run is committed, so a run killed in finalize redoes no unit).
  const shards: WrittenShard[] = [];
  const datasets = unitShards.reduce((a, list) => a + datasetCount(list), 0);
  let g = 0;
  for (const list of unitShards) {
    for (const x of list) {
      const m = /^shard-(\d{5})-of-\d{5}/.exec(basename(x.path));
      if (!m) throw new Error(`internal: unexpected shard name ${x.path}`);
      const name = `shard-${pad(g + Number(m[1]))}-of-${pad(datasets)}${basename(x.path).slice(m[0].length)}`;
      const dest = join(out.tmpDir, name);
      await linkOrCopy(x.path, dest);
      shards.push({ ...x, path: dest });
    }
    g += datasetCount(list);
  }
  const rejected: WrittenShard[] = [];
  if (rejectedShards.length) await mkdir(join(out.tmpDir, 'rejected'), { recursive: true });
  for (const x of rejectedShards) {
    const dest = join(out.tmpDir, 'rejected', basename(x.path));
    await linkOrCopy(x.path, dest);
    rejected.push({ ...x, path: dest });
  }
  if (!store.persistent) await store.remove();
  timings.write_seconds = (now() - t4) / 1000;
  return {
    shards,
    rejectedShards: rejected,
    written,
    rejectedRows,
    columns,
    bySource,
    ...(diversity ? { diversity } : {}),
    byRole,
    metricsSeconds,
    units: {
      reused: { ...store.reused },
      computed: { ...store.computed },
      text: {
        from_spans: units.reduce((a, u) => a + (u.data.text?.[0] ?? 0), 0),
        rederived: units.reduce((a, u) => a + (u.data.text?.[1] ?? 0), 0),
      },
    },
  };
}

/** What a rank's step returns: its units reused and computed (the rest belongs to the `link` step). */
function partResult(store: UnitStore): WriteResult {
  return {
    shards: [],
    rejectedShards: [],
    written: 0,
    rejectedRows: 0,
    columns: [],
    bySource: new Map(),
    byRole: new Map(),
    metricsSeconds: 0,
    units: { reused: { ...store.reused }, computed: { ...store.computed }, text: { from_spans: 0, rederived: 0 } },
  };
}

/** Datasets among a unit's shard files (a token dataset has several files with one index). */
function datasetCount(list: WrittenShard[]): number {
  const m = list.length ? /^shard-\d{5}-of-(\d{5})/.exec(basename(list[0].path)) : null;
  return m ? Number(m[1]) : 0;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
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
      // one spec over the sources (nested shapes merged: mergeColumnSpecs)
      const specs = sources.flatMap((s) => s.columns.filter((c) => c.name === name));
      return specs.length === 0
        ? { name, type: 'string' as ColumnType }
        : (mergeColumnSpecs([specs]).find((c) => c.name === name) as ColumnSpec);
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
      if (cols.some((p) => p.name === c.name) || c.name === 'reason') continue;
      if (names.has(c.name)) {
        const i = extra.findIndex((x) => x.name === c.name);
        extra[i] = mergeColumnSpecs([[extra[i]], [c]])[0];
        continue;
      }
      names.add(c.name);
      extra.push(c);
    }
  }
  return [...cols, { name: 'reason', type: 'string' }, ...extra];
}

function sortIndex(rows: Uint32Array, epochs: Uint16Array, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => rows[a] - rows[b] || epochs[a] - epochs[b]);
  return idx;
}
