/**
 * The write stage: the seeded global order is split per source into (row, epoch, position); pass 2
 * re-reads each input (on the scan threads when no rejected rows are written), proves each row is the
 * one the scan judged (size, mtime, row count, text hash), scatters selected rows into shuffle buckets
 * on disk and rejected rows into `rejected/`, then writes the buckets in output order into shards,
 * measuring the written rows' diversity metrics per source on the way.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Batch, CurateError, dict, type ProgressListener, type Row, rowsToBatch } from '@curate/core';
import { CorpusMetrics, RoleMetrics } from '@curate/metrics';
import type { SampleSelection, shuffleOrder } from '@curate/mix';
import type { Recipe } from '@curate/recipe';
import {
  type ColumnSpec,
  type ColumnType,
  createShardWriter,
  isConversation,
  mergeColumnSpecs,
  readShard,
  type ShardWriter,
  type WrittenShard,
} from '@curate/shards';
import { checkRow, checkStamp, rowsChanged } from '../integrity.js';
import { withGenerationColumn } from '../lineage.js';
import { createOutputWriter, rowShardFormat } from '../output-writer.js';
import type { SamplePool } from '../pool.js';
import type { RunOptions } from '../run.js';
import { makeRow, type SampleTask } from '../sample.js';
import { passThroughColumns, Scanner } from '../scan.js';
import { BucketSpill } from '../spill.js';
import type { SourceState } from './sources.js';

const BUCKET_BYTES = 64 << 20;
const WRITE_BATCH = 4096;

export interface WriteContext {
  recipe: Recipe;
  sources: SourceState[];
  selections: SampleSelection[];
  /** The plan's seeded global order (computed here: a dry run never needs it). */
  order: () => ReturnType<typeof shuffleOrder>;
  /** The output's temporary directory. */
  out: { tmpDir: string };
  /** The scan threads, when they may do pass 2 (closed here). */
  samplePool: SamplePool | null;
  workers: number;
  options: RunOptions;
  progress: ProgressListener;
  totalBytes: number;
  idOf: (s: SourceState, sourceRow: number) => string;
  /** Receives sample_seconds and write_seconds. */
  timings: Record<string, number>;
}

export interface WriteResult {
  shards: WrittenShard[];
  rejectedShards: WrittenShard[];
  written: number;
  rejectedRows: number;
  columns: ColumnSpec[];
  /** Diversity metrics of the written rows per source (unless `options.metrics === false`). */
  bySource: Map<string, CorpusMetrics>;
  /** The same per role of the conversation sources' turns (role-metrics.ts). */
  byRole: Map<string, RoleMetrics>;
  metricsSeconds: number;
}

function now(): number {
  return performance.now();
}

