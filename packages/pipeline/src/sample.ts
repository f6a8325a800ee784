/**
 * Pass 2 of one input file (a row range of it) on a worker thread, or on the main thread when
 * there are none (`--workers 1`, a staged run's rank): re-read the file, re-derive the text of
 * its selected rows (only the filters that rewrite text run again) and return them as scatter
 * records (`pushTextRecord`: the row, then its text as UTF-8), with its dropped rows' records
 * when they are written, so the main thread only files the records into buckets. One code path:
 * the records are the same whichever thread builds them.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { serialize } from 'node:v8';
import { type Batch, dict, type Kind, type Row } from '@curate/core';
import { ByteScratch, type FileStamp, hash32Bytes, LineScanner, T_STRING, unescapeJsonString } from '@curate/dedup';
import { CorpusMetrics, type CorpusMetricsState, RoleMetrics, type RoleMetricsState } from '@curate/metrics';
import type { PassColumn } from '@curate/recipe/columns';
import { type InputFile, isConversation, readShard } from '@curate/shards';
import { decodeLine, isBlank, parseLine, parseRecord, rawLines } from '@curate/shards/lines';
import { checkRow, checkStamp, rowsChanged } from './integrity.js';
import { rowGeneration, rowGenerator } from './lineage.js';
import type { Scanner } from './scan.js';
import { applySpansUtf8, cleanedText, loadSpans } from './spans.js';

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
  /**
   * The dropped rows of this task's row range, by source row, when they are written
   * (`write_rejected`): reason, id and pass 1's hash of each.
   */
  rejected?: { rows: Uint32Array; reasons: string[]; ids: string[]; hashes: Uint32Array };
  passCols: PassColumn[];
  /** Seed of the diversity metrics to take over the written texts here (null: the main thread does it). */
  metricsSeed: number | null;
  /**
   * Seed of a conversation source's per-role metrics when they are taken here without the corpus
   * metrics (pass 2 on the main thread: the write units measure the texts, the turns are here).
   */
  roleMetricsSeed?: number;
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
  /** Records back to back in position order; record k is data[offsets[k], offsets[k + 1]) with output position positions[k]. */
  data: Uint8Array;
  offsets: Uint32Array;
  positions: Float64Array;
  /** The rejected rows' records (`pushTextRecord`, position -1), in file order, and their number. */
  rejectedData: Uint8Array;
  rejectedCount: number;
  /** Diversity metrics of the records' texts (one add per record, as the writer adds them), when asked. */
  metrics: CorpusMetricsState | null;
  /** The same per role of a conversation source's turns (role-metrics.ts), when asked. */
  roleMetrics: RoleMetricsState | null;
  /** Thread seconds spent in metrics calls. */
  metricsSeconds: number;
}

/**
 * The byte path of a JSONL file whose text is one string column (see `textFromBytes`): the line
 * scanner, the file's stored spans and the row counters of `cleanedText`.
 */
export interface BytePath {
  /** Its `lazyKey` is the text column's name as bytes. */
  scanner: LineScanner;
  spans: (Uint8Array | null)[] | null;
  transforms: boolean;
  derive: { fromSpans: number; rederived: number };
  scratch: ByteScratch;
}

function bytePath(
  scanner: Scanner,
  task: SampleTask,
  spans: (Uint8Array | null)[] | null,
  derive: { fromSpans: number; rederived: number },
): BytePath | null {
  const key = scanner.templates[task.sourceIndex].field;
  if (task.format !== 'jsonl' || key === undefined) return null;
  // the text column is read for nothing else (a pass-through or lineage column gets the reader's path)
  const s = task.source;
  if (task.passCols.some((c) => c.input === key) || s.generationColumn === key || s.generatorColumn === key)
    return null;
  // a rewriting step without stored spans runs again on every row: that needs the text as a string
  if (scanner.transforms && !spans) return null;
  const sc = new LineScanner();
  sc.lazyKey = Buffer.from(key, 'utf8');
  return { scanner: sc, spans, transforms: scanner.transforms, derive, scratch };
}

