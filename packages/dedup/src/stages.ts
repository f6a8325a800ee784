/**
 * Near dedup beyond one machine: the same decisions as `dedupFiles`, as four
 * stages that write intermediate files under a work directory. Each stage
 * checks the previous stage's manifests and fails closed when a rank's
 * output is missing or was computed with other settings.
 *
 *   signatures (rank i of n: input files f with f % n == i)
 *     -> WORK/signatures/rank-XXXXX.sig (docIndex f64 + numPerm int32 per document with words)
 *        WORK/signatures/rank-XXXXX.docs.jsonl ([docIndex, exactKey, id, kind, score, hasSig] per row)
 *   buckets (rank i of n: bands b with b % n == i)
 *     -> WORK/buckets/rank-XXXXX.edges (docIndex pairs, f64)
 *   clusters (one task)
 *     -> WORK/clusters/removed.jsonl ({"i": docIndex, "r": reason}) and summary.json
 *   remove (rank i of n: input files f with f % n == i)
 *     -> OUT/rank-XXXXX-NNNNN-of-MMMMM.ext and OUT/rejected/...
 * Every stage writes WORK/<stage>/manifest-rank-XXXXX-of-YYYYY.json last; a
 * rank whose manifest exists with the same configuration is skipped on rerun.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CurateError, InputError, type SourceCounters, Stats, UsageError } from '@curate/core';
import { expandInputs, type InputFile, type TextSpec, type WrittenShard } from '@curate/shards';
import { ExactDeduper, type ExactRemovals } from './exact.js';
import { type DedupFilesOptions, exactReason, nearReason, resolveFileTexts, writeSplit } from './files.js';
import { stampOf } from './integrity.js';
import { sizeHistogram } from './keep.js';
import {
  bandEdges,
  decideClusters,
  type ResolvedNearOptions,
  resolveNearOptions,
  SignatureStore,
  UnionFind,
} from './near.js';
import { FILE_SCALE, signFiles } from './sign.js';

export type DedupStage = 'signatures' | 'buckets' | 'clusters' | 'remove';
export const DEDUP_STAGES: readonly DedupStage[] = ['signatures', 'buckets', 'clusters', 'remove'];

export interface RankOptions {
  rank?: number;
  worldSize?: number;
}

/**
 * This task's rank and world size: explicit options first, then Slurm job
 * arrays (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT),
 * then Kubernetes indexed jobs (JOB_COMPLETION_INDEX; world size from the
 * option or CURATE_WORLD_SIZE); else rank 0 of 1.
 */
export function resolveRank(
  options: RankOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): {
  rank: number;
  worldSize: number;
} {
  const int = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  let rank = options.rank;
  let worldSize = options.worldSize;
  if (rank === undefined && env.SLURM_ARRAY_TASK_ID !== undefined) {
    rank = (int(env.SLURM_ARRAY_TASK_ID) as number) - (int(env.SLURM_ARRAY_TASK_MIN) ?? 0);
    worldSize ??= int(env.SLURM_ARRAY_TASK_COUNT);
  } else if (rank === undefined && env.JOB_COMPLETION_INDEX !== undefined) {
    rank = int(env.JOB_COMPLETION_INDEX);
    worldSize ??= int(env.CURATE_WORLD_SIZE);
    if (worldSize === undefined) {
      throw new UsageError('JOB_COMPLETION_INDEX is set but the world size is not: pass --world-size', {
        code: 'E_DEDUP_RANK',
      });
    }
  }
  rank ??= 0;
  worldSize ??= rank === 0 ? 1 : undefined;
  if (
    worldSize === undefined ||
    !Number.isInteger(rank) ||
    !Number.isInteger(worldSize) ||
    worldSize < 1 ||
    rank < 0 ||
    rank >= worldSize
  ) {
    throw new UsageError(`bad rank ${rank} / world size ${worldSize}: need 0 <= rank < world size`, {
      code: 'E_DEDUP_RANK',
    });
  }
  return { rank, worldSize };
}

export interface StageOptions extends Omit<DedupFilesOptions, 'out' | 'workers'>, RankOptions {
  /** Directory for intermediate files and manifests, shared by all ranks. */
  workDir: string;
  /** Output directory of the `remove` stage. */
  out?: string;
}

interface StageConfig {
  /** Size and modification time of each input when the signatures stage ran (the remove stage checks both). */
  inputs: { path: string; size: number; mtimeMs?: number }[];
  text: TextSpec;
  idColumn: string;
  kindColumn: string;
  scoreColumn: string | null;
  stripPunctuation: boolean;
  exact: boolean;
  numPerm: number;
  ngram: number;
  shingle: string;
  seed: number;
  algorithm: string;
  near: ResolvedNearOptions;
}