export async function writeStage(ctx: WriteContext): Promise<WriteResult> {
  const { recipe, sources, selections, out, samplePool, workers, options, progress, totalBytes, idOf, timings } = ctx;
  // Global order -> per source (row, epoch, position), sorted by source row for pass 2.
  const t3 = now();
  const order = ctx.order();
  const total = order.length;
  const perSourceSel = sources.map((_, si) => ({
    n: 0,
    rows: new Uint32Array(selections[si].documents),
    epochs: new Uint16Array(selections[si].documents),
    pos: new Float64Array(selections[si].documents),
  }));
  let p = 0;
  for (const chunk of order) {
    for (let i = 0; i < chunk.length; i++) {
      const ps = perSourceSel[chunk.source[i]];
      ps.rows[ps.n] = sources[chunk.source[i]].avail[chunk.row[i]];
      ps.epochs[ps.n] = chunk.epoch[i];
      ps.pos[ps.n] = p++;
      ps.n++;
    }
  }
  let estBytes = 0;
  for (let si = 0; si < sources.length; si++) {
    const sel = selections[si];
    for (let i = 0; i < sel.rows.length; i++) estBytes += sources[si].availChars[sel.rows[i]] * 2 + 200;
  }
  const spillDir = join(out.tmpDir, '.spill');
  await mkdir(spillDir, { recursive: true });
  const spill = new BucketSpill(spillDir, Math.max(1, Math.ceil(estBytes / BUCKET_BYTES)), total);

  // Pass 2: re-read, scatter selected rows to buckets and rejected rows to rejected/.
  const rejectedWriter: ShardWriter | null = recipe.output.write_rejected
    ? createShardWriter({
        dir: join(out.tmpDir, 'rejected'),
        ...rowShardFormat(recipe),
        maxRows: recipe.output.shard_rows,
        maxBytes: recipe.output.shard_size,
        columns: withGenerationColumn(rejectedColumns(sources)),
      })
    : null;
  if (rejectedWriter) await mkdir(join(out.tmpDir, 'rejected'), { recursive: true });
  let rejectedRows = 0;
  let pass2Bytes = 0;
  let pass2Rows = 0;
  const pool = samplePool;
  // The pass-1 threads do pass 2 unless rejected rows must be written (only this thread writes).
  const threaded = pool !== null && !rejectedWriter;
  // Diversity metrics of the written rows, per source (kinds are merged from sources below).
  const bySource = new Map<string, CorpusMetrics>();
  const metricsFor = (m: Map<string, CorpusMetrics>, k: string) => {
    let x = m.get(k);
    if (!x) {
      x = new CorpusMetrics({ seed: recipe.seed });
      m.set(k, x);
    }
    return x;
  };
  const byRole = new Map<string, RoleMetrics>();
  const rolesFor = (k: string) => {
    let x = byRole.get(k);
    if (!x) byRole.set(k, (x = new RoleMetrics({ seed: recipe.seed })));
    return x;
  };
  let metricsSeconds = 0;
  // On the pass-2 threads, each file's texts are measured where they are read; the accumulators
  // merge exactly (order does not matter), so the writer below does not measure again.
  const metricsInPass2 = threaded && options.metrics !== false;
  if (threaded) {
    // On the pass-1 threads, one task per file with selected rows (or per row range of a big JSONL
    // file); records arrive ready to file.
    const stasks: SampleTask[] = [];
    for (const s of sources) {
      const sel = perSourceSel[s.index];
      const idx = sortIndex(sel.rows, sel.epochs, sel.n);
      const passCols = passThroughColumns(recipe, s.index);
      let k = 0;
      for (let fi = 0; fi < s.files.length && k < sel.n; fi++) {
        const end = fi + 1 < s.files.length ? s.fileBase[fi + 1] : Number.POSITIVE_INFINITY;
        const start = k;
        while (k < sel.n && sel.rows[idx[k]] < end) k++;
        if (k === start) continue;
        const f = s.files[fi];
        const sc = s.scans[fi];
        // A JSONL file with many selected rows is shared out in row ranges (each task scans the
        // file's bytes and parses only its own lines), so no thread finishes pass 2 alone.
        const m = k - start;
        const raw = f.format === 'jsonl' && !f.compression;
        const chunks = raw ? Math.max(1, Math.min(workers, Math.floor(m / 128))) : 1;
        let from = start;
        for (let c = 1; c <= chunks; c++) {
          let to = c === chunks ? k : start + Math.round((m * c) / chunks);
          while (to < k && to > from && sel.rows[idx[to]] === sel.rows[idx[to - 1]]) to++; // whole rows
          if (to <= from) continue;
          const n = to - from;
          const rows = new Uint32Array(n);
          const epochs = new Uint16Array(n);
          const pos = new Float64Array(n);
          const ids: string[] = new Array(n);
          const hashes = new Uint32Array(n);
          let chars = 0;
          for (let j = 0; j < n; j++) {
            const e = idx[from + j];
            rows[j] = sel.rows[e];
            epochs[j] = sel.epochs[e];
            pos[j] = sel.pos[e];
            ids[j] = idOf(s, sel.rows[e]);
            hashes[j] = sc.textHashes[sel.rows[e] - s.fileBase[fi]];
            chars += sc.chars[sel.rows[e] - s.fileBase[fi]];
          }
          stasks.push({
            kind: 'sample',
            id: stasks.length,
            sourceIndex: s.index,
            source: { name: s.name, kind: s.kind, generator: s.generator, generation: s.generation },
            path: f.path,
            format: f.format,
            compression: f.compression,
            size: f.size,
            // characters to re-derive and write, plus the bytes to scan (an estimate, for ordering)
            cost: chars + f.size / 16,
            bytes: f.size / chunks,
            fileBase: s.fileBase[fi],
            keys: sc.keys,
            rows,
            epochs,
            pos,
            ids,
            hashes,
            stamp: sc.stat,
            passCols,
            metricsSeed: metricsInPass2 ? recipe.seed : null,
          });
          from = to;
        }
      }
    }
    const found = new Array(sources.length).fill(0);
    await pool.run(
      stasks,
      (t, r) => {
        for (let j = 0; j < r.found; j++)
          spill.addRecord(r.positions[j], r.data.subarray(r.offsets[j], r.offsets[j + 1]));
        found[t.sourceIndex] += r.found;
        if (r.metrics) {
          const tm = now();
          metricsFor(bySource, t.source.name).merge(CorpusMetrics.fromState(r.metrics));
          if (r.roleMetrics) rolesFor(t.source.name).merge(RoleMetrics.fromState(r.roleMetrics));
          metricsSeconds += r.metricsSeconds + (now() - tm) / 1000;
        }
        pass2Rows += r.rowsRead;
        pass2Bytes += t.bytes;
        progress({ phase: 'sample', rows: pass2Rows, bytes: pass2Bytes, totalBytes });
      },
      options.signal,
    );
    for (const s of sources) {
      const n = perSourceSel[s.index].n;
      if (found[s.index] !== n) {
        throw new CurateError(
          `source "${s.name}" changed between passes: ${n - found[s.index]} selected rows were not found again (were its files modified during the run?)`,
          { code: 'E_INPUT_CHANGED' },
        );
      }
    }
  }
  // Pass 2 on this thread: its own text-only scanner (not built when the pass-1 threads did pass 2).
  const mainSources = threaded ? [] : sources;
  let textScanner: Scanner | undefined;
  for (const s of mainSources) {
    textScanner ??= await Scanner.create(recipe, { textOnly: true });
    const scanner = textScanner;
    const sel = perSourceSel[s.index];
    const idx = sortIndex(sel.rows, sel.epochs, sel.n);
    let ptr = 0;
    const passCols = passThroughColumns(recipe, s.index);
    // pii: rejected rows' text and every row's string pass-through values are redacted too
    const redact = scanner.redactor(s.index);
    // per-role metrics of a conversation source's written rows, from its turns (here, where they are parsed)
    const tpl = scanner.templates[s.index];
    const conv = options.metrics !== false && isConversation(tpl) ? tpl : null;
    let rejected: Row[] = [];
    for (let fi = 0; fi < s.files.length; fi++) {
      const f = s.files[fi];
      const sc = s.scans[fi];
      scanner.chain.doc.file = f.path;
      await checkStamp(f.path, sc.stat);
      let fileRows = 0;
      for await (const batch of readShard(f)) {
        const base = s.fileBase[fi] + (batch.offset ?? 0);
        fileRows += batch.length;
        if (fileRows > sc.rows) throw rowsChanged(f.path, `more than the ${sc.rows} rows pass 1 read`);
        for (let r = 0; r < batch.length; r++) {
          const sr = base + r;
          const reason = s.reasons.get(sr);
          if (reason !== undefined) {
            if (rejectedWriter) {
              const raw = scanner.templates[s.index].render(batch, r);
              checkRow(f.path, sr - s.fileBase[fi], raw, sc.textHashes[sr - s.fileBase[fi]]);
              rejected.push(
                makeRow(s, sr, idOf(s, sr), redact ? redact(raw) : raw, null, batch, r, passCols, reason, redact),
              );
              if (rejected.length >= WRITE_BATCH) {
                await rejectedWriter.write(rowsToBatch(rejected));
                rejectedRows += rejected.length;
                rejected = [];
              }
            }
            continue;
          }
          if (ptr >= sel.n || sel.rows[idx[ptr]] !== sr) continue;
          const raw = scanner.templates[s.index].render(batch, r);
          checkRow(f.path, sr - s.fileBase[fi], raw, sc.textHashes[sr - s.fileBase[fi]]);
          const text = scanner.transforms ? scanner.judge(s.index, raw, batch, r).text : raw;
          const id = idOf(s, sr);
          while (ptr < sel.n && sel.rows[idx[ptr]] === sr) {
            const j = idx[ptr++];
            spill.add(sel.pos[j], makeRow(s, sr, id, text, sel.epochs[j], batch, r, passCols, null, redact));
            if (conv) rolesFor(s.name).add(conv.turns(batch, r));
          }
        }
        pass2Rows += batch.length;
        progress({ phase: 'sample', rows: pass2Rows, bytes: pass2Bytes, totalBytes });
      }
      if (fileRows !== sc.rows) throw rowsChanged(f.path, `${fileRows} rows where pass 1 read ${sc.rows}`);
      await checkStamp(f.path, sc.stat);
      pass2Bytes += f.size;
    }
    if (ptr !== sel.n) {
      throw new CurateError(
        `source "${s.name}" changed between passes: ${sel.n - ptr} selected rows were not found again (were its files modified during the run?)`,
        { code: 'E_INPUT_CHANGED' },
      );
    }
    if (rejectedWriter && rejected.length) {
      await rejectedWriter.write(rowsToBatch(rejected));
      rejectedRows += rejected.length;
    }
  }
  if (pool) await pool.close();
  timings.sample_seconds = (now() - t3) / 1000;

  // Write in output order; metrics on the written rows.
  const t4 = now();
  const columns = withGenerationColumn(outputColumns(sources, recipe));
  const writer = await createOutputWriter(recipe, {
    dir: out.tmpDir,
    maxRows: recipe.output.shard_rows,
    maxBytes: recipe.output.shard_size,
    columns,
    rowGroupRows: recipe.output.row_group_rows,
  });
  const tokensOfRow = new Map<string, Uint32Array>();
  for (const s of sources) tokensOfRow.set(s.name, s.availTokens);
  let written = 0;
  let shards: WrittenShard[] = [];
  let rejectedShards: WrittenShard[] = [];
  try {
    for (const rows of spill.drain()) {
      for (let i = 0; i < rows.length; i += WRITE_BATCH) {
        const part = rows.slice(i, i + WRITE_BATCH);
        if (options.metrics !== false && !metricsInPass2) {
          const tm = now();
          for (const row of part) {
            const text = row.text as string;
            metricsFor(bySource, row.source as string).add(text);
          }
          metricsSeconds += (now() - tm) / 1000;
        }
        await writer.write(toBatch(part, columns));
        written += part.length;
        progress({ phase: 'write', rows: written, bytes: 0 });
      }
    }
    shards = await writer.close();
    if (rejectedWriter) rejectedShards = await rejectedWriter.close();
  } catch (e) {
    await writer.abort().catch(() => {});
    await rejectedWriter?.abort().catch(() => {});
    throw e;
  }
  await rm(spillDir, { recursive: true, force: true });
  timings.write_seconds = (now() - t4) / 1000;
  return { shards, rejectedShards, written, rejectedRows, columns, bySource, byRole, metricsSeconds };
}

