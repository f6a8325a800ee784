/**
 * Output directories: checked before any work, written under a temporary name,
 * and swapped into place only when complete.
 *
 * Safety rules (every command and library entry point goes through here):
 * - `--overwrite` replaces only a directory that is empty or that curate wrote: it
 *   carries the `.curate-output` marker (or a curate `manifest.json`) and holds
 *   nothing but what curate writes (shards, `rejected/`, manifest, report, marker,
 *   curate's temporary names). Anything else: E_OUTPUT_FOREIGN, nothing touched.
 * - Never replaced, with or without `--overwrite`: `/`, the home directory, the
 *   working directory, any parent of those, and any directory that contains an
 *   input file, an eval set, the recipe or a work dir (E_OUTPUT_PROTECTED).
 * - Replacement is crash-safe: the new output is complete under `.NAME.tmp-*`,
 *   the old one is renamed to `.NAME.old-*`, the new one renamed into place, then
 *   the old one removed. A run killed between the two renames leaves the complete
 *   old output under `.NAME.old-*`; the next run on the same output puts it back
 *   before doing anything else, and removes temporaries of dead processes.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, parse, posix, relative, resolve, sep } from 'node:path';
import { InputError } from '@curate/core';
import picomatch from 'picomatch';
import { escapePath } from 'tinyglobby';
import { openRemoteOutputs, prepareRemoteOutputDir } from './outdir-remote.js';
import { isRemote } from './storage/index.js';

/** The marker file curate writes into every output directory. */
export const OUTPUT_MARKER = '.curate-output';

/** A path an output must never replace or contain, and what it is (named in the refusal). */
export interface ProtectedPath {
  path: string;
  role: 'input file' | 'eval set' | 'recipe' | 'work dir' | string;
}

export interface PrepareOutputOptions {
  /** Replace an existing curate output (never anything else). */
  overwrite?: boolean;
  /** Paths the output must not contain or be: inputs, eval sets, the recipe, a work dir (strings are input files). */
  protect?: readonly (string | ProtectedPath)[];
  /** The command writing the output, recorded in the marker. */
  command?: string;
  /** Base for a relative `dir` and the working-directory rule (default `process.cwd()`). */
  cwd?: string;
}

export interface OutputDir {
  /** The final directory (absolute). */
  dir: string;
  /** Write here; it becomes `dir` on commit(). */
  tmpDir: string;
  /** The final location of a path written under `tmpDir` (other paths unchanged). */
  finalPath(path: string): string;
  /** Shard records (kept and rejected lists) with their paths moved to the final directory. */
  finalShards<T extends { path: string }>(outputs: { kept: T[]; rejected: T[] }): { kept: T[]; rejected: T[] };
  /** Swap the temp dir into place (replacing the old output when allowed). */
  commit(): Promise<void>;
  /** Remove the temp dir. */
  abort(): Promise<void>;
}

/** Temporary names of an output `NAME` in its parent: `.NAME.tmp-PID-HEX` (new) and `.NAME.old-PID-HEX` (old). */
function tempPattern(name: string): RegExp {
  return new RegExp(`^\\.${escapeRe(name)}\\.(tmp|old)-(\\d+)-([0-9a-f]+)$`);
}

/** Curate's own temporary names inside an output (shard writers' `.tmp-*` files, the pipeline's `.spill`). */
const OWN_HIDDEN = /^\.(tmp-.*|spill)$/;
/** Shard names curate writes: `shard-00000-of-00003.parquet`, `rank-00001-00000-of-00002.jsonl.zst`. */
const SHARD_NAME = /^[a-z][a-z0-9-]*-\d{5}-of-\d{5}\.[a-z0-9.]+$/;
const OWN_FILES = new Set([OUTPUT_MARKER, 'manifest.json', 'report.html']);

/** Entries of `dir` curate did not write (up to `limit`), as names relative to `dir` (`rejected/x`, `notes/`). */
async function foreignEntries(dir: string, limit = 3): Promise<string[]> {
  const foreign: string[] = [];
  const walk = async (sub: string, depth: number) => {
    const entries = await readdir(join(dir, sub), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (foreign.length >= limit) return;
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory() && depth === 0 && e.name === 'rejected') {
        await walk(rel, 1);
        continue;
      }
      const own =
        e.isFile() && (SHARD_NAME.test(e.name) || OWN_HIDDEN.test(e.name) || (depth === 0 && OWN_FILES.has(e.name)));
      const ownDir = e.isDirectory() && OWN_HIDDEN.test(e.name);
      if (!own && !ownDir) foreign.push(e.isDirectory() ? `${rel}/` : rel);
    }
  };
  await walk('', 0);
  return foreign;
}

/** True when `dir` carries curate's marker, or a manifest.json written by curate (outputs of earlier versions). */
async function hasCurateMarker(dir: string): Promise<boolean> {
  if ((await lstat(join(dir, OUTPUT_MARKER)).catch(() => undefined))?.isFile()) return true;
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { tool?: { name?: unknown } };
    return m?.tool?.name === 'curate';
  } catch {
    return false;
  }
}

