/** Output directories that appear complete or not at all, and kept/rejected split writers. */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Batch, InputError } from '@curate/core';
import type { ShardWriterOptions, WrittenShard } from './types.js';
import { createShardWriter } from './writer.js';

export interface OutputDir {
  /** Write here; it becomes `dir` on commit(). */
  tmpDir: string;
  /** Rename the temp dir into place (replacing the old dir when overwrite). */
  commit(): Promise<void>;
  /** Remove the temp dir. */
  abort(): Promise<void>;
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  return (await readdir(path)).length > 0;
}

/**
 * Prepare an output directory: refuse an existing non-empty `dir` unless
 * `overwrite` (E_OUTPUT_EXISTS) and a path that is a file (E_OUTPUT_IS_FILE).
 * Work happens in a sibling `.DIR.tmp-<pid>-<rand>` that commit() renames into
 * place, so a killed run never leaves a directory that looks complete.
 */
export async function prepareOutputDir(dir: string, options: { overwrite?: boolean } = {}): Promise<OutputDir> {
  const target = resolve(dir);
  const check = async () => {
    const st = await stat(target).catch(() => undefined);
    if (!st) return false;
    if (!st.isDirectory()) {
      throw new InputError('output path exists and is a file', { code: 'E_OUTPUT_IS_FILE', file: dir });
    }
    if (!options.overwrite && (await isNonEmptyDir(target))) {
      throw new InputError('output directory exists and is not empty (use --overwrite to replace it)', {
        code: 'E_OUTPUT_EXISTS',
        file: dir,
      });
    }
    return true;
  };
  await check();
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmpDir = join(parent, `.${basename(target)}.tmp-${tag}`);
  await mkdir(tmpDir);
  let state: 'open' | 'committed' | 'aborted' = 'open';
  return {
    tmpDir,
    async commit() {
      if (state !== 'open') throw new Error(`output directory already ${state}`);
      const exists = await check();
      if (exists) {
        const old = join(parent, `.${basename(target)}.old-${tag}`);
        await rename(target, old);
        try {
          await rename(tmpDir, target);
        } catch (e) {
          await rename(old, target).catch(() => {});
          throw e;
        }
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(tmpDir, target);
      }
      state = 'committed';
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      await rm(tmpDir, { recursive: true, force: true });
    },
  };
}

export interface SplitWriter {
  keep(batch: Batch): Promise<void>;
  /** Write rejected rows with their reason (one per row) into `dir/rejected/`. No-op unless `rejected`. */
  reject(batch: Batch, reasons: string[]): Promise<void>;
  close(): Promise<{ kept: WrittenShard[]; rejected: WrittenShard[] }>;
  abort(): Promise<void>;
}

/**
 * Kept rows -> `dir/shard-*.ext`; rejected rows (when `rejected`) ->
 * `dir/rejected/shard-*.ext` with an extra string column `reason` (replacing an
 * input column of that name). Used by `curate filter|dedup|decontam`.
 */
export function createSplitWriter(options: ShardWriterOptions & { rejected?: boolean }): SplitWriter {
  const { rejected: writeRejected, ...rest } = options;
  // Inputs of one command may differ in columns (e.g. real and synthetic shards): widen by default.
  const opts = { widen: true, ...rest };
  const kept = createShardWriter(opts);
  const rejected = writeRejected
    ? createShardWriter({
        ...opts,
        dir: join(opts.dir, 'rejected'),
        columns: opts.columns && [
          ...opts.columns.filter((c) => c.name !== 'reason'),
          { name: 'reason', type: 'string' },
        ],
      })
    : undefined;
  return {
    keep: (batch) => kept.write(batch),
    async reject(batch, reasons) {
      if (!rejected || batch.length === 0) return;
      if (reasons.length !== batch.length) {
        throw new RangeError(`reject: ${reasons.length} reasons for ${batch.length} rows`);
      }
      const columns: Record<string, unknown[]> = {};
      for (const [k, v] of Object.entries(batch.columns)) if (k !== 'reason') columns[k] = v;
      columns.reason = reasons;
      await rejected.write({ length: batch.length, columns, file: batch.file, offset: batch.offset });
    },
    async close() {
      try {
        const k = await kept.close();
        const r = rejected ? await rejected.close() : [];
        return { kept: k, rejected: r };
      } catch (e) {
        await Promise.all([kept.abort(), rejected?.abort()]);
        throw e;
      }
    },
    async abort() {
      await Promise.all([kept.abort(), rejected?.abort()]);
    },
  };
}
