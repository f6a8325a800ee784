/**
 * Shard writers: rotate output files by rows and/or bytes under temporary
 * names, rename them to `prefix-NNNNN-of-MMMMM.ext` at close (the total is only
 * known then), and record rows, bytes and sha256 per shard.
 *
 * In the local staging directory of an `s3://` output (outdir-remote.ts), each shard is uploaded as
 * soon as it is complete, under its temporary name, and its local copy deleted (so local disk holds a
 * few shards, not the output); at close the objects are copied server-side to their final names.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Batch, dict, InputError } from '@curate/core';
import { diskFull } from './disk-full.js';
import { createFileWriter, DEFAULT_COMPRESSION, extensionFor } from './formats.js';
import { inferColumns, widenColumns } from './infer.js';
import { crashPoint, remoteStagingFor } from './outdir-remote.js';
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
  return {
    length: end - start,
    columns,
    file: batch.file,
    offset: (batch.offset ?? 0) + start,
    types: batch.types,
    declared: batch.declared,
  };
}

/** The batch's columns of these names (those it has). */
function pick(batch: Batch, names: string[]): Record<string, unknown[]> {
  const out = dict<unknown[]>();
  for (const n of names) if (Object.hasOwn(batch.columns, n)) out[n] = batch.columns[n];
  return out;
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
  /** Finished shards; on a remote output also their digest and temporary object (`remote`). */
  const done: { tmp: string; rows: number; bytes?: number; sha256?: string; remote?: string }[] = [];
  const staging = remoteStagingFor(options.dir);
  const uploads = new Set<Promise<void>>();
  let uploadError: unknown;
  /** Objects at their final names (remote output), removed again on a failure. */
  const published: string[] = [];
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
    const d: (typeof done)[number] = { tmp: c.tmp, rows: c.rows };
    done.push(d);
    if (staging) await ship(d, staging);
  };

  /** Upload a finished shard in the background (waiting for a slot first), then delete the local file. */
  const ship = async (d: (typeof done)[number], st: NonNullable<typeof staging>) => {
    const [info, sha256] = await Promise.all([stat(d.tmp), sha256File(d.tmp)]);
    d.bytes = info.size;
    d.sha256 = sha256;
    const release = await st.acquire();
    if (uploadError !== undefined) {
      release();
      throw uploadError;
    }
    const url = st.url(d.tmp);
    d.remote = url;
    st.wrote(url);
    const p: Promise<void> = storageFor(url)
      .upload(url, d.tmp)
      .then(async () => {
        await rm(d.tmp, { force: true });
        crashPoint('remote-shard-uploaded');
      })
      .catch((e: unknown) => {
        uploadError ??= e;
      })
      .finally(() => {
        release();
        uploads.delete(p);
      });
    uploads.add(p);
  };

  const failedUpload = () => {
    if (uploadError !== undefined) throw uploadError;
  };

  /** The schema with each nested column's shape widened to hold this batch's values, or undefined. */
  const widerShapes = (batch: Batch): ColumnSpec[] | undefined => {
    if (!columns!.some((c) => c.nested)) return undefined;
    const wider = widenColumns(columns!, {
      length: batch.length,
      columns: pick(
        batch,
        columns!.filter((c) => c.nested).map((c) => c.name),
      ),
    });
    return wider === columns ? undefined : [...wider];
  };

  const widen = async (batch: Batch) => {
    if (!columns || !options.widen) return;
    // a nested column whose values need a wider shape (a new struct field): a new shard with it
    const wider = widerShapes(batch);
    if (wider) {
      await finishCurrent();
      columns = wider;
    }
    const fresh = Object.keys(batch.columns).filter((k) => !names!.has(k));
    if (!fresh.length) return;
    // A new column starts a new shard whose schema is the old one plus the new columns.
    await finishCurrent();
    const sub = dict<unknown[]>();
    for (const k of fresh) sub[k] = batch.columns[k];
    columns = [
      ...columns,
      ...inferColumns({ length: batch.length, columns: sub, types: batch.types, declared: batch.declared }),
    ];
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
    failedUpload();
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
    await Promise.allSettled([...uploads]);
    await Promise.all(files.map((f) => rm(f, { force: true })));
    if (staging) {
      // temporary objects and the final ones already copied: a failed writer leaves nothing behind
      const urls = [...done.flatMap((d) => (d.remote ? [d.remote] : [])), ...published];
      await Promise.all(
        urls.map((u) =>
          storageFor(u)
            .remove(u)
            .then(() => staging.removed(u))
            .catch(() => {}),
        ),
      );
    }
    done.length = 0;
  };

  /** Remote output: copy each temporary object to its final name (4 at a time), then remove it. */
  const publish = async (st: NonNullable<typeof staging>, total: number): Promise<WrittenShard[]> => {
    await Promise.all([...uploads]);
    failedUpload();
    if (total) await st.publish();
    const shards: WrittenShard[] = new Array(total);
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const d = done[i];
        const path = join(options.dir, shardName(prefix, i, total, ext));
        const url = st.url(path);
        const store = storageFor(url);
        await store.copy(d.remote as string, url);
        published.push(url);
        st.wrote(url, d.bytes);
        await store.remove(d.remote as string);
        st.removed(d.remote as string);
        d.remote = undefined;
        shards[i] = { path, rows: d.rows, bytes: d.bytes as number, sha256: d.sha256 as string };
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, total) }, worker));
    return shards;
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
      return enqueue(() =>
        writeBatch(batch).catch((e: unknown) => {
          throw diskFull(e, current?.tmp ?? options.dir);
        }),
      );
    },
    close() {
      if (state !== 'open') return Promise.reject(new Error(`shard writer is ${state}`));
      state = 'closed';
      return enqueue(async () => {
        try {
          await finishCurrent();
          const total = done.length;
          if (staging) return await publish(staging, total);
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
          const path = current?.tmp ?? options.dir;
          await cleanup();
          throw diskFull(e, path);
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