interface Manifest {
  stage: DedupStage;
  rank: number;
  world_size: number;
  config_hash: string;
  config: StageConfig;
  complete: true;
  [extra: string]: unknown;
}

const pad = (n: number) => String(n).padStart(5, '0');
const manifestName = (rank: number, ws: number) => `manifest-rank-${pad(rank)}-of-${pad(ws)}.json`;

function hashConfig(c: StageConfig): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 16);
}

async function configFrom(o: StageOptions): Promise<StageConfig> {
  const files = await expandInputs(o.inputs);
  return {
    inputs: await Promise.all(
      files.map(async (f) => ({ path: f.path, size: f.size, mtimeMs: (await stampOf(f.path)).mtimeMs })),
    ),
    text: o.text ?? 'text',
    idColumn: o.idColumn ?? 'id',
    kindColumn: o.kindColumn ?? 'kind',
    scoreColumn: o.scoreColumn ?? null,
    stripPunctuation: o.stripPunctuation ?? false,
    exact: o.exact ?? true,
    numPerm: o.numPerm ?? 128,
    ngram: o.ngram ?? 5,
    shingle: o.shingle ?? 'word',
    seed: o.seed ?? 1,
    algorithm: o.algorithm ?? 'oph',
    near: resolveNearOptions({ ...o }),
  };
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function readManifest(path: string): Promise<Manifest | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as Manifest);
}

/**
 * All manifests of a finished stage; throws E_DEDUP_STAGE_INCOMPLETE naming
 * the missing ranks (fail closed), or E_DEDUP_STAGE_MISMATCH when ranks ran
 * with different settings.
 */
export async function checkStage(workDir: string, stage: DedupStage): Promise<Manifest[]> {
  const dir = join(workDir, stage);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) =>
    /^manifest-rank-\d+-of-\d+\.json$/.test(n),
  );
  if (names.length === 0) {
    throw new InputError(`stage "${stage}" has not run: no manifest in ${dir}`, {
      code: 'E_DEDUP_STAGE_INCOMPLETE',
      file: dir,
    });
  }
  const sizes = new Set(names.map((n) => Number(/-of-(\d+)\.json$/.exec(n)?.[1])));
  if (sizes.size !== 1) {
    throw new InputError(`stage "${stage}" has manifests for different world sizes (${[...sizes].join(', ')})`, {
      code: 'E_DEDUP_STAGE_MISMATCH',
      file: dir,
    });
  }
  const ws = [...sizes][0];
  const missing: number[] = [];
  const out: Manifest[] = [];
  for (let r = 0; r < ws; r++) {
    const m = await readManifest(join(dir, manifestName(r, ws)));
    if (!m?.complete) missing.push(r);
    else out.push(m);
  }
  if (missing.length) {
    throw new InputError(
      `stage "${stage}" is incomplete: rank(s) ${missing.join(', ')} of ${ws} have no manifest; rerun them`,
      {
        code: 'E_DEDUP_STAGE_INCOMPLETE',
        file: dir,
      },
    );
  }
  const hashes = new Set(out.map((m) => m.config_hash));
  if (hashes.size !== 1) {
    throw new InputError(`stage "${stage}": ranks ran with different settings; rerun the stage`, {
      code: 'E_DEDUP_STAGE_MISMATCH',
      file: dir,
    });
  }
  return out;
}

function docsFile(workDir: string, rank: number): string {
  return join(workDir, 'signatures', `rank-${pad(rank)}.docs.jsonl`);
}

type DocRow = [number, string, string, number, number | null, number];

