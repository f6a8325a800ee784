/**
 * The staged mix's work directory: what stages persist between runs (attribute shards per input,
 * a run's intermediate state), with completion markers written last, a lock, and a format version.
 *
 *   WORK/curate-work.json            {format, tool}: refused when written by another format
 *   WORK/lock                        {pid, host, started}: one run at a time (a dead owner's is taken over)
 *   WORK/attributes/<input>/         per input file: <group>.<key>.parquet + <group>.<key>.json (marker)
 *   WORK/tmp/                        scratch (exact dedup's spill past its memory budget): never reused,
 *                                    never mirrored, cleared when a run takes the lock
 *
 * A marker names its files with their size and sha256; a unit is complete when its marker exists and
 * every file matches it. Anything else (missing, truncated, another key) is recomputed.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CurateError, InputError } from '@curate/core';

/** The work dir's scratch folder (`scratch()`), skipped by the s3:// mirror. */
export const SCRATCH = 'tmp';

/** The work directory layout's version: markers of another version are never reused. */
export const WORK_FORMAT = 1;

export interface WorkLock {
  pid: number;
  host: string;
  started: string;
}

export class WorkDir {
  private locked = false;
  private constructor(
    readonly dir: string,
    readonly tool: string,
    /** This run created the directory (it is removed again when the run stored nothing in it). */
    private readonly created: boolean,
  ) {}

  /**
   * Open (create) and lock `dir`. `shared`: the ranks of a staged run (stages/ranks.ts) open it
   * together without the lock; each writes only its own units, under names no other rank uses.
   */
  static async open(dir: string, tool: string, options: { shared?: boolean } = {}): Promise<WorkDir> {
    const abs = resolve(dir);
    const st = await stat(abs).catch(() => null);
    if (st && !st.isDirectory()) {
      throw new InputError(`work dir ${abs} is a file, not a directory (pass another --work)`, {
        code: 'E_WORK_IS_FILE',
        file: abs,
      });
    }
    await mkdirChecked(abs);
    const w = new WorkDir(abs, tool, st === null);
    await w.checkFormat();
    if (!options.shared) {
      await w.lock();
      // a killed run's scratch (the lock is ours: no live run uses it)
      await rm(w.path(SCRATCH), { recursive: true, force: true });
    }
    return w;
  }

  /**
   * A folder for scratch files of this run (created on first use): on the work dir's file system,
   * which holds the corpus's attributes, rather than the OS temp folder (often a small tmpfs).
   */
  async scratch(): Promise<string> {
    const p = this.path(SCRATCH);
    await mkdir(p, { recursive: true });
    return p;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private async checkFormat(): Promise<void> {
    const p = this.path('curate-work.json');
    const text = await readFile(p, 'utf8').catch(() => null);
    if (text !== null) {
      let info: { format?: unknown; tool?: unknown } = {};
      try {
        info = JSON.parse(text);
      } catch {
        // unreadable: rewritten below (markers carry their own version)
      }
      if (info.format !== undefined && info.format !== WORK_FORMAT) {
        throw new InputError(
          `work dir ${this.dir} was written by curate ${String(info.tool)} (work format ${String(info.format)}); this curate ${this.tool} uses format ${WORK_FORMAT}: pass another --work or delete it`,
          { code: 'E_WORK_VERSION', file: this.dir },
        );
      }
      if (info.format === WORK_FORMAT) return;
    }
    await writeAtomic(p, `${JSON.stringify({ format: WORK_FORMAT, tool: this.tool }, null, 2)}\n`);
  }

  /** Take the lock, or fail naming its owner; a lock whose process is gone (same host) is taken over. */
  private async lock(): Promise<void> {
    const p = this.path('lock');
    const me: WorkLock = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const h = await open(p, 'wx');
        await h.writeFile(`${JSON.stringify(me)}\n`);
        await h.close();
        this.locked = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let owner: WorkLock | null = null;
      try {
        owner = JSON.parse(await readFile(p, 'utf8'));
      } catch {
        owner = null; // being written, or garbage: retried, then taken over
      }
      if (owner && owner.host === me.host && owner.pid !== me.pid && alive(owner.pid)) {
        throw new InputError(
          `work dir ${this.dir} is in use by another curate run (pid ${owner.pid}, since ${owner.started}): wait for it, or pass another --work`,
          { code: 'E_WORK_LOCKED', file: this.dir },
        );
      }
      if (owner && owner.host !== me.host) {
        throw new InputError(
          `work dir ${this.dir} is locked by a curate run on host ${owner.host} (pid ${owner.pid}, since ${owner.started}); if that run is gone, delete ${p}`,
          { code: 'E_WORK_LOCKED', file: this.dir },
        );
      }
      // a dead run's lock (or an unreadable one after a short wait): take it over
      if (!owner) await new Promise((r) => setTimeout(r, 50));
      await rm(p, { force: true });
    }
    throw new CurateError(`could not lock work dir ${this.dir}`, { code: 'E_WORK_LOCKED' });
  }

  /** Unlock; a work dir this run created and stored nothing in (it failed early) is removed. */
  async release(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await rm(this.path('lock'), { force: true });
    if (this.created) {
      const left = await readdir(this.dir).catch(() => ['?']);
      if (left.every((f) => f === 'curate-work.json')) await rm(this.dir, { recursive: true, force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function mkdirChecked(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new InputError(`cannot create work dir ${dir}: a path component is a file`, {
        code: 'E_WORK_IS_FILE',
        file: dir,
      });
    }
    throw e;
  }
}

/** Write through a temporary name and a rename (a reader sees the old file or the whole new one). */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${hostname()}-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw diskError(e, path);
  }
}

/** ENOSPC/EDQUOT as a one-line error naming the path. */
export function diskError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CurateError(`no space left on the device writing ${path}`, { code: 'E_DISK_FULL' });
  }
  return e;
}

/** A stable short key of a JSON-able config. */
export function configKey(config: unknown): string {
  return createHash('sha256').update(stableJson(config)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted (so equal configs give equal keys). */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}
