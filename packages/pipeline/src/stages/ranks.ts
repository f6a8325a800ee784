/**
 * The staged mix as ranks: each stage's units of work split deterministically over `worldSize`
 * processes that share one work dir (a cluster file system), run by any scheduler (Slurm arrays,
 * Kubernetes Indexed Jobs, a shell loop). curate supplies `--stage --rank --world-size`; it never
 * schedules.
 *
 *   scan      input files balanced by bytes (greedy by size, stable); a file larger than a rank's
 *             share split into row-block parts, merged by the rank that stores the last part
 *                                                                        -> attribute shards (+ markers)
 *   dedup     LSH band buckets (by hash of band and band key)             -> candidate edges per rank
 *   plan      one rank: exact dedup, the edges' union-find, the verdicts  -> WORK/dedup/<key> + plan marker
 *   scatter   the write stage's scatter units (one per input file), by bytes
 *   write     the write units (ranges of output positions), contiguous
 *   finalize  one rank: links the shards, metrics, manifest.json, the rename into place
 *
 * Every rank writes `WORK/ranks/<run>/<stage>/r<rank>-of-<n>.json` when it is done (what it
 * computed and reused) or `….failed.json` (the error's line and the log) when it fails; `curate
 * status` reads them. A rank whose predecessor stage left no markers fails closed with one line
 * naming its stage and rank (E_STAGE_INCOMPLETE). The output does not depend on the world sizes.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { CurateError, type Kind, UsageError } from '@curate/core';
import { bandKey, ExactDeduper, type Prefer, resolveNearOptions } from '@curate/dedup';
import { FilterChain } from '@curate/quality';
import { canonicalJson, type Recipe } from '@curate/recipe';
import { expandInputs, type InputFile } from '@curate/shards';
import { decideFile, type FileScan, mergeParts, recipeFilters, Scanner, type ScanTask } from '../scan.js';
import {
  type AttrContext,
  evalChecksums,
  fileGroups,
  loadAttributes,
  needName,
  writeAttributes,
} from './attributes.js';
import { scanStage } from './scan.js';
import { sha256Of, writeAtomicSync } from './units.js';
import { configKey, type WorkDir } from './workdir.js';

/** The stages a staged mix runs, in order. */
export const RANK_STAGES = ['scan', 'dedup', 'plan', 'scatter', 'write', 'finalize'] as const;
export type RankStageName = (typeof RANK_STAGES)[number];
/** Stages of one rank only (they read what every rank of the stage before wrote). */
export const SINGLE_RANK_STAGES: readonly RankStageName[] = ['plan', 'finalize'];

export interface StageRank {
  stage: RankStageName;
  rank: number;
  worldSize: number;
}

/**
 * Rank and world size: explicit values first, then a Slurm array task (`SLURM_ARRAY_TASK_ID` is the
 * rank, the world size `SLURM_ARRAY_TASK_COUNT` unless given: a resubmission of some ranks passes
 * it), then a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, world size given or `CURATE_WORLD_SIZE`).
 */
export function resolveStageRank(
  stage: RankStageName,
  given: { rank?: number; worldSize?: number },
  env: NodeJS.ProcessEnv = process.env,
): StageRank {
  const int = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  let { rank, worldSize } = given;
  if (rank === undefined && env.SLURM_ARRAY_TASK_ID !== undefined) {
    rank = int(env.SLURM_ARRAY_TASK_ID);
    worldSize ??= int(env.SLURM_ARRAY_TASK_COUNT);
  } else if (rank === undefined && env.JOB_COMPLETION_INDEX !== undefined) {
    rank = int(env.JOB_COMPLETION_INDEX);
    worldSize ??= int(env.CURATE_WORLD_SIZE);
    if (worldSize === undefined) {
      throw new UsageError('JOB_COMPLETION_INDEX is set but the world size is not: pass --world-size', {
        code: 'E_RANK',
      });
    }
  }
  rank ??= 0;
  worldSize ??= 1;
  if (!Number.isInteger(rank) || !Number.isInteger(worldSize) || worldSize < 1 || rank < 0 || rank >= worldSize) {
    throw new UsageError(`--stage ${stage}: bad rank ${rank} of world size ${worldSize}: need 0 <= rank < world size`, {
      code: 'E_RANK',
    });
  }
  if (SINGLE_RANK_STAGES.includes(stage) && worldSize !== 1) {
    throw new UsageError(`--stage ${stage} runs as one rank: pass --world-size 1 (got ${worldSize})`, {
      code: 'E_RANK',
    });
  }
  return { stage, rank, worldSize };
}