/** Stage 1: keys, signatures and metadata of this rank's input files. */
async function runSignatures(o: StageOptions, rank: number, ws: number): Promise<Manifest> {
  const config = await configFrom(o);
  const hash = hashConfig(config);
  const dir = join(o.workDir, 'signatures');
  await mkdir(dir, { recursive: true });
  const done = await readManifest(join(dir, manifestName(rank, ws)));
  if (done?.complete && done.config_hash === hash) return done;
  const files: InputFile[] = (await expandInputs(o.inputs)).map((f) => f);
  const mine = files.map((_, i) => i).filter((i) => i % ws === rank);
  const sigChunks: Buffer[] = [];
  const docLines: string[] = [];
  let docs = 0;
  let withSig = 0;
  const k = config.numPerm;
  const fileTexts = resolveFileTexts(o.text, files);
  for await (const s of signFiles(files, mine, { ...o, fileTexts, near: true })) {
    for (let r = 0; r < s.length; r++) {
      const di = s.fileIndex * FILE_SCALE + s.offset + r;
      const score = Number.isNaN(s.scores[r]) ? null : s.scores[r];
      const row: DocRow = [di, s.keys[r], s.ids[r], s.kinds[r], score, s.hasSig[r]];
      docLines.push(JSON.stringify(row));
      if (s.hasSig[r]) {
        const rec = Buffer.alloc(8 + 4 * k);
        rec.writeDoubleLE(di, 0);
        Buffer.from(s.sigs.buffer, s.sigs.byteOffset + r * k * 4, k * 4).copy(rec, 8);
        sigChunks.push(rec);
        withSig++;
      }
    }
    docs += s.length;
  }
  await writeAtomic(join(dir, `rank-${pad(rank)}.sig`), Buffer.concat(sigChunks));
  await writeAtomic(docsFile(o.workDir, rank), docLines.length ? `${docLines.join('\n')}\n` : '');
  const m: Manifest = {
    stage: 'signatures',
    rank,
    world_size: ws,
    config_hash: hash,
    config,
    complete: true,
    files: mine.map((i) => files[i].path),
    documents: docs,
    signatures: withSig,
  };
  await writeAtomic(join(dir, manifestName(rank, ws)), JSON.stringify(m, null, 2));
  return m;
}

interface AllDocs {
  config: StageConfig;
  hash: string;
  docIndex: number[];
  keys: string[];
  ids: string[];
  kinds: number[];
  scores: number[];
  hasSig: number[];
}

async function loadDocs(workDir: string): Promise<AllDocs> {
  const ms = await checkStage(workDir, 'signatures');
  const config = ms[0].config;
  const covered = new Set(ms.flatMap((m) => m.files as string[]));
  const lost = config.inputs.filter((f) => !covered.has(f.path));
  if (lost.length) {
    throw new InputError(`stage "signatures" did not cover ${lost.length} input file(s), e.g. ${lost[0].path}`, {
      code: 'E_DEDUP_STAGE_INCOMPLETE',
      file: join(workDir, 'signatures'),
    });
  }
  const d: AllDocs = {
    config,
    hash: ms[0].config_hash,
    docIndex: [],
    keys: [],
    ids: [],
    kinds: [],
    scores: [],
    hasSig: [],
  };
  for (const m of ms) {
    const text = await readFile(docsFile(workDir, m.rank), 'utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const [di, key, id, kind, score, has] = JSON.parse(line) as DocRow;
      d.docIndex.push(di);
      d.keys.push(key);
      d.ids.push(id);
      d.kinds.push(kind);
      d.scores.push(score ?? Number.NaN);
      d.hasSig.push(has);
    }
  }
  return d;
}

function exactRemovals(d: AllDocs): ExactRemovals {
  const ex = new ExactDeduper({ prefer: d.config.near.prefer });
  for (let i = 0; d.config.exact && i < d.docIndex.length; i++) {
    ex.add(d.docIndex[i], d.keys[i], {
      id: d.ids[i],
      kind: d.kinds[i] === 0 ? 'real' : 'synthetic',
      score: d.scores[i],
    });
  }
  return ex.resolve();
}