/** The thread's buffer for a line's text bytes (used within one line; grown once to the longest book). */
const scratch = new ByteScratch();

/**
 * A selected line's written text from its bytes, when the line is an object whose text column is
 * a plain string: the value's escapes are decoded into bytes, pass 1's hash is checked on them
 * (`hash32` of a string is `hash32Bytes` of its UTF-8), and only the pieces the stored spans keep
 * are decoded. A 400 KB book whose c4 cleaning keeps a tenth of it then never becomes a string of
 * its own twice (the line and the value): pass 2 of the re-mix bench decoded and parsed 65 MB of
 * books for 5.5 MB of text. The line's other columns are parsed with the value replaced by null.
 * Null for anything else (and for a hash that does not match): the caller takes the reader's
 * path, which gives the same text or the same error.
 */
export function textFromBytes(
  p: BytePath,
  buf: Buffer,
  s: number,
  e: number,
  row: number,
  hash: number,
  file: string,
  line: number,
): { text: string; obj: Record<string, unknown> } | null {
  const sc = p.scanner;
  if (!sc.scan(buf, s, e) || !sc.plainKeys || sc.lazyCount !== 1) return null;
  const k = sc.find(sc.lazyKey as Uint8Array);
  if (k < 0 || sc.valType[k] !== T_STRING) return null;
  const vs = sc.valStart[k];
  const ve = sc.valEnd[k];
  if (!isUtf8(buf.subarray(vs + 1, ve - 1))) return null;
  const n = unescapeJsonString(buf, vs + 1, ve - 1, p.scratch);
  if (n < 0) return null;
  const bytes = p.scratch.buf;
  if (hash32Bytes(bytes.subarray(0, n)) !== hash) return null;
  let text: string | null;
  const sp = p.transforms ? (p.spans?.[row] ?? null) : null;
  if (sp === null) text = bytes.toString('utf8', 0, n);
  else if (sp.byteLength === 0)
    return null; // rewritten, not deleted: the steps run again on the string
  else text = applySpansUtf8(bytes, n, sp, isAscii(bytes.subarray(0, n)));
  if (text === null) return null;
  if (p.transforms) p.derive.fromSpans++;
  const rest = `${decodeLine(buf, s, vs)}null${decodeLine(buf, ve, e)}`;
  return { text, obj: parseRecord(rest, file, line) };
}

/**
 * The selected rows of one file: each as a one-row batch with every column of the file (null where
 * the row has none, as the reader's batches have them), and its row within the file; `text` when
 * the byte path (`textFromBytes`) gave the row's written text (checked against pass 1's hash).
 */
async function* selectedRows(
  scanner: Scanner,
  task: SampleTask,
  bytes: BytePath | null,
): AsyncGenerator<{ batch: Batch; r: number; sr: number; text?: string; rejected?: true }, number> {
  const n = task.rows.length;
  let ptr = 0;
  // the rejected rows to write (none are selected): parsed whole, never by the byte path
  const rej = task.rejected?.rows ?? new Uint32Array(0);
  let rp = 0;
  const done = () => ptr >= n && rp >= rej.length;
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
      for (let i = 0; i < c.count && !done(); i++) {
        const ln = line++;
        if (isBlank(c.buf, c.starts[i], c.ends[i])) continue;
        const sr = task.fileBase + record++;
        if (rej[rp] === sr) {
          rp++;
          const obj = parseLine(c.buf, c.starts[i], c.ends[i], task.path, ln);
          yield { batch: lineBatch(task, keySet, obj, record - 1), r: 0, sr, rejected: true };
          continue;
        }
        if (task.rows[ptr] !== sr) continue;
        const fast = bytes
          ? textFromBytes(bytes, c.buf, c.starts[i], c.ends[i], sr - task.fileBase, task.hashes[ptr], task.path, ln)
          : null;
        const obj = fast ? fast.obj : parseLine(c.buf, c.starts[i], c.ends[i], task.path, ln);
        const batch = lineBatch(task, keySet, obj, record - 1);
        yield fast ? { batch, r: 0, sr, text: fast.text } : { batch, r: 0, sr };
        while (ptr < n && task.rows[ptr] === sr) ptr++;
      }
      if (done()) break;
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
    for (let r = 0; r < batch.length && !done(); r++) {
      const sr = base + r;
      if (rej[rp] === sr) {
        rp++;
        yield { batch, r, sr, rejected: true };
        continue;
      }
      if (task.rows[ptr] !== sr) continue;
      yield { batch, r, sr };
      while (ptr < n && task.rows[ptr] === sr) ptr++;
    }
    rowsRead += batch.length;
    if (done()) break; // nothing more to find in this file
  }
  return rowsRead;
}

