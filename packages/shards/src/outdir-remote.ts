/**
 * Output "directories" on an object store (`s3://bucket/prefix`), where there is no rename.
 *
 * The output is written to a local temporary directory (as for local outputs: the pipeline and the
 * commands write files there unchanged), and commit() publishes it:
 * 1. the old `manifest.json` (if any) is removed first: from here on the prefix reads as incomplete;
 * 2. the `.curate-output` marker, then every shard, `rejected/` shard and the report are uploaded
 *    (multipart above the part size; a failed upload is aborted, leaving no orphaned parts);
 * 3. objects of the old output that the new one does not have are removed;
 * 4. `manifest.json` is uploaded last: the commit marker. Commands without a run manifest
 *    (`convert`, `filter`, `dedup`, `decontam`) get a small one listing the files.
 * A prefix without `manifest.json` is incomplete (a killed or failed run): readers must ignore it,
 * and curate replaces it on the next run without `--overwrite` when it holds only what curate writes.
 * `--overwrite` is needed, as locally, to replace a complete output, and only a curate output is
 * ever replaced. Multipart uploads a killed run left under the prefix are aborted when the next run
 * prepares the same output.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { InputError } from '@curate/core';
import type { OutputDir, PrepareOutputOptions, ProtectedPath } from './outdir.js';
import { joinRemote, s3Client, storageFor } from './storage/index.js';

const MARKER = '.curate-output';
const SHARD_NAME = /^[a-z][a-z0-9-]*-\d{5}-of-\d{5}\.[a-z0-9.]+$/;
const OWN_FILES = new Set([MARKER, 'manifest.json', 'report.html']);

/** True for names (relative to the output) curate writes. */
function own(rel: string): boolean {
  const parts = rel.split('/');
  const name = parts[parts.length - 1];
  if (parts.length === 1) return OWN_FILES.has(name) || SHARD_NAME.test(name);
  return parts.length === 2 && parts[0] === 'rejected' && SHARD_NAME.test(name);
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

/** Run `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Test seam: `CURATE_TEST_CRASH_AT=commit:STEP` kills the process with SIGKILL at that step. */
function crashPoint(step: string): void {
  if (process.env.CURATE_TEST_CRASH_AT === `commit:${step}`) process.kill(process.pid, 'SIGKILL');
}

/** Local temporary directories of remote outputs this process has open (for signal handlers). */
export const openRemoteOutputs = new Set<{ tmpDir: string; committing: boolean }>();

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
  await check();
  const base = process.env.CURATE_TMPDIR || tmpdir();
  const tmpDir = join(base, `.curate-out.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmpDir, { recursive: true });
  const entry = { tmpDir, committing: false };
  openRemoteOutputs.add(entry);
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
      const existing = await check();
      entry.committing = true;
      try {
        const files = await localFiles(tmpDir);
        if (!files.includes('manifest.json')) {
          // the commit marker of commands that write no run manifest
          const list = await Promise.all(
            files.map(async (f) => ({ path: f, bytes: (await stat(join(tmpDir, f))).size })),
          );
          const m = { tool: { name: 'curate' }, command: options.command ?? null, files: list };
          await writeFile(join(tmpDir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
        }
        const url = (rel: string) => joinRemote(target, rel);
        if (existing.includes('manifest.json')) await store.remove(url('manifest.json'));
        await store.upload(url(MARKER), join(tmpDir, MARKER));
        const body = files.filter((f) => f !== MARKER && f !== 'manifest.json');
        let uploaded = 0;
        await pool(body, 4, async (f) => {
          await store.upload(url(f), join(tmpDir, f));
          if (++uploaded === 1) crashPoint('remote-uploading');
        });
        const fresh = new Set([...files, 'manifest.json']);
        await pool(
          existing.filter((r) => !fresh.has(r)),
          8,
          (r) => store.remove(url(r)),
        );
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