/** The rank holding the least so far (the lowest on a tie). */
function leastLoaded(load: readonly number[]): number {
  let best = 0;
  for (let r = 1; r < load.length; r++) if (load[r] < load[best]) best = r;
  return best;
}

/**
 * The owner rank of each item, balanced by size: items by size (largest first, then index), each
 * to the rank holding the fewest bytes so far (the lowest rank on a tie). Deterministic.
 */
export function assignByBytes(sizes: readonly number[], worldSize: number): number[] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  const load = new Array(worldSize).fill(0);
  const owner = new Array(sizes.length).fill(0);
  for (const i of order) {
    const best = leastLoaded(load);
    owner[i] = best;
    load[best] += sizes[i];
  }
  return owner;
}

/** The owner of item `i` of `count` split into contiguous ranges over `worldSize` ranks. */
export function rangeOwner(i: number, count: number, worldSize: number): number {
  return Math.min(worldSize - 1, Math.floor((i * worldSize) / Math.max(1, count)));
}

/** The rank owning an LSH bucket (band and its 53-bit band key). */
export function bucketOwner(band: number, key: number, worldSize: number): number {
  const lo = key % 4294967296;
  const hi = Math.floor(key / 4294967296);
  return ((Math.imul(lo ^ hi, 0x9e3779b1) ^ Math.imul(band + 1, 0x85ebca6b)) >>> 0) % worldSize;
}

/** The staged run's key: tool, recipe (without where its output goes) and the inputs' paths, sizes, mtimes. */
export async function runKeyOf(recipe: Recipe, files: InputFile[][], tool: string): Promise<string> {
  const inputs: [string, number, number][][] = [];
  for (const fs of files) {
    const list: [string, number, number][] = [];
    for (const f of fs) {
      const st = await stat(f.path).catch(() => null);
      list.push([f.path, f.size, st ? st.mtimeMs : 0]);
    }
    inputs.push(list);
  }
  return configKey({
    tool,
    recipe: JSON.parse(canonicalJson({ ...recipe, output: { ...recipe.output, dir: '' } })),
    inputs,
  });
}

/** What a rank records when it is done (`r<rank>-of-<n>.json`) or failed (`….failed.json`). */
export interface RankMarker {
  format: 'curate-rank';
  stage: RankStageName;
  rank: number;
  world_size: number;
  status: 'done' | 'failed';
  host: string;
  job: string | null;
  log: string | null;
  seconds: number;
  finished_at: string;
  /** Units this rank computed and reused, per step (scan: input files; dedup: edges; write: scatter/write units). */
  units?: { computed: Record<string, number>; reused: Record<string, number> };
  /** done: the files the rank leaves for the next stage, with their size and sha256. */
  files?: { name: string; bytes: number; sha256: string }[];
  /** failed: the error's one line and code. */
  error?: { code: string; line: string };
}

export const ranksDir = (work: WorkDir | string, runKey: string, stage?: RankStageName): string => {
  const base = typeof work === 'string' ? join(work, 'ranks', runKey) : work.path('ranks', runKey);
  return stage ? join(base, stage) : base;
};

