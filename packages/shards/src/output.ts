/** Kept/rejected split writers (output directories themselves: outdir.ts). */
import { join } from 'node:path';
import { type Batch, dict } from '@curate/core';
import type { ShardWriterOptions, WrittenShard } from './types.js';
import { createShardWriter } from './writer.js';

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
      // a dictionary without prototype: a column named "__proto__" stays a column
      const columns = dict<unknown[]>();
      for (const [k, v] of Object.entries(batch.columns)) if (k !== 'reason') columns[k] = v;
      columns.reason = reasons;
      // with the file's declared types and maps, as the kept rows (a whole-valued DOUBLE stays DOUBLE, a MAP a map)
      await rejected.write({
        length: batch.length,
        columns,
        file: batch.file,
        offset: batch.offset,
        types: batch.types,
        declared: batch.declared,
      });
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
