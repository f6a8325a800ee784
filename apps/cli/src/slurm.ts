/**
 * `curate mix recipe.yaml --slurm` and `curate status DIR`: the staged mix as Slurm arrays (scan,
 * dedup, write), chained with `--dependency=afterok`. curate writes the sbatch scripts into the
 * work dir, submits them and returns; Slurm schedules.
 *
 * The write ranks do the scatter units too, and take the units of write ranks that are not running
 * (stages/claims.ts in @curate/pipeline): where fewer CPUs are free than there are ranks, the ranks
 * that run do the work of those still queued, which find nothing left (measured on 2 CPUs: a
 * scatter array of its own cost ~2 s waiting for its dispatch, and its third rank ~2 s more).
 *
 * The one-rank stages (plan, finalize) get no array of their own: the dedup and write ranks run
 * with `--then`, so the last dedup rank to finish, and the write rank that finds every write unit
 * done, runs plan or finalize in its own allocation (measured: a stage's own array cost ~2 s of
 * waiting for the allocation plus a process start, on each of the two). Only when the stage before
 * is done and they are not (their run failed or was killed) are they submitted alone.
 *
 * A rerun submits only the ranks that are neither done (a verified rank marker) nor still queued
 * or running (`squeue`), so a cancelled or failed rank is redone and nothing else. Arrays longer
 * than `MaxArraySize` are split.
 *
 *   WORK/slurm/<run>/<stage>.sbatch      the script of a stage (its argument: the rank offset)
 *   WORK/slurm/<run>/jobs.json           every submission: stage, world size, job id, offset, ranks
 *   WORK/slurm/<run>/logs/<stage>-r<i>.log   each rank's output (appended per attempt)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CurateError, UsageError } from '@curate/core';
import {
  RANK_STAGES,
  type RankMarker,
  type RankStageName,
  ranksDir,
  readRankMarkers,
  SINGLE_RANK_STAGES,
  THEN_STAGE,
} from '@curate/pipeline';

export interface SlurmOptions {
  /** Ranks per parallel stage (the write ranks do the scatter units too). */
  ranks: { scan: number; dedup: number; write: number };
  partition?: string;
  time?: string;
  cpus?: number;
  mem?: string;
  /** Extra `#SBATCH` lines (without the prefix), e.g. `--account=abc`. */
  extra: string[];
  /** Options passed through to every rank's `curate mix`. */
  passThrough: string[];
}

export interface Submission {
  stage: RankStageName;
  world_size: number;
  job_id: string;
  offset: number;
  ranks: number[];
  submitted_at: string;
}

export interface StageState {
  stage: RankStageName;
  worldSize: number;
  done: number[];
  running: number[];
  pending: number[];
  /** Failed ranks: their marker's line, or why no marker is there. */
  failed: { rank: number; line: string; log: string | null }[];
  /** Neither done, nor queued, nor failed: not run yet. */
  todo: number[];
}

const CLI_BIN = fileURLToPath(new URL('../bin/curate.js', import.meta.url));

export function worldSizeOf(stage: RankStageName, ranks: SlurmOptions['ranks']): number {
  if (SINGLE_RANK_STAGES.includes(stage)) return 1;
  if (stage === 'scan') return ranks.scan;
  if (stage === 'dedup') return ranks.dedup;
  return ranks.write;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT') {
      throw new CurateError(`${cmd} not found: --slurm needs Slurm's commands on this machine's PATH`, {
        code: 'E_SLURM',
      });
    }
    const line = (err.stderr || err.message).trim().split('\n')[0];
    throw new CurateError(`${cmd} ${args.join(' ')} failed: ${line}`, { code: 'E_SLURM' });
  }
}

/** `MaxArraySize` from `scontrol show config` (Slurm's default 1001 when it cannot be read). */
export function maxArraySize(): number {
  try {
    const m = /^MaxArraySize\s*=\s*(\d+)/m.exec(sh('scontrol', ['show', 'config']));
    return m ? Number(m[1]) : 1001;
  } catch {
    return 1001;
  }
}