const markerName = (rank: number, worldSize: number, failed = false) =>
  `r${rank}-of-${worldSize}${failed ? '.failed' : ''}.json`;

export function writeRankMarker(dir: string, m: RankMarker): void {
  writeAtomicSync(join(dir, markerName(m.rank, m.world_size, m.status === 'failed')), `${JSON.stringify(m)}\n`);
}

export async function clearRankMarkers(dir: string, rank: number, worldSize: number): Promise<void> {
  await rm(join(dir, markerName(rank, worldSize)), { force: true });
  await rm(join(dir, markerName(rank, worldSize, true)), { force: true });
}

/** Every rank marker of a stage (done and failed), by world size. */
export async function readRankMarkers(dir: string): Promise<RankMarker[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: RankMarker[] = [];
  for (const n of names.sort()) {
    if (!/^r\d+-of-\d+(\.failed)?\.json$/.test(n)) continue;
    try {
      const m = JSON.parse(await readFile(join(dir, n), 'utf8')) as RankMarker;
      if (m.format === 'curate-rank') out.push(m);
    } catch {
      // being written: not done
    }
  }
  return out;
}

/** A done marker whose files verify (size and sha256), or null. */
export async function verifiedDone(dir: string, rank: number, worldSize: number): Promise<RankMarker | null> {
  let m: RankMarker;
  try {
    m = JSON.parse(await readFile(join(dir, markerName(rank, worldSize)), 'utf8')) as RankMarker;
  } catch {
    return null;
  }
  if (m.format !== 'curate-rank' || m.status !== 'done') return null;
  for (const f of m.files ?? []) {
    const p = join(dir, f.name);
    const st = await stat(p).catch(() => null);
    if (!st || st.size !== f.bytes || (await sha256Of(p)) !== f.sha256) return null;
  }
  return m;
}

/** The one-line failure of a rank whose predecessor's markers are missing. */
export function stageIncomplete(r: StageRank, work: string, what: string): CurateError {
  return new CurateError(
    `stage ${r.stage} rank ${r.rank} of ${r.worldSize}: ${what} (the work dir ${work} must be on storage every rank sees)`,
    { code: 'E_STAGE_INCOMPLETE' },
  );
}

/**
 * A row's scan cost in input bytes: tokenizing and filtering a short row costs as much as ~1 KB of
 * book text (the Slurm bench: AlpacaEval's 9 MB of 7,244 rows took 0.6 of a 25 MB Gutenberg shard's time).
 */
export const ROW_COST = 1024;

/**
 * Inputs up to which the scan ranks estimate rows (8 reads of 32 KiB per file, on every rank). With
 * more files each rank gets many, and balancing their bytes alone evens the ranks out well enough,
 * while 8 reads per file per rank would grow with files x ranks on the shared file system.
 */
export const ROW_ESTIMATE_FILES = 256;

/**
 * Rows of a file for the scan's cost estimate: a plain JSONL file's newlines in 8 windows of 32 KiB
 * spread over it, scaled to its size (all of them when it is that small); 0 for other formats
 * (their bytes alone). One window at the head misjudged AlpacaEval by 2x (its first rows are short).
 */
export async function estimateRows(t: ScanTask): Promise<number> {
  if (t.format !== 'jsonl' || t.compression || t.size === 0) return 0;
  const W = 1 << 15;
  const windows = t.size <= 8 * W ? [0] : Array.from({ length: 8 }, (_, i) => Math.floor((i * (t.size - W)) / 7));
  const len = t.size <= 8 * W ? t.size : W;
  const buf = Buffer.alloc(len);
  const fh = await open(t.path, 'r');
  let lines = 0;
  let sampled = 0;
  let last = 10;
  try {
    for (const at of windows) {
      const got = (await fh.read(buf, 0, len, at)).bytesRead;
      for (let i = buf.indexOf(10, 0); i >= 0 && i < got; i = buf.indexOf(10, i + 1)) lines++;
      sampled += got;
      if (got > 0) last = buf[got - 1];
    }
  } finally {
    await fh.close();
  }
  if (sampled >= t.size) return lines + (last !== 10 ? 1 : 0);
  return Math.round((lines * t.size) / Math.max(1, sampled));
}

