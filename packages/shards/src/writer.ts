/**
 * Shard writers: rotate output files by rows and/or bytes under temporary
 * names, rename them to `prefix-NNNNN-of-MMMMM.ext` at close (the total is only
 * known then), and record rows, bytes and sha256 per shard.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type Batch, dict, InputError } from '@curate/core';
import { createFileWriter, DEFAULT_COMPRESSION, extensionFor } from './formats.js';
import { inferColumns, widenColumns } from './infer.js';
import { createRotation } from './rotation.js';
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
  let columns: ColumnSpec[] | undefined = options.columns;
  let names: Set<string> | undefined = columns ? new Set(columns.map((c) => c.name)) : undefined;
  const shards = createRotation<{ writer: FileWriter; rows: number }, number>({
    dir: options.dir,
    prefix,
    exts: [ext],
    kind: 'shard writer',
    open: async (base) => ({
      writer: await createFileWriter(format, `${base}${ext}`, {
        columns: columns!,
        compression,
        rowGroupRows: options.rowGroupRows,
      }),
      rows: 0,
    }),
    finish: async (c) => {
      await c.writer.close();
      return c.rows;
    },
    discard: (c) => c.writer.close(),
  });
  const finishCurrent = shards.rotate;

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
      const cur = await shards.current();
      let end = Math.min(batch.length, pos + (maxRows - cur.rows));
      if (maxBytes !== Number.POSITIVE_INFINITY) end = Math.min(end, pos + BYTES_STEP_ROWS);
      await cur.writer.write(slice(batch, pos, end));
      cur.rows += end - pos;
      pos = end;
      if (cur.rows >= maxRows || cur.writer.bytes >= maxBytes) await finishCurrent();
    }
  };

  return {
    write: (batch: Batch) => shards.run(() => writeBatch(batch)),
    async close() {
      const out = await shards.close();
      return out.map(
        ({ info, files: [f] }): WrittenShard => ({ path: f.path, rows: info, bytes: f.bytes, sha256: f.sha256 }),
      );
    },
    abort: () => shards.abort(),
  };
}
