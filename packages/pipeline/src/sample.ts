/**
 * Pass 2 of one input file on a worker thread: re-read the file, re-derive the text of its
 * selected rows (only the filters that rewrite text run again) and return them as spill
 * records (`v8.serialize([position, row])`, length-prefixed, as BucketSpill writes them), so
 * the main thread only files the records into buckets. The records are byte-identical to the
 * ones the main thread builds itself (same `makeRow`, same serializer).
 */
import { serialize } from 'node:v8';
import { type Batch, dict, type Kind, type Row } from '@curate/core';
import type { FileStamp } from '@curate/dedup';
import { CorpusMetrics, type CorpusMetricsState, RoleMetrics, type RoleMetricsState } from '@curate/metrics';
import type { PassColumn } from '@curate/recipe/columns';
import { type InputFile, isConversation, readShard } from '@curate/shards';
import { isBlank, parseLine, rawLines } from '@curate/shards/lines';
import { checkRow, checkStamp, rowsChanged } from './integrity.js';
import { rowGeneration, rowGenerator } from './lineage.js';
import type { Scanner } from './scan.js';
import { cleanedText, loadSpans } from './spans.js';

/** A row's depth from its lineage column (pass 1 refused any value that is not one). */
function rowDepth(v: unknown, fallback: number): number {
  const g = rowGeneration(v, fallback);
  if (typeof g === 'string') throw new Error(`internal: generation column ${g} after pass 1 accepted it`);
  return g;
}

/** The fields of a source a row needs. */
export interface RowSource {
  name: string;
  kind: Kind;
  generator: string | null;
  /** Generation depth (the `generation` column, lineage.ts). */
  generation: number;
  /** The source's lineage columns: each row's generation depth and generator, where not null (lineage.ts). */
  generationColumn?: string;
  generatorColumn?: string;
}

export function makeRow(
  s: RowSource,
  sourceRow: number,
  id: string,
  text: string,
  epoch: number | null,
  batch: Batch,
  r: number,
  passCols: PassColumn[],
  reason: string | null,
  /** Redaction (pii) of string pass-through values, when a redacting filter applies to the source. */
  redact: ((s: string) => string) | null = null,
): Row {
  // a dictionary without prototype: a pass-through column named "__proto__" stays a column
  const row: Row = Object.assign(dict(), {
    id,
    text,
    source: s.name,
    kind: s.kind,
    source_row: sourceRow,
    epoch,
    generator: s.generatorColumn ? rowGenerator(batch.columns[s.generatorColumn]?.[r], s.generator) : s.generator,
    generation: s.generationColumn ? rowDepth(batch.columns[s.generationColumn]?.[r], s.generation) : s.generation,
  });
  if (reason !== null) {
    delete row.epoch;
    row.reason = reason;
  }
  for (const c of passCols) {
    const v = Object.hasOwn(batch.columns, c.input) ? batch.columns[c.input][r] : undefined;
    row[c.output] = v === undefined ? null : redact && typeof v === 'string' ? redact(v) : v;
  }
  return row;
}

export interface SampleTask {
  kind: 'sample';
  /** Index of the task in the pass-2 task list. */
  id: number;
  sourceIndex: number;
  source: RowSource;
  path: string;
  format: string;
  compression?: string;
  size: number;
  /** Estimated work (for ordering: the most expensive tasks start first). */
  cost: number;
  /** This task's share of the file's bytes (for progress). */
  bytes: number;
  /** Source row of the file's first row. */
  fileBase: number;
  /** Every column name of the file, as pass 1 saw them (the raw JSONL path rebuilds rows' batches with them). */
  keys: string[];
  /** Selected entries of this file, by source row then epoch: row, epoch, output position, id. */
  rows: Uint32Array;
  epochs: Uint16Array;
  pos: Float64Array;
  ids: string[];
  /** Pass 1's hash of each entry's rendered text, and the file's stamp: pass 2 checks both. */
  hashes: Uint32Array;
  stamp: FileStamp;
  passCols: PassColumn[];
  /** Seed of the diversity metrics to take over the written texts here (null: the main thread does it). */
  metricsSeed: number | null;
  /** The file's stored spans (what the rewriting steps removed, spans.ts), when the work dir has them. */
  spansFile?: { path: string; sha256: string };
}

export interface SampleResult {
  id: number;
  /** Rows read from the file, and selected entries found again. */
  rowsRead: number;
  found: number;
  /** Rows whose cleaned text came from the stored spans, and rows whose rewriting steps ran again. */
  fromSpans: number;
  rederived: number;
  /** Records back to back; record k is data[offsets[k], offsets[k + 1]) with output position positions[k]. */
  data: Uint8Array;
  offsets: Uint32Array;
  positions: Float64Array;
  /** Diversity metrics of the records' texts (one add per record, as the writer adds them), when asked. */
  metrics: CorpusMetricsState | null;
  /** The same per role of a conversation source's turns (role-metrics.ts), when asked. */
  roleMetrics: RoleMetricsState | null;
  /** Thread seconds spent in metrics calls. */
  metricsSeconds: number;
}

/**
 * The selected rows of one file: each as a one-row batch with every column of the file (null where
 * the row has none, as the reader's batches have them), and its row within the file.
 */