/**
 * The scan stage's units and their ranks, balanced by cost (bytes + ROW_COST a row): a file costing
 * more than a rank's share is split into the shares it spans (its rows in blocks of PART_ROWS dealt
 * round-robin: `ScanTask.part`); the others, most costly first, each go whole to the least loaded
 * rank (the lowest on a tie) when it stays within 10% of a share, else in as many parts as it takes
 * to fill the least loaded ranks' room, each part to the then least loaded rank. Four Gutenberg
 * books' shards and AlpacaEval's 7,244 short rows on 4 ranks: one part of AlpacaEval each, where
 * whole files gave one rank a book and AlpacaEval (twice the others' time). Deterministic.
 */
export function scanUnits(
  tasks: readonly ScanTask[],
  worldSize: number,
  rows: readonly number[] = [],
): { unit: ScanTask; cost: number; owner: number }[] {
  const cost = tasks.map((t, i) => t.size + ROW_COST * (rows[i] ?? 0));
  const total = cost.reduce((a, c) => a + c, 0);
  const share = Math.max(1, total / worldSize);
  const load = new Array(worldSize).fill(0);
  const least = () => leastLoaded(load);
  const out: { unit: ScanTask; cost: number; owner: number }[] = [];
  const order = tasks.map((_, i) => i).sort((a, b) => cost[b] - cost[a] || a - b);
  for (const i of order) {
    const t = tasks[i];
    const c = cost[i];
    let k = Math.min(worldSize, Math.ceil(c / share - 1e-9));
    if (k <= 1) {
      const best = least();
      if (worldSize === 1 || load[best] + c <= share * 1.1) {
        load[best] += c;
        out.push({ unit: t, cost: c, owner: best });
        continue;
      }
      const room = Math.max(share - load[best], share / 10);
      k = Math.min(worldSize, Math.max(2, Math.ceil(c / room)));
    }
    for (let p = 0; p < k; p++) {
      const best = least();
      load[best] += c / k;
      out.push({ unit: { ...t, part: p, parts: k }, cost: c / k, owner: best });
    }
  }
  return out;
}

/**
 * The scan stage's rank: the attributes of its units (reused when stored). A whole file's are
 * stored as in one process. A part's scan is stored under `DIR/parts/` (v8-serialised, written
 * atomically); the rank that finds every part of a file there claims the merge (an exclusive
 * file), joins them (`mergeParts`: equal to a scan of the whole file) and stores the file's
 * attributes, then removes the parts. Its rank marker is written after that, so a rank killed
 * while merging is resubmitted and merges again (it clears its own stale claims when it starts).
 */
export async function scanRank(
  recipe: Recipe,
  tasks: ScanTask[],
  r: StageRank,
  options: { work: WorkDir; workers: number; tool: string; signal?: AbortSignal; dir: string },
): Promise<RankMarker['units']> {
  const rows = tasks.length <= ROW_ESTIMATE_FILES ? await Promise.all(tasks.map((t) => estimateRows(t))) : [];
  const mine = scanUnits(tasks, r.worldSize, rows)
    .filter((u) => u.owner === r.rank)
    .map((u) => u.unit);
  const whole = mine.filter((t) => !t.parts).map((t, i) => ({ ...t, id: i }));
  const { record } = await scanStage(recipe, whole, {
    workers: options.workers,
    work: options.work,
    tool: options.tool,
  });
  const computed: Record<string, number> = { files: record.computed };
  const reused: Record<string, number> = { files: record.reused };
  const parts = mine.filter((t) => t.parts);
  if (parts.length) {
    const n = await scanParts(recipe, parts, r, options);
    computed.parts = n.computed;
    reused.parts = n.reused;
    if (n.merged) computed.merged_files = n.merged;
  }
  return { computed, reused };
}

