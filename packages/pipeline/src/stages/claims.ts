/**
 * Claims of the write stage's units among the ranks of one staged run (issue 13): a write rank does
 * the units it owns, then takes the units of ranks that are not running (not started yet, finished,
 * or dead), so a scheduler that runs fewer ranks at once than there are (a Slurm array larger than
 * its free CPUs, a Kubernetes Indexed Job with lower parallelism) does not wait for a late rank's
 * dispatch to finish the stage. A unit is computed by the one process that creates its claim file
 * (exclusive create); a claim whose holder is dead is taken over. A running rank's own units are
 * never taken from it: a rank cancelled mid-run leaves its units for its rerun.
 *
 *   WORK/write/<key>/claims/<step>-<unit>.claim      who computes the unit (rank, host, pid, job)
 *   WORK/ranks/<run>/write/r<k>-of-<n>.started.json  rank k of n started (host, pid, job): written
 *                                                    first thing, so a rank dispatched with others is
 *                                                    running to them before any of them takes a unit
 *
 * Liveness: a holder on this host is alive while its pid is; under Slurm a holder's array task must
 * also be in the queue (RUNNING, COMPLETING, ...). A holder on another host outside Slurm counts as
 * alive: its rerun (the same rank) clears the claims it left.
 */
import { execFileSync } from 'node:child_process';
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { jobOf } from './ranks.js';

export interface ClaimHolder {
  rank: number;
  world_size: number;
  host: string;
  pid: number;
  job: string | null;
}

const LIVE_STATES = new Set(['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STAGE_OUT', 'RESIZING']);

export class UnitClaims {
  private readonly me: ClaimHolder;
  /** squeue answers per job, for a second (a waiting rank polls). */
  private readonly queueCache: QueueCache = new Map();

  private constructor(
    /** The claims (the unit store's `claims/`). */
    readonly dir: string,
    /** The started files (the stage's rank markers folder). */
    private readonly startedDir: string,
    rank: number,
    worldSize: number,
  ) {
    this.me = { rank, world_size: worldSize, host: hostname(), pid: process.pid, job: jobOf().job };
  }

  /** Rank `rank` of `worldSize` has started (this process): first thing a write rank does. */
  static async register(startedDir: string, rank: number, worldSize: number): Promise<void> {
    await mkdir(startedDir, { recursive: true });
    const me: ClaimHolder = { rank, world_size: worldSize, host: hostname(), pid: process.pid, job: jobOf().job };
    await writeFile(join(startedDir, startedName(rank, worldSize)), `${JSON.stringify(me)}\n`);
  }

  /**
   * Rank `rank` of `worldSize` takes units: the claims an earlier attempt of it left are cleared (only
   * one attempt of a rank runs at a time: a scheduler reruns a rank once it ended), and it is
   * registered as started (again: `register` came first).
   */
  static async start(dir: string, startedDir: string, rank: number, worldSize: number): Promise<UnitClaims> {
    await mkdir(dir, { recursive: true });
    const c = new UnitClaims(dir, startedDir, rank, worldSize);
    for (const f of await readdir(dir)) {
      if (!f.endsWith('.claim')) continue;
      const h = await c.read(join(dir, f));
      if (h && h.rank === rank && h.world_size === worldSize) await rm(join(dir, f), { force: true });
    }
    await UnitClaims.register(startedDir, rank, worldSize);
    return c;
  }

  get rank(): number {
    return this.me.rank;
  }

  private claimPath(key: string): string {
    return join(this.dir, `${key}.claim`);
  }

  private async read(path: string): Promise<ClaimHolder | null> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as ClaimHolder;
    } catch {
      return null; // gone, or being written
    }
  }

  /** Is the process that wrote `h` still running? */
  alive(h: ClaimHolder): boolean {
    return holderAlive(h, this.queueCache);
  }

  /** Is rank `rank` (of this world size) running now? Not started, ended or dead: false. */
  async running(rank: number): Promise<boolean> {
    if (rank === this.me.rank) return true;
    const h = await this.read(join(this.startedDir, startedName(rank, this.me.world_size)));
    return h !== null && this.alive(h);
  }

  /** Who holds a unit's claim (null: nobody). */
  holder(key: string): Promise<ClaimHolder | null> {
    return this.read(this.claimPath(key));
  }

  /**
   * Claim a unit: true when this process now holds it (it computes the unit), false when a live
   * process does. A dead holder's claim is taken over (renamed away first, so one taker wins).
   */
  async claim(key: string): Promise<boolean> {
    const path = this.claimPath(key);
    for (;;) {
      try {
        await writeFile(path, `${JSON.stringify(this.me)}\n`, { flag: 'wx' });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const h = await this.read(path);
      if (h === null) continue; // removed meanwhile (or half written): try again
      if (h.host === this.me.host && h.pid === this.me.pid) return true;
      if (this.alive(h)) return false;
      const away = `${path}.dead-${this.me.host}-${this.me.pid}`;
      try {
        await rename(path, away);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        continue; // another rank took it over first
      }
      const moved = await this.read(away);
      if (!moved || moved.host !== h.host || moved.pid !== h.pid) {
        // another rank took it over between the read and the rename: its live claim goes back
        await link(away, path).catch(() => {});
      }
      await rm(away, { force: true });
    }
  }
}

const startedName = (rank: number, worldSize: number) => `r${rank}-of-${worldSize}.started.json`;

type QueueCache = Map<string, { at: number; live: boolean }>;

/**
 * Is the process that wrote a claim still running? This process: yes. Another one on this host:
 * while its pid is. Under Slurm (this process runs in a job), a holder with a job: while its array
 * task is in the queue. Otherwise (another host, no Slurm): it cannot be checked, so it counts as
 * alive. A claim without a host (an older format) counts as dead.
 */
export function holderAlive(
  h: { host?: string; pid?: number; job?: string | null },
  cache: QueueCache = new Map(),
): boolean {
  if (typeof h.host !== 'string' || typeof h.pid !== 'number') return false;
  const host = hostname();
  if (h.host === host && h.pid === process.pid) return true;
  if (h.host === host) {
    try {
      process.kill(h.pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
    }
  }
  if (process.env.SLURM_JOB_ID && h.job) return inQueue(h.job, cache);
  return true;
}

function inQueue(job: string, cache: QueueCache): boolean {
  const hit = cache.get(job);
  if (hit && performance.now() - hit.at < 1000) return hit.live;
  let live = true; // squeue not answering: do not take work from a rank that may be running
  try {
    const out = execFileSync('squeue', ['-h', '-j', job, '-o', '%T'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    live = out.split('\n').some((s) => LIVE_STATES.has(s.trim()));
  } catch (e) {
    // squeue exits non-zero for a job id it no longer knows: the task ended
    if ((e as { status?: number }).status) live = false;
  }
  cache.set(job, { at: performance.now(), live });
  return live;
}