/** The real path of `p`, resolving symlinks of its longest existing prefix. */
async function realish(p: string): Promise<string> {
  const abs = resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(await realpath(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return abs;
      rest.push(basename(cur));
      cur = parent;
    }
  }
}

/** True when `inner` is `outer` or lies below it. */
function within(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function refuse(dir: string, why: string, code = 'E_OUTPUT_PROTECTED'): never {
  throw new InputError(`refusing to replace this output directory: ${why}`, { code, file: dir });
}

/**
 * The rules that hold whether or not the directory exists or `overwrite` is set:
 * not `/`, home or the working directory (or a parent of them), and nothing
 * protected inside it.
 */
async function checkProtected(
  shown: string,
  target: string,
  real: string,
  protect: readonly (string | ProtectedPath)[],
  cwd: string,
): Promise<void> {
  if (real === parse(real).root) refuse(shown, 'it is the root directory');
  const places: [string, string][] = [
    [await realish(cwd), 'the working directory'],
    [await realish(homedir()), 'the home directory'],
  ];
  for (const [p, what] of places) {
    if (real === p) refuse(shown, `it is ${what}`);
    if (within(real, p)) refuse(shown, `it contains ${what} (${p})`);
  }
  for (const item of protect) {
    const { path, role } = typeof item === 'string' ? { path: item, role: 'input file' } : item;
    const abs = resolve(cwd, path);
    // Cheap string test first: most protected paths are nowhere near the output.
    if (!within(real, abs) && !within(target, abs)) {
      const r = await realish(abs);
      if (!within(real, r)) continue;
    }
    refuse(shown, real === (await realish(abs)) ? `it is the ${role} ${path}` : `it contains the ${role} ${path}`);
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Put back an old output a killed run had moved aside, then remove temporaries
 * of dead processes (`.NAME.tmp-*` and `.NAME.old-*` beside `target`).
 */
export async function recoverOutputDir(dir: string): Promise<{ restored: boolean; removed: string[] }> {
  const target = resolve(dir);
  const parent = dirname(target);
  const pattern = tempPattern(basename(target));
  const entries = await readdir(parent).catch(() => [] as string[]);
  const dead = entries
    .map((e) => ({ name: e, m: pattern.exec(e) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null && !alive(Number(x.m[2])))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  let restored = false;
  const removed: string[] = [];
  const targetExists = (await lstat(target).catch(() => undefined)) !== undefined;
  for (const { name, m } of dead) {
    const path = join(parent, name);
    if (m[1] === 'old' && !targetExists && !restored) {
      // Killed between "old aside" and "new in": the old output is complete; put it back.
      await rename(path, target);
      restored = true;
      continue;
    }
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return { restored, removed };
}

/** Output directories being written by this process, for signal handlers (see `abortOpenOutputs`). */
const openOutputs = new Set<{ tmpDir: string; committing: boolean }>();

/**
 * Remove the temporary directories of every output this process has open and not
 * committed (for SIGINT/SIGTERM handlers; synchronous so it finishes before exit).
 * Returns the removed paths. An output in the middle of its commit is left to it.
 * `again`: paths removed by an earlier call, removed once more (a file-system call
 * in flight may have recreated them).
 */
export function abortOpenOutputs(again: readonly string[] = []): string[] {
  const removed: string[] = [];
  for (const dir of again) rmSync(dir, { recursive: true, force: true });
  for (const o of openRemoteOutputs) {
    // the local staging of an s3:// output; an upload in flight stays incomplete (no manifest.json)
    rmSync(o.tmpDir, { recursive: true, force: true });
    removed.push(o.tmpDir);
    openRemoteOutputs.delete(o);
  }
  for (const o of openOutputs) {
    if (o.committing) continue;
    rmSync(o.tmpDir, { recursive: true, force: true });
    removed.push(o.tmpDir);
    openOutputs.delete(o);
  }
  return removed;
}

/** True while some output of this process is between its two commit renames. */
export function outputCommitting(): boolean {
  for (const o of openOutputs) if (o.committing) return true;
  return false;
}

/** Test seam: `CURATE_TEST_CRASH_AT=commit:STEP` kills the process with SIGKILL at that commit step. */
function crashPoint(step: string): void {
  if (process.env.CURATE_TEST_CRASH_AT === `commit:${step}`) process.kill(process.pid, 'SIGKILL');
}

/**
 * Prepare an output directory (see the module comment for the rules): recover
 * from a killed earlier run, refuse protected or foreign targets (E_OUTPUT_PROTECTED,
 * E_OUTPUT_FOREIGN), a file (E_OUTPUT_IS_FILE), or a non-empty directory without
 * `overwrite` (E_OUTPUT_EXISTS). Work happens in a sibling `.DIR.tmp-<pid>-<hex>`
 * (holding the `.curate-output` marker) that commit() swaps into place, so a
 * killed run never leaves a directory that looks complete.
 */
export async function prepareOutputDir(dir: string, options: PrepareOutputOptions = {}): Promise<OutputDir> {
  if (isRemote(dir)) return prepareRemoteOutputDir(dir, options);
  const cwd = resolve(options.cwd ?? process.cwd());
  const target = resolve(cwd, dir);
  const protect = options.protect ?? [];
  await recoverOutputDir(target);
  /** `withProtected`: also the never-replace rules (at prepare; at commit only what may have changed since). */
  const check = async (withProtected: boolean) => {
    const st = await stat(target).catch(() => undefined);
    if (withProtected) await checkProtected(dir, target, await realish(target), protect, cwd);
    if (!st) return false;
    if (!st.isDirectory()) {
      throw new InputError('output path exists and is a file', { code: 'E_OUTPUT_IS_FILE', file: dir });
    }
    const entries = await readdir(target);
    if (entries.length === 0) return true;
    if (!options.overwrite) {
      throw new InputError('output directory exists and is not empty (use --overwrite to replace it)', {
        code: 'E_OUTPUT_EXISTS',
        file: dir,
      });
    }
    if (!(await hasCurateMarker(target))) {
      const first = await foreignEntries(target);
      refuse(
        dir,
        `it is not a curate output (no ${OUTPUT_MARKER} marker or curate manifest.json) and holds ${first.join(', ')}${entries.length > first.length ? ', ...' : ''}`,
        'E_OUTPUT_FOREIGN',
      );
    }
    const foreign = await foreignEntries(target);
    if (foreign.length) {
      refuse(dir, `it holds files curate did not write: ${foreign.join(', ')}`, 'E_OUTPUT_FOREIGN');
    }
    return true;
  };
  await check(true);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmpDir = join(parent, `.${basename(target)}.tmp-${tag}`);
  await mkdir(tmpDir);
  const entry = { tmpDir, committing: false };
  openOutputs.add(entry);
  try {
    // Deterministic content: same recipe and seed give a byte-identical output directory.
    const marker = { tool: 'curate', command: options.command ?? null };
    await writeFile(join(tmpDir, OUTPUT_MARKER), `${JSON.stringify(marker)}\n`);
  } catch (e) {
    openOutputs.delete(entry);
    await rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const finalPath = (path: string) => (within(tmpDir, path) ? join(target, relative(tmpDir, path)) : path);
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
      // Inputs, recipe and working directory were checked at prepare; the target may have changed.
      const exists = await check(false);
      entry.committing = true;
      try {
        crashPoint('before-swap');
        if (exists) {
          const old = join(parent, `.${basename(target)}.old-${tag}`);
          await rename(target, old);
          crashPoint('old-aside');
          try {
            await rename(tmpDir, target);
          } catch (e) {
            await rename(old, target).catch(() => {});
            throw e;
          }
          crashPoint('new-in');
          await rm(old, { recursive: true, force: true });
        } else {
          await rename(tmpDir, target);
        }
        state = 'committed';
      } finally {
        entry.committing = false;
        openOutputs.delete(entry);
      }
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      openOutputs.delete(entry);
      await rm(tmpDir, { recursive: true, force: true });
    },
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The first input pattern (file, directory or glob, as given) that would read
 * files written into `outDir` on a later run, e.g. `data/**\/*.jsonl` with
 * `--out data/dedup`. `ext` is the output's shard extension (`.jsonl`, `.parquet`), or several.
 * Directories count when the output lies inside them (they are read recursively).
 */
export async function inputReadingOutput(
  patterns: readonly string[],
  outDir: string,
  ext: string | readonly string[],
  options: { cwd?: string } = {},
): Promise<string | undefined> {
  const cwd = resolve(options.cwd ?? process.cwd());
  if (isRemote(outDir)) {
    const out = outDir.replace(/\/+$/, '');
    const remoteProbes = (typeof ext === 'string' ? [ext] : ext).flatMap((e) => [
      `${out}/shard-00000-of-00001${e}`,
      `${out}/rejected/shard-00000-of-00001${e}`,
    ]);
    for (const pattern of patterns) {
      if (!isRemote(pattern)) continue;
      if (!picomatch.scan(pattern).isGlob) {
        if (`${out}/`.startsWith(`${pattern.replace(/\/+$/, '')}/`)) return pattern;
        continue;
      }
      const match = picomatch(pattern, { dot: false });
      if (remoteProbes.some((p) => match(p))) return pattern;
    }
    return undefined;
  }
  const out = resolve(cwd, outDir);
  const probes = (typeof ext === 'string' ? [ext] : ext)
    .flatMap((e) => [join(out, `shard-00000-of-00001${e}`), join(out, 'rejected', `shard-00000-of-00001${e}`)])
    .map((p) => p.split(sep).join('/'));
  for (const pattern of patterns) {
    const abs = resolve(cwd, pattern);
    const st = await stat(abs).catch(() => undefined);
    if (st) {
      if (st.isDirectory() && within(await realish(abs), await realish(out))) return pattern;
      continue;
    }
    if (!picomatch.scan(pattern).isGlob) continue;
    const absPattern = isAbsolute(pattern) ? pattern : posix.join(escapePath(cwd.split(sep).join('/')), pattern);
    const match = picomatch(absPattern, { dot: false });
    if (probes.some((p) => match(p))) return pattern;
  }
  return undefined;
}
