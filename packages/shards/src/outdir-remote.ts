/**
 * Output "directories" on an object store (`s3://bucket/prefix`), where there is no rename.
 *
 * Files are written to a local temporary directory, as for local outputs, but local disk stays
 * bounded: a shard writer whose directory lies in it (see `remoteStagingFor`) uploads each shard as
 * soon as it is complete, under a temporary key (`.tmp-...` beside its final name), and deletes the
 * local copy; at most two shard uploads per output run at once, and a writer that finishes another
 * shard meanwhile waits for one, so local disk holds at most about three shards per output. When the
 * writer closes (the shard count, part of each name, is known then), each temporary object is
 * copied server-side to its final name and removed.
 * 1. Before the first final name is written (the first writer's close, or commit()) the prefix is
 *    checked again and its old `manifest.json` (if any) is removed: from here on it reads as
 *    incomplete; until then a failed run leaves a complete old output as it was;
 * 2. commit() uploads what is still local (the `.curate-output` marker, the report, any file not
 *    written by a shard writer), then removes objects of the old output that the new one does not
 *    have (and temporary keys of killed runs);
 * 3. `manifest.json` is uploaded last: the commit marker. Commands without a run manifest
 *    (`convert`, `filter`, `dedup`, `decontam`) get a small one listing the files.
 * abort() removes every object the run wrote (temporary or final); a failed upload aborts its
 * multipart upload, so no orphaned parts remain.
 * A prefix without `manifest.json` is incomplete (a killed or failed run): readers must ignore it,
 * and curate replaces it on the next run without `--overwrite` when it holds only what curate writes.
 * `--overwrite` is needed, as locally, to replace a complete output, and only a curate output is
 * ever replaced. Multipart uploads a killed run left under the prefix are aborted when the next run
 * prepares the same output.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { InputError, mapLimit } from '@curate/core';
import type { OutputDir, PrepareOutputOptions, ProtectedPath } from './outdir.js';
import { joinRemote, s3Client, storageFor } from './storage/index.js';

const MARKER = '.curate-output';
const SHARD_NAME = /^[a-z][a-z0-9-]*-\d{5}-of-\d{5}\.[a-z0-9.]+$/;
const OWN_FILES = new Set([MARKER, 'manifest.json', 'report.html']);

/** Temporary keys of shards uploaded before their final names were known. */
const TEMP_NAME = /^\.tmp-[a-z0-9.-]+$/;

/** True for names (relative to the output) curate writes. */
function own(rel: string): boolean {
  const parts = rel.split('/');
  const name = parts[parts.length - 1];
  if (parts.length === 1) return OWN_FILES.has(name) || SHARD_NAME.test(name) || TEMP_NAME.test(name);
  return parts.length === 2 && parts[0] === 'rejected' && (SHARD_NAME.test(name) || TEMP_NAME.test(name));
}

function refuse(dir: string, why: string, code = 'E_OUTPUT_PROTECTED'): never {
  throw new InputError(`refusing to replace this output directory: ${why}`, { code, file: dir });
}

/** Files below `dir` (recursive), relative, with '/' separators; sorted. */
async function localFiles(dir: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name === '.spill') continue; // the pipeline's scratch space
      out.push(...(await localFiles(dir, rel)));
    } else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Test seam: `CURATE_TEST_CRASH_AT=commit:STEP` kills the process with SIGKILL at that step. */
export function crashPoint(step: string): void {
  if (process.env.CURATE_TEST_CRASH_AT === `commit:${step}`) process.kill(process.pid, 'SIGKILL');
}

/** What a shard writer needs to upload its shards as they complete (see the module comment). */
export interface RemoteStaging {
  /** The object URL a local path below the staging directory stands for. */
  url(localPath: string): string;
  /** Wait for an upload slot (bounds the shards on local disk); returns its release. */
  acquire(): Promise<() => void>;
  /** Make the prefix ready for final names (checked again, old manifest.json removed); once. */
  publish(): Promise<void>;
  /** Note an object this run wrote (`bytes` of a final one, for a command manifest), or removed. */
  wrote(url: string, bytes?: number): void;
  removed(url: string): void;
}