/** Queued and running array tasks of the given jobs: `jobid_task` -> state (`RUNNING`, `PENDING`, ...). */
export function queued(jobIds: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!jobIds.length) return out;
  let text = '';
  try {
    text = execFileSync('squeue', ['-h', '-r', '-o', '%i %T', '-j', [...new Set(jobIds)].join(',')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    // no squeue, or every job id is gone (squeue fails on unknown ids): nothing queued
    return out;
  }
  for (const line of text.split('\n')) {
    const [id, state] = line.trim().split(/\s+/);
    if (id && state) out.set(id, state);
  }
  return out;
}

/**
 * How finished array tasks ended, from `sacct` (`jobid_task` -> `CANCELLED by 0`, `TIMEOUT`,
 * `OUT_OF_MEMORY`, ...); empty where accounting is off (then the markers and the queue tell).
 */
export function accounted(jobIds: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!jobIds.length) return out;
  let text = '';
  try {
    text = execFileSync('sacct', ['-n', '-P', '-X', '-o', 'JobID,State', '-j', [...new Set(jobIds)].join(',')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    return out; // no sacct, or "Slurm accounting storage is disabled"
  }
  for (const line of text.split('\n')) {
    const [id, state] = line.trim().split('|');
    if (id && state) out.set(id, state);
  }
  return out;
}

function readJobs(dir: string): Submission[] {
  try {
    return JSON.parse(readFileSync(join(dir, 'jobs.json'), 'utf8')) as Submission[];
  } catch {
    return [];
  }
}

/** Each stage's ranks: done (markers), running/pending (squeue), failed (markers, or gone from the queue). */
export async function stageStates(
  work: string,
  run: string,
  worldSizes: Partial<Record<RankStageName, number>>,
): Promise<StageState[]> {
  const jobs = readJobs(join(work, 'slurm', run));
  const q = queued(jobs.map((j) => j.job_id));
  let acct: Map<string, string> | null = null; // asked only when a rank left the queue without a marker
  const out: StageState[] = [];
  for (const stage of RANK_STAGES) {
    const markers = await readRankMarkers(ranksDir(work, run, stage));
    const n = worldSizes[stage] ?? Math.max(0, ...markers.map((m) => m.world_size));
    if (!n) continue;
    const st: StageState = { stage, worldSize: n, done: [], running: [], pending: [], failed: [], todo: [] };
    const byRank = new Map<number, RankMarker>();
    for (const m of markers) if (m.world_size === n) byRank.set(m.rank, m);
    for (let rank = 0; rank < n; rank++) {
      // the latest submission of this rank, and its state in the queue
      const sub = [...jobs].reverse().find((j) => j.stage === stage && j.world_size === n && j.ranks.includes(rank));
      const state = sub ? q.get(`${sub.job_id}_${rank - sub.offset}`) : undefined;
      const m = byRank.get(rank);
      if (state === 'RUNNING' || state === 'COMPLETING' || state === 'CONFIGURING') st.running.push(rank);
      else if (state) st.pending.push(rank);
      else if (m?.status === 'done') st.done.push(rank);
      else if (m?.status === 'failed') st.failed.push({ rank, line: m.error?.line ?? 'failed', log: m.log });
      else if (sub) {
        const task = `${sub.job_id}_${rank - sub.offset}`;
        acct ??= accounted(jobs.map((j) => j.job_id));
        const how = acct.get(task);
        st.failed.push({
          rank,
          line: `job ${task} left the queue without a completion marker (${how ? `sacct: ${how}` : 'cancelled, timed out or killed'})`,
          log: logPath(join(work, 'slurm', run), stage, rank),
        });
      } else st.todo.push(rank);
    }
    out.push(st);
  }
  return out;
}

const logPath = (dir: string, stage: string, rank: number) => join(dir, 'logs', `${stage}-r${rank}.log`);

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The sbatch script of a stage: the rank is the array index plus the offset given as its argument. */
export function sbatchScript(
  stage: RankStageName,
  worldSize: number,
  o: { recipe: string; work: string; dir: string; options: SlurmOptions },
): string {
  const lines = ['#!/bin/bash', `#SBATCH --job-name=curate-${stage}`];
  lines.push(`#SBATCH --output=${join(o.dir, 'logs', `slurm-${stage}-%A_%a.out`)}`);
  if (o.options.partition) lines.push(`#SBATCH --partition=${o.options.partition}`);
  if (o.options.time) lines.push(`#SBATCH --time=${o.options.time}`);
  if (o.options.cpus) lines.push(`#SBATCH --cpus-per-task=${o.options.cpus}`);
  if (o.options.mem) lines.push(`#SBATCH --mem=${o.options.mem}`);
  for (const x of o.options.extra) lines.push(`#SBATCH ${x.replace(/^#SBATCH\s+/, '')}`);
  const cmd = [
    process.execPath,
    CLI_BIN,
    'mix',
    o.recipe,
    '--stage',
    stage,
    '--rank',
    '"$RANK"',
    '--world-size',
    String(worldSize),
    '--work',
    o.work,
    '--no-progress',
    ...(THEN_STAGE[stage] ? ['--then'] : []),
    ...(o.options.cpus ? ['--workers', String(o.options.cpus)] : []),
    ...o.options.passThrough,
  ].map((x) => (x === '"$RANK"' ? x : quote(x)));
  lines.push(
    'set -euo pipefail',
    `# the rank: this array task's index plus the offset of its array (arrays longer than MaxArraySize are split)`,
    'OFFSET="$1"',
    'RANK=$(( SLURM_ARRAY_TASK_ID + OFFSET ))',
    `export CURATE_LOG=${quote(join(o.dir, 'logs'))}/${stage}-r$RANK.log`,
    'exec >>"$CURATE_LOG" 2>&1',
    `echo "== $(date -u +%FT%T.%3NZ) $(hostname) job $SLURM_ARRAY_JOB_ID"_"$SLURM_ARRAY_TASK_ID: stage ${stage} rank $RANK of ${worldSize}"`,
    `exec ${cmd.join(' ')}`,
    '',
  );
  return lines.join('\n');
}

/** `1,3,5-9` from sorted indexes. */
export function arraySpec(indexes: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indexes.length; ) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j] + 1) j++;
    parts.push(j > i ? `${indexes[i]}-${indexes[j]}` : String(indexes[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/** Ranks into arrays whose indexes stay below `max`: [offset, indexes]. */
export function splitArrays(ranks: number[], max: number): [number, number[]][] {
  const chunks = new Map<number, number[]>();
  for (const r of ranks) {
    const off = Math.floor(r / max) * max;
    chunks.set(off, [...(chunks.get(off) ?? []), r - off]);
  }
  return [...chunks].sort((a, b) => a[0] - b[0]);
}

export interface SubmitResult {
  run: string;
  dir: string;
  submitted: Submission[];
  /** One-rank stages left to the last rank of the stage before them (`--then`): no job of their own. */
  folded: RankStageName[];
  states: StageState[];
}

/** Write the scripts and submit every stage's incomplete ranks, chained with afterok. */
export async function submit(
  recipeFile: string,
  work: string,
  run: string,
  options: SlurmOptions,
): Promise<SubmitResult> {
  const dir = join(work, 'slurm', run);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const sizes = Object.fromEntries(RANK_STAGES.map((s) => [s, worldSizeOf(s, options.ranks)])) as Record<
    RankStageName,
    number
  >;
  for (const [stage, n] of Object.entries(sizes)) {
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${stage}-ranks must be >= 1, got ${n}`);
  }
  const states = await stageStates(work, run, sizes);
  const max = maxArraySize();
  const jobs = readJobs(dir);
  const submitted: Submission[] = [];
  const folded: RankStageName[] = [];
  let deps: string[] = [];
  // the stage before has ranks submitted now or still queued (they run with --then)
  let beforeActive = false;
  for (const st of states) {
    // the write ranks do the scatter units (they take the units of ranks not running): no array of its own
    if (st.stage === 'scatter') continue;
    if (SINGLE_RANK_STAGES.includes(st.stage) && beforeActive && st.done.length === 0) {
      // run by the last rank of the stage before (--then): the next stage's dependency stays on it
      folded.push(st.stage);
      beforeActive = false;
      continue;
    }
    const script = join(dir, `${st.stage}.sbatch`);
    writeFileSync(script, sbatchScript(st.stage, st.worldSize, { recipe: resolve(recipeFile), work, dir, options }), {
      mode: 0o755,
    });
    const todo = [...st.todo, ...st.failed.map((f) => f.rank)].sort((a, b) => a - b);
    // this stage's ranks still in the queue: the next stage waits for them too
    const waiting: string[] = [];
    for (const rank of [...st.running, ...st.pending]) {
      const sub = [...jobs]
        .reverse()
        .find((j) => j.stage === st.stage && j.world_size === st.worldSize && j.ranks.includes(rank));
      if (sub) waiting.push(`${sub.job_id}_${rank - sub.offset}`);
    }
    const ids: string[] = [];
    for (const [offset, idx] of splitArrays(todo, max)) {
      const args = ['--parsable', `--array=${arraySpec(idx)}`, '--kill-on-invalid-dep=yes'];
      if (deps.length) args.push(`--dependency=afterok:${deps.join(':')}`);
      args.push(script, String(offset));
      const id = sh('sbatch', args).trim().split(';')[0];
      ids.push(id);
      const s: Submission = {
        stage: st.stage,
        world_size: st.worldSize,
        job_id: id,
        offset,
        ranks: idx.map((i) => i + offset),
        submitted_at: new Date().toISOString(),
      };
      submitted.push(s);
      jobs.push(s);
      writeFileSync(join(dir, 'jobs.json'), `${JSON.stringify(jobs, null, 2)}\n`);
    }
    deps = [...ids, ...waiting];
    beforeActive = deps.length > 0;
  }
  return { run, dir, submitted, folded, states };
}

/** The staged runs under a work dir (`WORK/ranks/<run>`, `WORK/slurm/<run>`), newest submission first. */
export async function runsOf(work: string): Promise<string[]> {
  const a = await readdir(join(work, 'ranks')).catch(() => [] as string[]);
  const b = await readdir(join(work, 'slurm')).catch(() => [] as string[]);
  return [...new Set([...a, ...b])].sort();
}

/** World sizes a run was submitted with (the latest submission per stage), for `curate status`. */
export function submittedSizes(work: string, run: string): Partial<Record<RankStageName, number>> {
  const out: Partial<Record<RankStageName, number>> = {};
  for (const j of readJobs(join(work, 'slurm', run))) out[j.stage] = j.world_size;
  return out;
}