function toBatch(rows: Row[], columns: ColumnSpec[]): Batch {
  const cols = dict<unknown[]>();
  for (const c of columns) cols[c.name] = rows.map((r) => (Object.hasOwn(r, c.name) ? (r[c.name] ?? null) : null));
  return { length: rows.length, columns: cols };
}

const PROVENANCE: ColumnSpec[] = [
  { name: 'id', type: 'string' },
  { name: 'text', type: 'string' },
  { name: 'source', type: 'string' },
  { name: 'kind', type: 'string' },
  { name: 'source_row', type: 'int64' },
  { name: 'epoch', type: 'int64' },
  { name: 'generator', type: 'string' },
];

function passSpecs(sources: SourceState[], recipe: Recipe): ColumnSpec[] {
  const names: string[] = [];
  for (const s of sources)
    for (const c of passThroughColumns(recipe, s.index)) if (!names.includes(c.output)) names.push(c.output);
  const reserved = new Set([...PROVENANCE.map((c) => c.name), 'reason']);
  return names
    .filter((n) => !reserved.has(n))
    .map((name) => {
      // one spec over the sources (nested shapes merged: mergeColumnSpecs)
      const specs = sources.flatMap((s) => s.columns.filter((c) => c.name === name));
      return specs.length === 0
        ? { name, type: 'string' as ColumnType }
        : (mergeColumnSpecs([specs]).find((c) => c.name === name) as ColumnSpec);
    });
}

function outputColumns(sources: SourceState[], recipe: Recipe): ColumnSpec[] {
  return [...PROVENANCE, ...passSpecs(sources, recipe)];
}

function rejectedColumns(sources: SourceState[]): ColumnSpec[] {
  const cols = PROVENANCE.filter((c) => c.name !== 'epoch');
  const names = new Set<string>();
  const extra: ColumnSpec[] = [];
  for (const s of sources) {
    for (const c of s.columns) {
      if (cols.some((p) => p.name === c.name) || c.name === 'reason') continue;
      if (names.has(c.name)) {
        const i = extra.findIndex((x) => x.name === c.name);
        extra[i] = mergeColumnSpecs([[extra[i]], [c]])[0];
        continue;
      }
      names.add(c.name);
      extra.push(c);
    }
  }
  return [...cols, { name: 'reason', type: 'string' }, ...extra];
}

function sortIndex(rows: Uint32Array, epochs: Uint16Array, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => rows[a] - rows[b] || epochs[a] - epochs[b]);
  return idx;
}