/** Stage 2: candidate edges of this rank's bands. */
async function runBuckets(o: { workDir: string }, rank: number, ws: number): Promise<Manifest> {
  const docs = await loadDocs(o.workDir);
  const dir = join(o.workDir, 'buckets');
  await mkdir(dir, { recursive: true });
  const done = await readManifest(join(dir, manifestName(rank, ws)));
  if (done?.complete && done.config_hash === docs.hash) return done;
  const near = docs.config.near;
  const k = near.numPerm;
  const excluded = exactRemovals(docs);
  const sigMs = await checkStage(o.workDir, 'signatures');
  const store = new SignatureStore(k);
  const slotDoc: number[] = [];
  for (const m of sigMs) {
    const buf = await readFile(join(o.workDir, 'signatures', `rank-${pad(m.rank)}.sig`));
    const rec = 8 + 4 * k;
    if (buf.length % rec !== 0) {
      throw new CurateError('signature file is truncated', {
        code: 'E_DEDUP_STAGE_CORRUPT',
        file: `rank-${pad(m.rank)}.sig`,
      });
    }
    const sig = new Int32Array(k);
    for (let off = 0; off < buf.length; off += rec) {
      const di = buf.readDoubleLE(off);
      if (excluded.has(di)) continue;
      for (let j = 0; j < k; j++) sig[j] = buf.readInt32LE(off + 8 + 4 * j);
      store.push(sig);
      slotDoc.push(di);
    }
  }
  const order = Int32Array.from(slotDoc.keys());
  order.sort((a, b) => slotDoc[a] - slotDoc[b]);
  const bands: number[] = [];
  for (let b = rank; b < near.bands; b += ws) bands.push(b);
  const pairs: number[] = [];
  const edges = bandEdges(store, order, near, bands, (a, b) => pairs.push(slotDoc[a], slotDoc[b]));
  const buf = Buffer.alloc(pairs.length * 8);
  for (let i = 0; i < pairs.length; i++) buf.writeDoubleLE(pairs[i], i * 8);
  await writeAtomic(join(dir, `rank-${pad(rank)}.edges`), buf);
  const m: Manifest = {
    stage: 'buckets',
    rank,
    world_size: ws,
    config_hash: docs.hash,
    config: docs.config,
    complete: true,
    bands,
    edges,
  };
  await writeAtomic(join(dir, manifestName(rank, ws)), JSON.stringify(m, null, 2));
  return m;
}

export interface ClustersSummary {
  documents_in: number;
  no_shingles: number;
  exact_removed: number;
  near_removed: number;
  clusters: number;
  cluster_sizes: Record<string, number>;
  edges: number;
}