/**
 * A parsed JSONL line as a one-row batch with every column of the file (null where the row has
 * none, as the reader's batches have them).
 */
function lineBatch(task: SampleTask, keySet: Set<string>, obj: Record<string, unknown>, offset: number): Batch {
  const entries: [string, unknown[]][] = task.keys.map((k) => [k, [Object.hasOwn(obj, k) ? obj[k] : null]]);
  for (const k of Object.keys(obj)) if (!keySet.has(k)) entries.push([k, [obj[k]]]);
  // fromEntries defines own properties, so a key such as "__proto__" stays a column (as in the reader)
  const columns = Object.fromEntries(entries) as Record<string, unknown[]>;
  return { length: 1, columns, file: task.path, offset };
}

/**
 * A row's record for the scatter file (a selected row's, or a dropped row's with position -1), its
 * body after the 4-byte length: the 4-byte length of `v8.serialize([position, row without its
 * text, text length in UTF-16 code units])`, that, then the text's UTF-8 bytes, which the write
 * stage hands to the Parquet writer as they are (`Utf8Text`, @curate/shards). A text with a lone
 * surrogate (UTF-8 has no form for it) stays in the row, with length -1, and the writer reports it
 * as before. Pushes [head, meta] onto `parts` and the text (or null) onto `texts`; returns the
 * record's size.
 */