interface OpenRemote {
  tmpDir: string;
  committing: boolean;
  staging: RemoteStaging;
}

/** Local temporary directories of remote outputs this process has open (for signal handlers). */
export const openRemoteOutputs = new Set<OpenRemote>();

/** The staging of the open remote output whose local directory holds `localDir`, if any. */
export function remoteStagingFor(localDir: string): RemoteStaging | undefined {
  for (const o of openRemoteOutputs) {
    const rel = relative(o.tmpDir, localDir);
    if (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return o.staging;
  }
  return undefined;
}

/** Shard uploads in flight per output (each is itself up to 4 parts at once). */
const UPLOAD_SLOTS = 2;

export async function prepareRemoteOutputDir(dir: string, options: PrepareOutputOptions = {}): Promise<OutputDir> {
  const target = dir.replace(/\/+$/, '');
  const prefix = `${target}/`;
  const store = storageFor(target);
  if (!/^s3:\/\/[^/]+\/.+/.test(prefix.slice(0, -1))) {
    refuse(dir, 'it is a whole bucket (give a prefix: s3://bucket/prefix)');
  }
  for (const item of options.protect ?? []) {
    const { path, role } = typeof item === 'string' ? { path: item, role: 'input file' } : (item as ProtectedPath);
    if (path === target || path.startsWith(prefix)) refuse(dir, `it contains the ${role} ${path}`);
  }
  // multipart uploads a killed run left behind
  for (const u of await s3Client()
    .listUploads(prefix)
    .catch(() => [])) {
    await s3Client()
      .abortUpload(`s3://${target.slice(5).split('/')[0]}/${u.key}`, u.uploadId)
      .catch(() => {});
  }
  /** The objects of the existing output (relative names), after checking it may be replaced. */
  const check = async (): Promise<string[]> => {
    const existing: string[] = [];
    for await (const o of store.list(prefix)) existing.push(o.path.slice(prefix.length));
    if (existing.length === 0) return existing;
    const complete = existing.includes('manifest.json');
    const marked =
      existing.includes(MARKER) || (complete && (await curateManifest(joinRemote(target, 'manifest.json'))));
    if (!marked) {
      const first = existing.slice(0, 3);
      refuse(
        dir,
        `it is not a curate output (no ${MARKER} marker or curate manifest.json) and holds ${first.join(', ')}${existing.length > 3 ? ', ...' : ''}`,
        'E_OUTPUT_FOREIGN',
      );
    }
    const foreign = existing.filter((r) => !own(r));
    if (foreign.length)
      refuse(dir, `it holds files curate did not write: ${foreign.slice(0, 3).join(', ')}`, 'E_OUTPUT_FOREIGN');
    if (complete && !options.overwrite) {
      throw new InputError('output directory exists and is not empty (use --overwrite to replace it)', {
        code: 'E_OUTPUT_EXISTS',
        file: dir,
      });
    }
    return existing;
  };
  const before = await check();
  const base = process.env.CURATE_TMPDIR || tmpdir();
  const tmpDir = join(base, `.curate-out.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmpDir, { recursive: true });
  const marker = `${JSON.stringify({ tool: 'curate', command: options.command ?? null })}\n`;
  await writeFile(join(tmpDir, MARKER), marker);
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const within = (p: string) => {
    const rel = relative(tmpDir, p);
    return rel !== '' && !rel.startsWith('..') ? rel.split(sep).join('/') : undefined;
  };
  const finalPath = (path: string) => {
    const rel = within(path);
    return rel === undefined ? path : joinRemote(target, rel);
  };
  const url = (rel: string) => joinRemote(target, rel);
  /** Objects this run wrote: URL -> bytes of a final object (undefined: a temporary one). */
  const written = new Map<string, number | undefined>();
  /** The marker goes up before the first temporary object, so the prefix reads as curate's (incomplete) output. */
  let markerUp: Promise<void> | undefined;
  const markerFirst = () => {
    markerUp ??= before.includes(MARKER) ? Promise.resolve() : store.upload(url(MARKER), join(tmpDir, MARKER));
    return markerUp;
  };
  let published: Promise<void> | undefined;
  let slots = UPLOAD_SLOTS;
  const waiting: (() => void)[] = [];
  const staging: RemoteStaging = {
    url: finalPath,
    async acquire() {
      if (slots > 0) slots--;
      else await new Promise<void>((r) => waiting.push(r));
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const next = waiting.shift();
        if (next) next();
        else slots++;
      };
      try {
        await markerFirst();
      } catch (e) {
        release();
        throw e;
      }
      return release;
    },
    publish() {
      published ??= (async () => {
        const existing = await check();
        if (existing.includes('manifest.json')) await store.remove(url('manifest.json'));
        await store.upload(url(MARKER), join(tmpDir, MARKER));
      })();
      return published;
    },
    wrote(u, bytes) {
      written.set(u, bytes);
    },
    removed(u) {
      written.delete(u);
    },
  };
  const entry: OpenRemote = { tmpDir, committing: false, staging };
  openRemoteOutputs.add(entry);
  const cleanup = async () => {
    openRemoteOutputs.delete(entry);
    await rm(tmpDir, { recursive: true, force: true });
  };
  return {
    dir: target,
    tmpDir,
    finalPath,
    finalShards(outputs) {
      const move = <T extends { path: string }>(list: T[]) => list.map((x) => ({ ...x, path: finalPath(x.path) }));
      return { kept: move(outputs.kept), rejected: move(outputs.rejected) };
    },
    async commit() {
      if (state !== 'open') throw new Error(`output directory already ${state}`);
      entry.committing = true;
      try {
        await staging.publish();
        const files = await localFiles(tmpDir);
        if (!files.includes('manifest.json')) {
          // the commit marker of commands that write no run manifest
          const list = await Promise.all(
            files.map(async (f) => ({ path: f, bytes: (await stat(join(tmpDir, f))).size })),
          );
          for (const [u, bytes] of written) if (bytes !== undefined) list.push({ path: u.slice(prefix.length), bytes });
          list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
          const m = { tool: { name: 'curate' }, command: options.command ?? null, files: list };
          await writeFile(join(tmpDir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
        }
        const body = files.filter((f) => f !== MARKER && f !== 'manifest.json');
        let uploaded = 0;
        await mapLimit(body, 4, async (f) => {
          await store.upload(url(f), join(tmpDir, f));
          written.set(url(f), 0);
          if (++uploaded === 1) crashPoint('remote-uploading');
        });
        // objects of the old output the new one lacks, and temporary keys of killed runs
        const fresh = new Set([...files, 'manifest.json', ...[...written.keys()].map((u) => u.slice(prefix.length))]);
        const stale: string[] = [];
        for await (const o of store.list(prefix)) {
          const rel = o.path.slice(prefix.length);
          if (!fresh.has(rel) && own(rel)) stale.push(rel);
        }
        await mapLimit(stale, 8, (r) => store.remove(url(r)));
        crashPoint('remote-before-manifest');
        await store.upload(url('manifest.json'), join(tmpDir, 'manifest.json'));
        state = 'committed';
      } finally {
        entry.committing = false;
        await cleanup();
      }
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      await cleanup();
      // what this run wrote (shard writers remove their own temporary objects on abort; this is the rest)
      const mine = [...written.keys()];
      if (markerUp && !published && !before.includes(MARKER)) mine.push(url(MARKER));
      await mapLimit(mine, 8, (u) => store.remove(u).catch(() => {}));
    },
  };
}

async function curateManifest(url: string): Promise<boolean> {
  try {
    const info = await storageFor(url).stat(url);
    if (!info || info.size > 64 << 20) return false;
    const text = new TextDecoder().decode(await storageFor(url).read(url, 0, info.size));
    const m = JSON.parse(text) as { tool?: { name?: unknown } };
    return m?.tool?.name === 'curate';
  } catch {
    return false;
  }
}
