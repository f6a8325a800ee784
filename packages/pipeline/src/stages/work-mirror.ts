/**
 * A work dir on an object store (`--work s3://bucket/prefix`), as a local cache mirrored to the prefix.
 * The stages keep using a local WorkDir (its files, markers and checks unchanged) on `cacheDir`;
 * this module only moves files:
 * - open(): takes the lock object `PREFIX/lock` with a conditional put (If-None-Match: *), so one run
 *   at a time uses the prefix from any machine, then pull()s;
 * - pull(): downloads every object that the cache does not hold in the same version (ETag), so a run
 *   on a fresh machine reuses the attributes and dedup verdicts of earlier runs (the WorkDir markers
 *   then verify every file as they do for a local work dir: a bad download is recomputed, not trusted);
 * - push(): after a stage, uploads the files that changed since the last pull or push, data files
 *   first and `.json` files (the completion markers) last, and removes objects whose local file is gone
 *   (markers first), so the prefix never holds a marker without its data;
 * - release(): removes the lock.
 * The cache directory is `CURATE_TMPDIR` (or the system's temp dir) + `curate-work-<hash of the URL>`,
 * so reruns on the same machine download nothing; `.mirror.json` in it records what was mirrored.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CurateError } from '@curate/core';
import { joinRemote, storageFor } from '@curate/shards';
import { SCRATCH } from './workdir.js';

const INDEX = '.mirror.json';
const LOCK = 'lock';

/** What was mirrored per relative name: the local file's size and mtime, and the object's ETag. */
type Index = Record<string, { size: number; mtimeMs: number; etag?: string }>;

interface LockBody {
  pid: number;
  host: string;
  started: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Files below `dir`, relative with '/' separators, sorted; the index, temporaries and scratch skipped. */
async function localFiles(dir: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(join(dir, sub), { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (rel !== SCRATCH) out.push(...(await localFiles(dir, rel)));
    } else if (e.isFile() && rel !== INDEX && rel !== LOCK && !e.name.includes('.mirror-tmp')) out.push(rel);
  }
  return out.sort();
}

const isMarker = (rel: string) => rel.endsWith('.json');

export interface MirrorCounts {
  files: number;
  bytes: number;
  removed: number;
}

export class WorkMirror {
  private locked = false;

  private constructor(
    /** The prefix (`s3://bucket/prefix`, no trailing slash). */
    readonly url: string,
    /** The local directory the stages use as their work dir. */
    readonly cacheDir: string,
    private index: Index,
  ) {}

  /** The default cache directory of a work dir URL. */
  static cacheDirOf(url: string): string {
    const base = process.env.CURATE_TMPDIR || tmpdir();
    return join(base, `curate-work-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
  }

  /** Lock the prefix and pull it into the cache. */
  static async open(url: string, options: { cacheDir?: string } = {}): Promise<WorkMirror> {
    const prefix = url.replace(/\/+$/, '');
    const cacheDir = options.cacheDir ?? WorkMirror.cacheDirOf(prefix);
    await mkdir(cacheDir, { recursive: true });
    const index = JSON.parse(await readFile(join(cacheDir, INDEX), 'utf8').catch(() => '{}')) as Index;
    const m = new WorkMirror(prefix, cacheDir, index);
    await m.lock();
    try {
      await m.pull();
    } catch (e) {
      await m.release().catch(() => {});
      throw e;
    }
    return m;
  }

  private get lockUrl(): string {
    return joinRemote(this.url, LOCK);
  }

  private async lock(): Promise<void> {
    const store = storageFor(this.url);
    const body: LockBody = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await store.writeFileIfAbsent(this.lockUrl, `${JSON.stringify(body)}\n`)) {
        this.locked = true;
        return;
      }
      const info = await store.stat(this.lockUrl);
      let owner: Partial<LockBody> = {};
      try {
        owner = JSON.parse(new TextDecoder().decode(await store.read(this.lockUrl, 0, info?.size ?? 0)));
      } catch {}
      // a dead run's lock on this host is taken over; another host's run cannot be checked from here
      if (attempt === 0 && owner.host === body.host && typeof owner.pid === 'number' && !alive(owner.pid)) {
        await store.remove(this.lockUrl);
        continue;
      }
      throw new CurateError(
        `work dir ${this.url} is locked by a curate run on host ${owner.host ?? '?'} (pid ${owner.pid ?? '?'}, since ${owner.started ?? '?'}); if that run is gone, delete ${this.lockUrl}`,
        { code: 'E_WORK_LOCKED', file: this.url },
      );
    }
  }

  private async saveIndex(): Promise<void> {
    const tmp = join(this.cacheDir, `${INDEX}.mirror-tmp`);
    await writeFile(tmp, `${JSON.stringify(this.index)}\n`);
    await rename(tmp, join(this.cacheDir, INDEX));
  }

  /** Download the objects the cache lacks or holds in another version. */
  async pull(): Promise<MirrorCounts> {
    const store = storageFor(this.url);
    const counts: MirrorCounts = { files: 0, bytes: 0, removed: 0 };
    const prefix = `${this.url}/`;
    for await (const o of store.list(prefix)) {
      const rel = o.path.slice(prefix.length);
      if (rel === LOCK || rel === INDEX) continue;
      const local = join(this.cacheDir, ...rel.split('/'));
      const had = this.index[rel];
      const st = await stat(local).catch(() => undefined);
      if (had && st && had.etag === o.etag && had.size === st.size && had.mtimeMs === st.mtimeMs) continue;
      await mkdir(dirname(local), { recursive: true });
      const tmp = `${local}.mirror-tmp`;
      await pipeline(store.stream(o.path), createWriteStream(tmp));
      await rename(tmp, local);
      const now = await stat(local);
      this.index[rel] = { size: now.size, mtimeMs: now.mtimeMs, etag: o.etag };
      counts.files++;
      counts.bytes += now.size;
    }
    await this.saveIndex();
    return counts;
  }

  /** Upload what changed locally (data first, markers last); remove objects whose file is gone (markers first). */
  async push(): Promise<MirrorCounts> {
    const store = storageFor(this.url);
    const counts: MirrorCounts = { files: 0, bytes: 0, removed: 0 };
    const files = await localFiles(this.cacheDir);
    const present = new Set(files);
    const gone = Object.keys(this.index)
      .filter((r) => !present.has(r))
      .sort((a, b) => Number(isMarker(b)) - Number(isMarker(a)));
    for (const rel of gone) {
      await store.remove(joinRemote(this.url, rel));
      delete this.index[rel];
      counts.removed++;
    }
    const changed: string[] = [];
    for (const rel of files) {
      const st = await stat(join(this.cacheDir, ...rel.split('/')));
      const had = this.index[rel];
      if (!had || had.size !== st.size || had.mtimeMs !== st.mtimeMs) changed.push(rel);
    }
    changed.sort((a, b) => Number(isMarker(a)) - Number(isMarker(b)) || (a < b ? -1 : a > b ? 1 : 0));
    for (const rel of changed) {
      const local = join(this.cacheDir, ...rel.split('/'));
      const st = await stat(local);
      const url = joinRemote(this.url, rel);
      await store.upload(url, local);
      this.index[rel] = { size: st.size, mtimeMs: st.mtimeMs, etag: (await store.stat(url))?.etag };
      counts.files++;
      counts.bytes += st.size;
    }
    await this.saveIndex();
    return counts;
  }

  /** Remove the lock (the cache stays for the next run on this machine). */
  async release(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await storageFor(this.url).remove(this.lockUrl);
  }
}