function pushTextRecord(parts: Buffer[], texts: (string | null)[], pos: number, row: Row): number {
  const text = row.text;
  let meta: Buffer;
  let bytes = 0;
  if (typeof text === 'string' && (text as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    row.text = null;
    meta = serialize([pos, row, text.length]);
    row.text = text;
    bytes = Buffer.byteLength(text, 'utf8');
    texts.push(text);
  } else {
    meta = serialize([pos, row, -1]);
    texts.push(null);
  }
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(4 + meta.length + bytes, 0);
  head.writeUInt32LE(meta.length, 4);
  parts.push(head, meta);
  return 8 + meta.length + bytes;
}

/**
 * The records of `pushTextRecord` into `data`, in `order` (or as pushed), the texts encoded in
 * place; with `offsets`, each record's start and the end.
 */
function putRecords(
  data: Uint8Array,
  parts: Buffer[],
  texts: (string | null)[],
  order: number[] | null,
  offsets?: Uint32Array,
): void {
  const out = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  for (let j = 0; j < texts.length; j++) {
    const k = order ? order[j] : j;
    if (offsets) offsets[j] = o;
    const head = parts[2 * k];
    const meta = parts[2 * k + 1];
    data.set(head, o);
    data.set(meta, o + 8);
    const t = texts[k];
    if (t !== null) out.write(t, o + 8 + meta.length);
    o += 4 + head.readUInt32LE(0);
  }
  if (offsets) offsets[texts.length] = o;
}

export async function sampleFile(scanner: Scanner, task: SampleTask): Promise<SampleResult> {
  const n = task.rows.length;
  const parts: Buffer[] = [];
  const texts: (string | null)[] = [];
  let bytes = 0;
  let ptr = 0;
  scanner.chain.doc.file = task.path;
  const metrics = task.metricsSeed === null ? null : new CorpusMetrics({ seed: task.metricsSeed });
  const template = scanner.templates[task.sourceIndex];
  const roleSeed = task.metricsSeed ?? task.roleMetricsSeed ?? null;
  const conv = roleSeed !== null && isConversation(template) ? template : null;
  const roles = conv ? new RoleMetrics({ seed: roleSeed as number }) : null;
  let metricsMs = 0;
  await checkStamp(task.path, task.stamp);
  const redact = scanner.redactor(task.sourceIndex);
  // the cleaned text from the stored spans (the rewriting steps run only where they are not a deletion)
  const fileSpans = scanner.transforms && task.spansFile ? await loadSpans(task.spansFile) : null;
  const derive = { fromSpans: 0, rederived: 0 };
  const it = selectedRows(scanner, task, bytePath(scanner, task, fileSpans, derive));
  const rej = task.rejected;
  const rejParts: Buffer[] = [];
  const rejTexts: (string | null)[] = [];
  let rejBytes = 0;
  let rp = 0;
  let next = await it.next();
  while (!next.done) {
    const { batch, r, sr } = next.value;
    if (next.value.rejected && rej) {
      // as the main thread writes a dropped row (write.ts): its raw text, redacted, with its reason
      const raw = scanner.templates[task.sourceIndex].render(batch, r);
      checkRow(task.path, sr - task.fileBase, raw, rej.hashes[rp]);
      const row = makeRow(
        task.source,
        sr,
        rej.ids[rp],
        redact ? redact(raw) : raw,
        null,
        batch,
        r,
        task.passCols,
        rej.reasons[rp],
        redact,
      );
      rejBytes += pushTextRecord(rejParts, rejTexts, -1, row);
      rp++;
      next = await it.next();
      continue;
    }
    let text = next.value.text;
    if (text === undefined) {
      const raw = scanner.templates[task.sourceIndex].render(batch, r);
      checkRow(task.path, sr - task.fileBase, raw, task.hashes[ptr]);
      text = scanner.transforms
        ? cleanedText(
            raw,
            fileSpans,
            sr - task.fileBase,
            derive,
            () => scanner.judge(task.sourceIndex, raw, batch, r).text,
          )
        : raw;
    }
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
      bytes += pushTextRecord(parts, texts, task.pos[ptr], row);
      ptr++;
      if (metrics || roles) {
        const t = performance.now();
        metrics?.add(text);
        if (conv) roles?.add(conv.turns(batch, r));
        metricsMs += performance.now() - t;
      }
    }
    next = await it.next();
  }
  const rowsRead = next.value;
  if (ptr !== n) throw rowsChanged(task.path, `${n - ptr} selected rows were not found again`);
  if (rej && rp !== rej.rows.length)
    throw rowsChanged(task.path, `${rej.rows.length - rp} rejected rows were not found again`);
  await checkStamp(task.path, task.stamp);
  // A buffer of its own (transferred to the main thread; never a slice of Node's shared pool), the
  // records in output position order: then each bucket of the scatter unit is one run of it, which
  // the main thread writes as it is (write.ts `scatterFile`).
  const pos = task.pos;
  const order = Array.from({ length: ptr }, (_, k) => k).sort((a, b) => pos[a] - pos[b] || a - b);
  const data = new Uint8Array(bytes);
  const outOffsets = new Uint32Array(ptr + 1);
  const outPositions = new Float64Array(ptr);
  putRecords(data, parts, texts, order, outOffsets);
  for (let j = 0; j < ptr; j++) outPositions[j] = pos[order[j]];

  const rejectedData = new Uint8Array(rejBytes);
  putRecords(rejectedData, rejParts, rejTexts, null);
  return {
    id: task.id,
    rowsRead,
    ...derive,
    found: ptr,
    data,
    offsets: outOffsets,
    positions: outPositions,
    rejectedData,
    rejectedCount: rp,
    metrics: metrics ? metrics.toState() : null,
    roleMetrics: roles ? roles.toState() : null,
    metricsSeconds: metricsMs / 1000,
  };
}