/** Where a part's scan waits for the other parts of its file (under the scan stage's rank dir). */
function partPath(dir: string, t: ScanTask): string {
  const key = createHash('sha256').update(t.path).digest('hex').slice(0, 16);
  return join(dir, 'parts', `${key}.p${t.part}-of-${t.parts}.bin`);
}

async function scanParts(
  recipe: Recipe,
  parts: ScanTask[],
  r: StageRank,
  options: { work: WorkDir; tool: string; dir: string },
): Promise<{ computed: number; reused: number; merged: number }> {
  const { work, dir } = options;
  const partsDir = join(dir, 'parts');
  await mkdir(partsDir, { recursive: true });
  // this rank's claims from an earlier attempt (killed while merging): it is the only one that holds them
  for (const f of await readdir(partsDir)) {
    if (!f.endsWith('.merge.claim')) continue;
    const c = JSON.parse(await readFile(join(partsDir, f), 'utf8').catch(() => '{}')) as { rank?: number };
    if (c.rank === r.rank) await rm(join(partsDir, f), { force: true });
  }
  const filters = await recipeFilters(recipe);
  const ctx: AttrContext = { recipe, filters, evalSums: await evalChecksums(recipe, expandInputs), tool: options.tool };
  let scanner: Scanner | null = null;
  const n = { computed: 0, reused: 0, merged: 0 };
  for (const t of parts) {
    const groups = fileGroups(ctx, t);
    const loaded = await loadAttributes(work, ctx, t, groups);
    if (loaded && loaded.missing.length === 0) {
      n.reused++; // the file's attributes are stored (merged by an earlier run, or scanned whole)
      continue;
    }
    const p = partPath(dir, t);
    if (await exists(p)) n.reused++;
    else {
      scanner ??= await Scanner.create(recipe);
      writeAtomicSync(p, serialize(await scanner.scan({ ...t, spans: true })));
      n.computed++;
    }
    // every part of the file stored: the one rank that claims it merges them
    const all = Array.from({ length: t.parts as number }, (_, k) => partPath(dir, { ...t, part: k }));
    const present = await Promise.all(all.map(exists));
    if (!present.every(Boolean)) continue;
    const claim = `${p.slice(0, p.lastIndexOf('.p'))}.merge.claim`;
    if (!(await claimFile(claim, { rank: r.rank, world_size: r.worldSize }))) continue; // another rank merges it
    const scans = await Promise.all(all.map(async (f) => deserialize(await readFile(f)) as FileScan));
    const { part: _p, parts: _k, ...file } = t;
    // the groups missing above (only this claimed merge writes the file's attributes)
    await writeAttributes(work, ctx, file, loaded ? loaded.missing : groups, mergeParts(scans));
    n.merged++;
    await Promise.all([...all, claim].map((f) => rm(f, { force: true })));
  }
  return n;
}

/**
 * Create `path` only if it does not exist (the file holds `who` and this pid): true when this
 * process now holds the claim, false when another one does. One rank of many runs the claimed work.
 */
