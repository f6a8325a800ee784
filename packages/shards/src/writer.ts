/**
 * Shard writers: rotate output files by rows and/or bytes under temporary
 * names, rename them to `prefix-NNNNN-of-MMMMM.ext` at close (the total is only
 * known then), and record rows, bytes and sha256 per shard.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Batch, dict, InputError } from '@curate/core';
import { createFileWriter, DEFAULT_COMPRESSION, extensionFor } from './formats.js';
import { inferColumns } from './infer.js';
import { isRemote, storageFor } from './storage/index.js';
import type { ColumnSpec, FileWriter, ShardWriter, ShardWriterOptions, WrittenShard } from './types.js';

/** Hex sha256 of a file's bytes (an `s3://` object is streamed: every byte is fetched). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const chunks = isRemote(path)
    ? storageFor(path).stream(path)
    : (createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
  for await (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

/** The final name of shard `index` of `total`: `shard-00000-of-00003.parquet`. */
export function shardName(prefix: string, index: number, total: number, ext: string): string {
  return `${prefix}-${pad5(index)}-of-${pad5(total)}${ext}`;
}

function slice(batch: Batch, start: number, end: number): Batch {
  if (start === 0 && end === batch.length) return batch;
  const columns = dict<unknown[]>();
  for (const [k, v] of Object.entries(batch.columns)) columns[k] = v.slice(start, end);
  return { length: end - start, columns, file: batch.file, offset: (batch.offset ?? 0) + start, types: batch.types };
}

/** Rows per `write` call on a file writer when rotating by bytes, so a shard overshoots by little. */
const BYTES_STEP_ROWS = 1024;

/**
 * A writer of rotated shards in `options.dir` (created if missing). The column
 * schema is fixed by `options.columns` or inferred from the first batch; a later
 * batch with a new column is InputError E_SCHEMA_CHANGED (or, with `widen`, starts
 * a new shard whose schema adds the column), a missing column is written as null. No rows -> no shards (close() returns []).
 */
export function createShardWriter(options: ShardWriterOptions): ShardWriter {
  const format = options.format;
  const compression = options.compression ?? DEFAULT_COMPRESSION[format];
  const ext = extensionFor(format, compression);
  const prefix = options.prefix ?? 'shard';
  const maxRows = options.maxRows && options.maxRows > 0 ? options.maxRows : Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes && options.maxBytes > 0 ? options.maxBytes : Number.POSITIVE_INFINITY;
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  let columns: ColumnSpec[] | undefined = options.columns;
  let names: Set<string> | undefined = columns ? new Set(columns.map((c) => c.name)) : undefined;
  const done: { tmp: string; rows: number }[] = [];
  let current: { writer: FileWriter; tmp: string; rows: number } | undefined;
  let dirReady = false;
  let state: 'open' | 'closed' | 'aborted' = 'open';
  let chain: Promise<void> = Promise.resolve();

  const openNext = async () => {
    if (!dirReady) {
      await mkdir(options.dir, { recursive: true });
      dirReady = true;
    }
    const tmp = join(options.dir, `.tmp-${prefix}-${pad5(done.length)}-${tag}${ext}`);
    const writer = await createFileWriter(format, tmp, {
      columns: columns!,
      compression,
      rowGroupRows: options.rowGroupRows,
    });
    current = { writer, tmp, rows: 0 };
  };

  const finishCurrent = async () => {
    if (!current) return;
    const c = current;
    current = undefined;
    await c.writer.close();
    done.push({ tmp: c.tmp, rows: c.rows });
  };

  const widen = async (batch: Batch) => {
    if (!columns || !options.widen) return;
    const fresh = Object.keys(batch.columns).filter((k) => !names!.has(k));
    if (!fresh.length) return;
    // A new column starts a new shard whose schema is the old one plus the new columns.
    await finishCurrent();
    const sub = dict<unknown[]>();
    for (const k of fresh) sub[k] = batch.columns[k];
    columns = [...columns, ...inferColumns({ length: batch.length, columns: sub, types: batch.types })];
    names = new Set(columns.map((c) => c.name));
  };

  const conform = (batch: Batch): Batch => {
    if (!columns) {
      columns = inferColumns(batch);
      names = new Set(columns.map((c) => c.name));
    }
    for (const k of Object.keys(batch.columns)) {
      if (!names!.has(k)) {
        throw new InputError(
          `column "${k}" is not in the output schema (${columns.map((c) => c.name).join(', ')}), which was fixed by the first batch`,
          { code: 'E_SCHEMA_CHANGED', file: batch.file },
        );
      }
    }
    let out = batch;
    for (const c of columns) {
      if (!Object.hasOwn(batch.columns, c.name)) {
        if (out === batch) out = { ...batch, columns: Object.assign(dict<unknown[]>(), batch.columns) };
        (out.columns as Record<string, unknown[]>)[c.name] = new Array(batch.length).fill(null);
      }
    }
    return out;
  };

  const writeBatch = async (input: Batch) => {
    if (input.length === 0) return;
    await widen(input);
    const batch = conform(input);
    let pos = 0;
    while (pos < batch.length) {
      if (!current) await openNext();
      const cur = current!;
      let end = Math.min(batch.length, pos + (maxRows - cur.rows));
      if (maxBytes !== Number.POSITIVE_INFINITY) end = Math.min(end, pos + BYTES_STEP_ROWS);
      await cur.writer.write(slice(batch, pos, end));
      cur.rows += end - pos;
      pos = end;
      if (cur.rows >= maxRows || cur.writer.bytes >= maxBytes) await finishCurrent();
    }
  };

  const cleanup = async () => {
    const files = done.map((d) => d.tmp);
    if (current) {
      const c = current;
      current = undefined;
      await c.writer.close().catch(() => {});
      files.push(c.tmp);
    }
    await Promise.all(files.map((f) => rm(f, { force: true })));
    done.length = 0;
  };

  const enqueue = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.then(
      () => {},
      () => {},
    );
    return p;
  };

  return {
    write(batch: Batch) {
      if (state !== 'open') return Promise.reject(new Error(`shard writer is ${state}`));
      return enqueue(() => writeBatch(batch));
    },
    close() {
      if (state !== 'open') return Promise.reject(new Error(`shard writer is ${state}`));
      state = 'closed';
      return enqueue(async () => {
        try {
          await finishCurrent();
          const total = done.length;
          const shards: WrittenShard[] = [];
          for (let i = 0; i < total; i++) {
            const path = join(options.dir, shardName(prefix, i, total, ext));
            await rename(done[i].tmp, path);
            done[i].tmp = path;
            const [st, sha256] = await Promise.all([stat(path), sha256File(path)]);
            shards.push({ path, rows: done[i].rows, bytes: st.size, sha256 });
          }
          return shards;
        } catch (e) {
          await cleanup();
          throw e;
        }
      });
    },
    abort() {
      if (state === 'aborted') return Promise.resolve();
      state = 'aborted';
      return enqueue(cleanup);
    },
  };
}