/** Stage 3 (one task): union-find over all edges, the kept document per cluster, the removal list. */
async function runClusters(o: { workDir: string }): Promise<Manifest> {
  const docs = await loadDocs(o.workDir);
  const bucketMs = await checkStage(o.workDir, 'buckets');
  if (bucketMs[0].config_hash !== docs.hash) {
    throw new InputError('stage "buckets" ran on other signatures; rerun it', {
      code: 'E_DEDUP_STAGE_MISMATCH',
      file: join(o.workDir, 'buckets'),
    });
  }
  const covered = new Set(bucketMs.flatMap((m) => m.bands as number[]));
  if (covered.size !== docs.config.near.bands) {
    throw new InputError('stage "buckets" did not cover every band', {
      code: 'E_DEDUP_STAGE_INCOMPLETE',
      file: join(o.workDir, 'buckets'),
    });
  }
  const dir = join(o.workDir, 'clusters');
  await mkdir(dir, { recursive: true });
  const exact = exactRemovals(docs);
  const pos: number[] = [];
  for (let i = 0; i < docs.docIndex.length; i++) if (docs.hasSig[i] && !exact.has(docs.docIndex[i])) pos.push(i);
  pos.sort((a, b) => docs.docIndex[a] - docs.docIndex[b]);
  const posOf = new Map<number, number>();
  for (let j = 0; j < pos.length; j++) posOf.set(docs.docIndex[pos[j]], j);
  const uf = new UnionFind(pos.length);
  let edges = 0;
  for (const m of bucketMs) {
    const buf = await readFile(join(o.workDir, 'buckets', `rank-${pad(m.rank)}.edges`));
    for (let off = 0; off < buf.length; off += 16) {
      const a = posOf.get(buf.readDoubleLE(off));
      const b = posOf.get(buf.readDoubleLE(off + 8));
      if (a === undefined || b === undefined) {
        throw new CurateError('edge names a document without a signature', { code: 'E_DEDUP_STAGE_CORRUPT' });
      }
      uf.union(a, b);
      edges++;
    }
  }
  const d = decideClusters(
    uf,
    {
      n: pos.length,
      docIndex: (j) => docs.docIndex[pos[j]],
      kind: (j) => docs.kinds[pos[j]],
      score: (j) => docs.scores[pos[j]],
      id: (j) => docs.ids[pos[j]],
    },
    docs.config.near.prefer,
  );
  const lines: string[] = [];
  for (const [di, r] of exact) lines.push(JSON.stringify({ i: di, r: exactReason(r.keptId) }));
  for (const [di, r] of d.removed) lines.push(JSON.stringify({ i: di, r: nearReason(r.cluster, r.keptId) }));
  await writeAtomic(join(dir, 'removed.jsonl'), lines.length ? `${lines.join('\n')}\n` : '');
  const summary: ClustersSummary = {
    documents_in: docs.docIndex.length,
    no_shingles: docs.hasSig.filter((h) => !h).length,
    exact_removed: exact.size,
    near_removed: d.removed.size,
    clusters: d.clusters,
    cluster_sizes: sizeHistogram(d.sizes),
    edges,
  };
  await writeAtomic(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  const m: Manifest = {
    stage: 'clusters',
    rank: 0,
    world_size: 1,
    config_hash: docs.hash,
    config: docs.config,
    complete: true,
    summary,
  };
  await writeAtomic(join(dir, manifestName(0, 1)), JSON.stringify(m, null, 2));
  return m;
}

/** Stage 4: stream this rank's input files and write kept and rejected rows. */
async function runRemove(o: StageOptions, rank: number, ws: number): Promise<Manifest> {
  if (!o.out) throw new UsageError('the remove stage needs an output directory (--out)', { code: 'E_USAGE' });
  const [cm] = await checkStage(o.workDir, 'clusters');
  const config = cm.config;
  const files: InputFile[] = [];
  const unchanged = async (f: StageConfig['inputs'][number]) => {
    const st = await stat(f.path).catch(() => undefined);
    if (!st || st.size !== f.size || (f.mtimeMs !== undefined && st.mtimeMs !== f.mtimeMs)) {
      const what = !st
        ? 'it vanished'
        : st.size !== f.size
          ? `size ${f.size} -> ${st.size} bytes`
          : `modified at ${new Date(st.mtimeMs).toISOString()}`;
      throw new InputError(`input file changed since the signatures stage: ${what}`, {
        code: 'E_DEDUP_INPUT_CHANGED',
        file: f.path,
      });
    }
  };
  for (const f of config.inputs) await unchanged(f);
  files.push(...(await expandInputs(config.inputs.map((f) => f.path))));
  const removed = new Map<number, string>();
  const text = await readFile(join(o.workDir, 'clusters', 'removed.jsonl'), 'utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { i, r } = JSON.parse(line) as { i: number; r: string };
    removed.set(i, r);
  }
  const dir = join(o.workDir, 'remove');
  await mkdir(dir, { recursive: true });
  await mkdir(o.out, { recursive: true });
  const mine = files.map((_, i) => i).filter((i) => i % ws === rank);
  const stats = new Stats();
  const outputs = await writeSplit(
    files,
    mine,
    { ...o, out: o.out, dir: o.out, prefix: `rank-${pad(rank)}` },
    (di) => removed.get(di),
    stats,
  );
  // and after reading them: a file rewritten while this stage read it leaves no shard behind
  try {
    for (const i of mine) await unchanged(config.inputs[i]);
  } catch (e) {
    await Promise.all([...outputs.kept, ...outputs.rejected].map((s) => rm(s.path, { force: true })));
    throw e;
  }
  const m: Manifest = {
    stage: 'remove',
    rank,
    world_size: ws,
    config_hash: cm.config_hash,
    config,
    complete: true,
    outputs,
    sources: stats.toJSON(),
  };
  await writeAtomic(join(dir, manifestName(rank, ws)), JSON.stringify(m, null, 2));
  return m;
}

export interface StageResult {
  stage: DedupStage;
  rank: number;
  worldSize: number;
  manifest: string;
  /** remove: written shards; clusters: summary. */
  outputs?: { kept: WrittenShard[]; rejected: WrittenShard[] };
  sources?: Record<string, SourceCounters>;
  summary?: ClustersSummary;
}

/** Run one stage for one rank (rank and world size from options or the environment, see `resolveRank`). */
export async function runDedupStage(stage: DedupStage, options: StageOptions): Promise<StageResult> {
  if (!DEDUP_STAGES.includes(stage)) {
    throw new UsageError(`unknown dedup stage "${stage}" (expected ${DEDUP_STAGES.join(', ')})`, { code: 'E_USAGE' });
  }
  const { rank, worldSize } = stage === 'clusters' ? { rank: 0, worldSize: 1 } : resolveRank(options);
  await mkdir(options.workDir, { recursive: true });
  let m: Manifest;
  if (stage === 'signatures') m = await runSignatures(options, rank, worldSize);
  else if (stage === 'buckets') m = await runBuckets(options, rank, worldSize);
  else if (stage === 'clusters') m = await runClusters(options);
  else m = await runRemove(options, rank, worldSize);
  return {
    stage,
    rank,
    worldSize,
    manifest: join(options.workDir, stage, manifestName(rank, worldSize)),
    outputs: m.outputs as StageResult['outputs'],
    sources: m.sources as StageResult['sources'],
    summary: m.summary as ClustersSummary | undefined,
  };
}