export async function claimFile(path: string, who: Record<string, unknown>): Promise<boolean> {
  try {
    await writeFile(path, `${JSON.stringify({ ...who, pid: process.pid })}\n`, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * The dedup stage's rank: candidate edges of the LSH buckets it owns. It reads every input's
 * attributes one file at a time and keeps of each row only its band keys in its own buckets (and,
 * for exact dedup, its key: the rows exact dedup removes take no part in near dedup, as in one
 * process); then re-reads the signatures of the rows that share a bucket with another, and applies
 * `bandEdges`' rule per bucket (a row joins the first representative whose band is equal and whose
 * signature estimate passes the bar). Edges are global document index pairs, per dedup group.
 */
export async function dedupRank(
  recipe: Recipe,
  tasks: ScanTask[],
  r: StageRank,
  options: { work: WorkDir; tool: string; out: string },
): Promise<{ units: RankMarker['units']; file: string | null }> {
  const dedup = recipe.dedup ?? {};
  const near = dedup.near;
  const fail = (t: ScanTask, missing: string[]) => {
    throw stageIncomplete(
      r,
      options.work.dir,
      `the scan stage left no attributes (${missing.join(', ')}) for ${t.path}: run its rank first`,
    );
  };
  const filters = await recipeFilters(recipe);
  const chain = new FilterChain(filters);
  const evalNames = (dedup.decontaminate ?? []).map((d) => d.name);
  const ctx: AttrContext = { recipe, filters, evalSums: await evalChecksums(recipe, expandInputs), tool: options.tool };
  const perSource = dedup.scope === 'per_source';
  const opts = near
    ? resolveNearOptions({
        numPerm: near.num_perm,
        threshold: near.threshold,
        bands: near.bands,
        rows: near.rows,
        verify: near.verify,
        prefer: near.prefer as Prefer,
      })
    : null;
  const groupCount = perSource ? recipe.sources.length : 1;
  const exact = dedup.exact
    ? Array.from(
        { length: groupCount },
        () => new ExactDeduper({ prefer: (near?.prefer as Prefer | undefined) ?? 'real' }),
      )
    : null;
  // Pass 1: band keys of this rank's buckets (20 bytes an entry), and exact keys.
  const entries = new BucketEntries();
  let docBase = 0;
  let sourceRows = 0;
  let lastSource = -1;
  const fileDocBase: number[] = [];
  for (const t of tasks) {
    if (t.sourceIndex !== lastSource) {
      docBase += sourceRows;
      sourceRows = 0;
      lastSource = t.sourceIndex;
    }
    const groups = fileGroups(ctx, t);
    const loaded = await loadAttributes(options.work, ctx, t, groups);
    if (!loaded || loaded.missing.length) fail(t, loaded ? loaded.missing.map(needName) : groups.map(needName));
    const sc = (loaded as NonNullable<typeof loaded>).scan;
    decideFile(sc, chain, evalNames);
    const base = docBase + sourceRows;
    fileDocBase[t.id] = base;
    sourceRows += sc.rows;
    const dropped = new Uint8Array(sc.rows);
    for (const row of sc.dropRows) dropped[row] = 1;
    const g = perSource ? t.sourceIndex : 0;
    const kind = recipe.sources[t.sourceIndex].kind as Kind;
    if (exact && sc.exactKeys) {
      for (let row = 0; row < sc.rows; row++) {
        if (dropped[row]) continue;
        exact[g].add(base + row, sc.exactKeys[row], { id: '', kind, score: sc.scores?.[row] });
      }
    }
    if (opts) {
      const k = opts.numPerm;
      for (let i = 0; i < sc.sigRows.length; i++) {
        const row = sc.sigRows[i];
        if (dropped[row]) continue;
        const sig = sc.sigs.subarray(i * k, (i + 1) * k);
        for (let b = 0; b < opts.bands; b++) {
          const key = bandKey(sig, b, opts.rows);
          if (bucketOwner(b, key, r.worldSize) !== r.rank) continue;
          entries.push(g, b, key, base + row);
        }
      }
    }
  }
  const removed = new Set<number>();
  if (exact) for (const dd of exact) for (const doc of dd.resolve().keys()) removed.add(doc);
  // Buckets: entries by group, band, key, document.
  const { group: eGroup, band: eBand, key: eKey, doc: eDoc } = entries.view();
  let m0 = 0;
  for (let i = 0; i < eDoc.length; i++) if (!removed.has(eDoc[i])) m0++;
  const idx = new Uint32Array(m0);
  m0 = 0;
  for (let i = 0; i < eDoc.length; i++) if (!removed.has(eDoc[i])) idx[m0++] = i;
  idx.sort((a, b) => eGroup[a] - eGroup[b] || eBand[a] - eBand[b] || eKey[a] - eKey[b] || eDoc[a] - eDoc[b]);
  const same = (a: number, b: number) => eGroup[a] === eGroup[b] && eBand[a] === eBand[b] && eKey[a] === eKey[b];
  const needed = new Set<number>();
  for (let i = 0; i < idx.length; i++) {
    if ((i > 0 && same(idx[i], idx[i - 1])) || (i + 1 < idx.length && same(idx[i], idx[i + 1]))) {
      needed.add(eDoc[idx[i]]);
    }
  }
  // Pass 2: the signatures of rows sharing a bucket.
  const sigs = new Map<number, Int32Array>();
  if (opts && needed.size) {
    for (const t of tasks) {
      const groups = fileGroups(ctx, t).filter((g) => g.name === 'base' || g.name === 'minhash');
      const loaded = await loadAttributes(options.work, ctx, t, groups);
      if (!loaded || loaded.missing.length) fail(t, loaded ? loaded.missing.map(needName) : groups.map(needName));
      const sc = (loaded as NonNullable<typeof loaded>).scan;
      const k = opts.numPerm;
      for (let i = 0; i < sc.sigRows.length; i++) {
        const doc = fileDocBase[t.id] + sc.sigRows[i];
        if (needed.has(doc)) sigs.set(doc, sc.sigs.slice(i * k, (i + 1) * k));
      }
    }
  }
  // Per bucket, in document order: a row joins the first representative it matches (an edge).
  const edges: number[][] = Array.from({ length: groupCount }, () => []);
  let edgeCount = 0;
  if (opts) {
    const k = opts.numPerm;
    for (let i = 0; i < idx.length; ) {
      let j = i + 1;
      while (j < idx.length && same(idx[j], idx[i])) j++;
      if (j - i > 1) {
        const band = eBand[idx[i]];
        const lo = band * opts.rows;
        const reps: number[] = [];
        for (let m = i; m < j; m++) {
          const doc = eDoc[idx[m]];
          const a = sigs.get(doc) as Int32Array;
          let joined = false;
          for (const rep of reps) {
            const b = sigs.get(rep) as Int32Array;
            let eq = true;
            for (let x = lo; x < lo + opts.rows && eq; x++) if (a[x] !== b[x]) eq = false;
            if (!eq) continue;
            if (opts.verify) {
              let n = 0;
              for (let x = 0; x < k; x++) if (a[x] === b[x]) n++;
              if (n / k < opts.verifyThreshold) continue;
            }
            edges[eGroup[idx[i]]].push(rep, doc);
            edgeCount++;
            joined = true;
            break;
          }
          if (!joined) reps.push(doc);
        }
      }
      i = j;
    }
  }
  const dir = options.out;
  const name = `edges-r${r.rank}-of-${r.worldSize}.bin`;
  writeAtomicSync(join(dir, name), serialize(edges.map((e) => Float64Array.from(e))));
  return {
    units: { computed: { buckets_rows: idx.length, edges: edgeCount, signatures_held: sigs.size }, reused: {} },
    file: name,
  };
}

/** A dedup rank's bucket entries in growable typed arrays: group, band, 53-bit band key, document. */
class BucketEntries {
  private n = 0;
  private group = new Uint16Array(1024);
  private band = new Uint16Array(1024);
  private key = new Float64Array(1024);
  private doc = new Float64Array(1024);
  push(group: number, band: number, key: number, doc: number): void {
    if (this.n === this.doc.length) {
      const cap = this.n * 2;
      const grow = <T extends Uint16Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      this.group = grow(this.group, (k) => new Uint16Array(k));
      this.band = grow(this.band, (k) => new Uint16Array(k));
      this.key = grow(this.key, (k) => new Float64Array(k));
      this.doc = grow(this.doc, (k) => new Float64Array(k));
    }
    this.group[this.n] = group;
    this.band[this.n] = band;
    this.key[this.n] = key;
    this.doc[this.n] = doc;
    this.n++;
  }
  view() {
    const n = this.n;
    return {
      group: this.group.subarray(0, n),
      band: this.band.subarray(0, n),
      key: this.key.subarray(0, n),
      doc: this.doc.subarray(0, n),
    };
  }
}

/** The dedup ranks' edges (per group), from the first world size whose every rank is done and verifies. */
export async function readEdges(
  work: WorkDir,
  runKey: string,
  r: StageRank,
): Promise<{ edges: (group: number) => Promise<Float64Array>; worldSize: number }> {
  const dir = ranksDir(work, runKey, 'dedup');
  const markers = (await readRankMarkers(dir)).filter((m) => m.status === 'done');
  const sizes = [...new Set(markers.map((m) => m.world_size))].sort((a, b) => a - b);
  let firstMissing: string | null = null;
  for (const n of sizes) {
    const files: string[] = [];
    let ok = true;
    for (let k = 0; k < n && ok; k++) {
      const m = await verifiedDone(dir, k, n);
      if (!m) {
        ok = false;
        firstMissing ??= `dedup rank ${k} of ${n}`;
      } else files.push(...(m.files ?? []).map((f) => join(dir, f.name)));
    }
    if (!ok) continue;
    const parts = files.map(async (f) => deserialize(await readFile(f)) as Float64Array[]);
    const all = await Promise.all(parts);
    return {
      worldSize: n,
      edges: async (g: number) => {
        let len = 0;
        for (const a of all) len += a[g]?.length ?? 0;
        const out = new Float64Array(len);
        let o = 0;
        for (const a of all) {
          if (!a[g]) continue;
          out.set(a[g], o);
          o += a[g].length;
        }
        return out;
      },
    };
  }
  throw stageIncomplete(
    r,
    work.dir,
    firstMissing
      ? `the dedup stage is incomplete: ${firstMissing} has no completion marker in ${dir}`
      : `the dedup stage has no completion markers in ${dir}: run its ranks first`,
  );
}

/** The marker of the one rank of a single-rank stage, or a one-line failure naming the rank that needs it. */
export async function requireSingle(
  work: WorkDir,
  runKey: string,
  stage: RankStageName,
  r: StageRank,
): Promise<RankMarker> {
  const dir = ranksDir(work, runKey, stage);
  const m = await verifiedDone(dir, 0, 1);
  if (!m) {
    throw stageIncomplete(r, work.dir, `the ${stage} stage has no completion marker in ${dir}: run it first`);
  }
  return m;
}

/** A rank's marker file as `RankMarker.files` names it. */
export async function fileRecord(dir: string, name: string): Promise<{ name: string; bytes: number; sha256: string }> {
  const p = join(dir, name);
  return { name, bytes: (await stat(p)).size, sha256: await sha256Of(p) };
}

/** The rank's job and log, from the scheduler's environment (Slurm, or CURATE_LOG). */
export function jobOf(env: NodeJS.ProcessEnv = process.env): { job: string | null; log: string | null } {
  const job = env.SLURM_ARRAY_JOB_ID
    ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`
    : (env.SLURM_JOB_ID ?? env.JOB_NAME ?? null);
  return { job, log: env.CURATE_LOG ?? null };
}

export function markerBase(r: StageRank, started: number): Omit<RankMarker, 'status'> {
  const { job, log } = jobOf();
  return {
    format: 'curate-rank',
    stage: r.stage,
    rank: r.rank,
    world_size: r.worldSize,
    host: hostname(),
    job,
    log,
    seconds: (performance.now() - started) / 1000,
    finished_at: new Date().toISOString(),
  };
}

/** A stable short digest (for a plan marker). */
export function digestOf(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
}