async function* selectedRows(
  scanner: Scanner,
  task: SampleTask,
): AsyncGenerator<{ batch: Batch; r: number; sr: number }, number> {
  const n = task.rows.length;
  let ptr = 0;
  if (task.format === 'jsonl') {
    // JSONL (gzip and zstd decompressed as a stream): lines are found as bytes and only the selected
    // ones are decoded and parsed (pass 1 parsed every line; a 1-in-50 sample of Gutenberg books
    // skips 49 books in 50).
    let record = 0;
    let line = 0;
    const keySet = new Set(task.keys);
    for await (const c of rawLines(
      task.path,
      0,
      Number.POSITIVE_INFINITY,
      true,
      task.compression as 'gzip' | 'zstd' | undefined,
    )) {
      for (let i = 0; i < c.count && ptr < n; i++) {
        const ln = line++;
        if (isBlank(c.buf, c.starts[i], c.ends[i])) continue;
        const sr = task.fileBase + record++;
        if (task.rows[ptr] !== sr) continue;
        const obj = parseLine(c.buf, c.starts[i], c.ends[i], task.path, ln);
        const entries: [string, unknown[]][] = task.keys.map((k) => [k, [Object.hasOwn(obj, k) ? obj[k] : null]]);
        for (const k of Object.keys(obj)) if (!keySet.has(k)) entries.push([k, [obj[k]]]);
        // fromEntries defines own properties, so a key such as "__proto__" stays a column (as in the reader)
        const columns = Object.fromEntries(entries) as Record<string, unknown[]>;
        yield { batch: { length: 1, columns, file: task.path, offset: record - 1 }, r: 0, sr };
        while (ptr < n && task.rows[ptr] === sr) ptr++;
      }
      if (ptr >= n) break;
    }
    return record;
  }
  let rowsRead = 0;
  const file: InputFile = {
    path: task.path,
    format: task.format as never,
    compression: task.compression as never,
    size: task.size,
  };
  for await (const batch of readShard(file, { columns: await scanner.readColumns(task.sourceIndex, file) })) {
    const base = task.fileBase + (batch.offset ?? 0);
    for (let r = 0; r < batch.length && ptr < n; r++) {
      const sr = base + r;
      if (task.rows[ptr] !== sr) continue;
      yield { batch, r, sr };
      while (ptr < n && task.rows[ptr] === sr) ptr++;
    }
    rowsRead += batch.length;
    if (ptr >= n) break; // nothing more to find in this file
  }
  return rowsRead;
}

export async function sampleFile(scanner: Scanner, task: SampleTask): Promise<SampleResult> {
  const n = task.rows.length;
  const parts: Buffer[] = [];
  const offsets = new Uint32Array(n + 1);
  const positions = new Float64Array(n);
  let bytes = 0;
  let ptr = 0;
  scanner.chain.doc.file = task.path;
  const metrics = task.metricsSeed === null ? null : new CorpusMetrics({ seed: task.metricsSeed });
  const template = scanner.templates[task.sourceIndex];
  const conv = metrics && isConversation(template) ? template : null;
  const roles = conv ? new RoleMetrics({ seed: task.metricsSeed as number }) : null;
  let metricsMs = 0;
  await checkStamp(task.path, task.stamp);
  const redact = scanner.redactor(task.sourceIndex);
  // the cleaned text from the stored spans (the rewriting steps run only where they are not a deletion)
  const fileSpans = scanner.transforms && task.spansFile ? await loadSpans(task.spansFile) : null;
  const derive = { fromSpans: 0, rederived: 0 };
  const it = selectedRows(scanner, task);
  let next = await it.next();
  while (!next.done) {
    const { batch, r, sr } = next.value;
    const raw = scanner.templates[task.sourceIndex].render(batch, r);
    checkRow(task.path, sr - task.fileBase, raw, task.hashes[ptr]);
    const text = scanner.transforms
      ? cleanedText(
          raw,
          fileSpans,
          sr - task.fileBase,
          derive,
          () => scanner.judge(task.sourceIndex, raw, batch, r).text,
        )
      : raw;
    while (ptr < n && task.rows[ptr] === sr) {
      const row = makeRow(
        task.source,
        sr,
        task.ids[ptr],
        text,
        task.epochs[ptr],
        batch,
        r,
        task.passCols,
        null,
        redact,
      );
      const body = serialize([task.pos[ptr], row]);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32LE(body.length, 0);
      parts.push(head, body);
      offsets[ptr] = bytes;
      positions[ptr] = task.pos[ptr];
      bytes += body.length + 4;
      ptr++;
      if (metrics) {
        const t = performance.now();
        metrics.add(text);
        if (conv) roles?.add(conv.turns(batch, r));
        metricsMs += performance.now() - t;
      }
    }
    next = await it.next();
  }
  const rowsRead = next.value;
  if (ptr !== n) throw rowsChanged(task.path, `${n - ptr} selected rows were not found again`);
  await checkStamp(task.path, task.stamp);
  offsets[ptr] = bytes;
  // a buffer of its own (transferred to the main thread; never a slice of Node's shared pool)
  const data = new Uint8Array(bytes);
  let o = 0;
  for (const b of parts) {
    data.set(b, o);
    o += b.length;
  }
  return {
    id: task.id,
    rowsRead,
    ...derive,
    found: ptr,
    data,
    offsets: offsets.slice(0, ptr + 1),
    positions: positions.slice(0, ptr),
    metrics: metrics ? metrics.toState() : null,
    roleMetrics: roles ? roles.toState() : null,
    metricsSeconds: metricsMs / 1000,
  };
}
