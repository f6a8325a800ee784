/**
 * File-level commands: `dedupFiles` (exact + near) and `decontamFiles`, used
 * by `curate dedup` / `curate decontam`. Every input column is kept; kept rows
 * go to `out/`, removed rows to `out/rejected/` with a `reason` column.
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  CurateError,
  type CurateErrorOptions,
  dropReason,
  InputError,
  type ProgressListener,
  RecipeError,
  type SourceCounters,
  Stats,
  selectRows,
  UsageError,
} from '@curate/core';
import {
  type ConversationOptions,
  checkTextSpec,
  type compileTemplate,
  compileTextSpec,
  conversationView,
  createSplitWriter,
  expandInputs,
  type InputFile,
  type ProtectedPath,
  prepareOutputDir,
  readShard,
  type TextSpec,
  textRuleFor,
  type WriteCompression,
  type WriteFormat,
  type WrittenShard,
} from '@curate/shards';
import { DecontamIndex, type EvalFile } from './decontam.js';
import { ExactDeduper, hash32 } from './exact.js';
import {
  type ChunkSummary,
  type ChunkTask,
  checkFirstBatch,
  type FirstBatchInfo,
  fastSignable,
  placeFirst,
  signJsonlChunk,
  signJsonlRange,
} from './fastsign.js';
import { isRawJsonl, LineShapes, writeSplitJsonl } from './fastwrite.js';
import { fileOptions, textOfFile } from './filetext.js';
import { checkStamp, inputChanged, LineHashReader, PassOneRecord, stampOf } from './integrity.js';
import type { Prefer } from './keep.js';
import { NearDedupIndex, type NearDedupOptions } from './near.js';
import { type BatchSignatures, FILE_SCALE, type SignOptions, signFiles, signTemplate } from './sign.js';

export interface OutputOptions {
  /** Output directory (refused when it exists and is not empty, unless `overwrite`). */
  out: string;
  overwrite?: boolean;
  /** Output format; default: the first input's (json -> jsonl). */
  format?: WriteFormat;
  compression?: WriteCompression;
  /** Write removed rows to `out/rejected/` with their reason. Default true. */
  writeRejected?: boolean;
  progress?: ProgressListener;
}

export interface DedupFilesOptions extends OutputOptions, SignOptions {
  /** Files, directories or globs. */
  inputs: string[];
  /** Exact dedup first (default true). */
  exact?: boolean;
  threshold?: number;
  bands?: number;
  rows?: number;
  verify?: boolean;
  verifyThreshold?: number;
  prefer?: Prefer;
  /** Parallel signers: the main thread plus `workers - 1` worker threads. Default min(2, cores). */
  workers?: number;
  /** Documents exact dedup holds in memory before it spills to the output's temporary folder (`ExactDeduperOptions.memoryRows`). */
  exactMemoryRows?: number;
  /** Bytes per chunk of uncompressed JSONL signed in parallel (default `chunkBytes(total, workers)`; small in tests). */
  chunkBytes?: number;
}

export interface Timings {
  [phase: string]: number;
}

export interface DedupSummary {
  documents_in: number;
  kept: number;
  removed: Record<string, number>;
  /** Rows without any word: no signature, so only exact dedup applies to them. */
  no_shingles: number;
  near: {
    threshold: number;
    num_perm: number;
    ngram: number;
    shingle: string;
    bands: number;
    rows: number;
    verify: boolean;
    verify_threshold: number;
    clusters: number;
    cluster_sizes: Record<string, number>;
    edges: number;
  } | null;
  exact_groups: number;
  sources: Record<string, SourceCounters>;
  outputs: { kept: WrittenShard[]; rejected: WrittenShard[] };
  workers: number;
  input_bytes: number;
  timings_s: Timings;
}

/** The worker script: dist/worker.js (also when this module runs from src under a test runner). */
export function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(dirname(here), '..', 'dist', 'worker.js') : join(dirname(here), 'worker.js');
}

function reviveError(e: {
  message: string;
  code?: string;
  file?: string;
  row?: number;
  category?: string;
}): CurateError {
  const o: CurateErrorOptions = { code: e.code, file: e.file, row: e.row };
  if (e.category === 'input') return new InputError(e.message, o);
  if (e.category === 'recipe') return new RecipeError(e.message, o);
  if (e.category === 'usage') return new UsageError(e.message, o);
  return new CurateError(e.message, o);
}

/** Bytes per chunk of an uncompressed JSONL file signed in parallel: about 8 chunks per signer, 1-32 MiB. */
export function chunkBytes(totalBytes: number, workers: number): number {
  return Math.min(32 << 20, Math.max(1 << 20, Math.ceil(totalBytes / (workers * 8))));
}

/** Cut files into chunks of about `size` bytes (the lines whose first byte is in [from, to)). */
export function cutChunks(files: InputFile[], fileIndexes: number[], size: number): ChunkTask[] {
  const chunks: ChunkTask[] = [];
  for (const fi of fileIndexes) {
    const n = Math.max(1, Math.ceil(files[fi].size / size));
    for (let k = 0; k < n; k++)
      chunks.push({
        chunk: chunks.length,
        fileIndex: fi,
        from: k * size,
        to: k === n - 1 ? Number.POSITIVE_INFINITY : (k + 1) * size,
      });
  }
  return chunks;
}

type WorkerError = Parameters<typeof reviveError>[0];

/**
 * Sign all rows of `files` with `workers` parallel signers: the main thread and `workers - 1` worker
 * threads. Uncompressed JSONL files on the fast path are cut into chunks that every signer takes in
 * order from a shared counter as it becomes free (a worker thread that starts late takes fewer), each
 * numbered from 0 and placed in its file here once the chunks before it are counted; the other files
 * go to signer `f % workers` when there are at least as many as signers, else by batches.
 */
export async function signAll(
  files: InputFile[],
  options: SignOptions,
  workers: number,
  onBatch: (s: BatchSignatures) => void,
  chunkSize?: number,
): Promise<void> {
  if (workers <= 1) {
    for await (const s of signFiles(
      files,
      files.map((_, i) => i),
      options,
    ))
      onBatch(s);
    return;
  }
  const script = workerScript();
  const ws: Worker[] = [];
  const firsts = new Map<number, { offset: number; info: FirstBatchInfo }[]>();
  const noteFirst = (fileIndex: number, offset: number, info: FirstBatchInfo) => {
    const l = firsts.get(fileIndex) ?? [];
    l.push({ offset, info });
    firsts.set(fileIndex, l);
  };
  // (a compressed file cannot be entered at a byte offset: it is read whole, by batches)
  const chunked = (i: number) =>
    options.fastJsonl !== false && !files[i].compression && fastSignable(files[i], fileOptions(options, i));
  const all = files.map((_, i) => i);
  const rest = all.filter((i) => !chunked(i));
  const byFiles = rest.length >= workers;
  const chunks = cutChunks(
    files,
    all.filter(chunked),
    chunkSize ??
      chunkBytes(
        all.filter(chunked).reduce((a, i) => a + files[i].size, 0),
        workers,
      ),
  );
  // [next chunk to take, 1 once a chunk failed]
  const control = new Int32Array(new SharedArrayBuffer(8));
  // chunk results, delivered in file order once the records before them are known
  const pending: BatchSignatures[][] = chunks.map(() => []);
  const summaries: (ChunkSummary | undefined)[] = chunks.map(() => undefined);
  const failed = new Map<number, CurateError>();
  let delivered = 0;
  let fileRecords = 0;
  const deliver = () => {
    while (delivered < chunks.length && summaries[delivered]) {
      const c = chunks[delivered];
      const sum = summaries[delivered] as ChunkSummary;
      if (c.from === 0) fileRecords = 0;
      const path = files[c.fileIndex].path;
      for (const b of pending[delivered]) {
        b.offset += fileRecords;
        for (let r = 0; r < b.length; r++) if (b.ids[r] === undefined) b.ids[r] = `${path}:${b.offset + r}`;
        onBatch(b);
      }
      pending[delivered] = [];
      const first = placeFirst(sum.first, fileRecords, options.batchSize ?? 2048);
      if (first) noteFirst(c.fileIndex, c.from, first);
      fileRecords += sum.records;
      delivered++;
    }
  };
  const chunkBatch = (chunk: number, b: BatchSignatures) => {
    pending[chunk].push(b);
  };
  const chunkDone = (s: ChunkSummary) => {
    summaries[s.chunk] = s;
    deliver();
  };
  const chunkFailed = (chunk: number, e: CurateError) => {
    Atomics.store(control, 1, 1);
    failed.set(chunk, e);
  };
  // Functions (progress) and signals cannot cross to a worker: it gets the plain options.
  const {
    progress: _progress,
    signal: _signal,
    ...plain
  } = options as SignOptions & { progress?: unknown; signal?: unknown };
  try {
    await Promise.all(
      Array.from({ length: workers }, (_, part) => {
        const fileIndexes = rest.filter((i) => !byFiles || i % workers === part);
        const workerData = {
          files,
          fileIndexes,
          options: plain,
          part: byFiles ? 0 : part,
          stride: byFiles ? 1 : workers,
          chunks,
          control,
        };
        if (part === 0) {
          // the main thread signs too: one thread fewer to start and load modules in
          return (async () => {
            const d = workerData;
            for await (const b of signFiles(files, d.fileIndexes, options, d.part, d.stride)) onBatch(b);
            for (;;) {
              if (Atomics.load(control, 1)) break;
              const c = Atomics.add(control, 0, 1);
              if (c >= chunks.length) break;
              try {
                const it = signJsonlChunk(files, chunks[c], options);
                for (;;) {
                  const n = await it.next();
                  if (n.done) {
                    chunkDone(n.value);
                    break;
                  }
                  chunkBatch(c, n.value);
                }
              } catch (e) {
                chunkFailed(c, e as CurateError);
              }
            }
          })();
        }
        const w = new Worker(script, { workerData });
        ws.push(w);
        return new Promise<void>((resolve, reject) => {
          w.on(
            'message',
            (m: {
              type: string;
              data?: BatchSignatures;
              chunk?: number;
              summary?: ChunkSummary;
              error?: WorkerError;
            }) => {
              if (m.type === 'batch') {
                const b = m.data as BatchSignatures & { first?: FirstBatchInfo };
                if (m.chunk !== undefined) chunkBatch(m.chunk, b);
                else {
                  if (b.first) noteFirst(b.fileIndex, b.offset, b.first);
                  if (b.length) onBatch(b);
                }
              } else if (m.type === 'chunk') chunkDone(m.summary as ChunkSummary);
              else if (m.type === 'chunkError') chunkFailed(m.chunk as number, reviveError(m.error as WorkerError));
              else if (m.type === 'done') resolve();
              else if (m.type === 'error') reject(reviveError(m.error as WorkerError));
            },
          );
          w.on('error', reject);
          w.on('exit', (code) => {
            if (code !== 0)
              reject(new CurateError(`dedup worker exited with code ${code}`, { code: 'E_DEDUP_WORKER' }));
            else resolve();
          });
        });
      }),
    );
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
  if (failed.size) {
    // the first failed chunk in file order (every chunk before it was signed): signed again with the
    // file's line numbers, it gives the error the generic path gives
    const c = Math.min(...failed.keys());
    for await (const _ of signJsonlRange(files, chunks[c], options)) {
      // only its error matters
    }
    throw failed.get(c);
  }
  for (const [fi, l] of firsts) {
    l.sort((a, b) => a.offset - b.offset);
    await checkFirstBatch(
      textOfFile(options, fi),
      files[fi].path,
      l.map((x) => x.info),
    );
  }
}

/**
 * Rules per file pattern resolved into one template per input file (`SignOptions.fileTexts`);
 * undefined for one template. A file no rule covers is a UsageError naming it, before any work.
 */
export function resolveFileTexts(spec: TextSpec | undefined, files: InputFile[]): string[] | undefined {
  if (spec === undefined || typeof spec === 'string') return undefined;
  checkTextSpec(
    spec,
    files.map((f) => f.path),
  );
  return files.map((f) => textRuleFor(spec, f.path) as string);
}

function defaultFormat(files: InputFile[]): WriteFormat {
  const f = files[0]?.format;
  return f === 'parquet' ? 'parquet' : f === 'arrow' || f === 'arrows' ? 'arrow' : 'jsonl';
}

/** Input bytes per signer: below this a worker thread's start-up (~0.1-0.2 s of CPU) costs more than it saves. */
export const BYTES_PER_SIGNER = 64 << 20;

/**
 * Signers when the caller does not say: min(2, cores), and one per 64 MiB of input (measured on
 * Gutenberg JSONL, best of 3: 40 MB took 0.81 s on 1 signer and 0.93 s on 2; 80 MB 1.51 vs 1.41 s;
 * 160 MB 2.12 vs 1.70 s).
 */
export function defaultWorkers(totalBytes = Number.POSITIVE_INFINITY, bytesPerSigner = BYTES_PER_SIGNER): number {
  return Math.max(1, Math.min(2, availableParallelism(), Math.ceil(totalBytes / bytesPerSigner)));
}

/**
 * Input bytes per signer when every input is uncompressed JSONL on the fast path: those are signed in
 * chunks taken as signers become free, so a worker thread that starts late costs its start-up CPU
 * (~0.1-0.2 s) but no wall time.
 */
export const CHUNKED_BYTES_PER_SIGNER = 16 << 20;

/** Pass 2: stream the inputs again and split rows by `reasonOf(docIndex)` into kept and rejected shards. */
export async function writeSplit(
  files: InputFile[],
  fileIndexes: number[],
  options: OutputOptions & {
    batchSize?: number;
    prefix?: string;
    dir?: string;
    fastJsonl?: boolean;
  } & Pick<SignOptions, 'text' | 'fileTexts' | 'conversation'>,
  reasonOf: (docIndex: number) => string | undefined,
  stats: Stats,
  shapes?: LineShapes,
  /** What pass 1 saw: checked per file (size, mtime, rows) and per row (hashes), see integrity.ts. */
  passOne?: PassOneRecord,
): Promise<{ kept: WrittenShard[]; rejected: WrittenShard[] }> {
  const dir = options.dir as string;
  const format = options.format ?? defaultFormat(files);
  if (
    options.fastJsonl !== false &&
    format === 'jsonl' &&
    (options.compression === undefined || options.compression === 'none') &&
    fileIndexes.every((fi) => isRawJsonl(files[fi]))
  ) {
    return writeSplitJsonl(files, fileIndexes, { ...options, dir }, reasonOf, stats, FILE_SCALE, shapes, passOne);
  }
  const writer = createSplitWriter({
    dir,
    format,
    compression: options.compression,
    rejected: options.writeRejected ?? true,
    prefix: options.prefix,
  });
  try {
    let rowsDone = 0;
    let bytesDone = 0;
    // the rendered texts pass 1 hashed (Parquet, Arrow): one template per file
    const tpls = new Map<string, ReturnType<typeof compileTemplate>>();
    for (const fi of fileIndexes) {
      const f = files[fi];
      stats.read(f.path, 0);
      if (passOne) await checkStamp(f.path, passOne.stamps[fi]);
      const hashes = passOne?.hashesOf(fi, 'text');
      let tpl: ReturnType<typeof compileTemplate> | undefined;
      if (hashes) {
        const text = textOfFile(options, fi);
        tpl = tpls.get(text) ?? signTemplate(options, text);
        tpls.set(text, tpl);
      }
      // files pass 1 signed as raw lines: their lines are hashed again alongside the parsed rows
      const lineHashes = passOne?.hashesOf(fi, 'line');
      const lines = lineHashes && isRawJsonl(f) ? new LineHashReader(f) : undefined;
      let rows = 0;
      try {
        for await (const batch of readShard(f, { batchSize: options.batchSize ?? 2048 })) {
          if (lines && lineHashes) {
            const got = await lines.take(batch.length);
            const off = batch.offset ?? rows;
            for (let r = 0; r < batch.length; r++) {
              const row = off + r;
              if (r >= got.length || row >= lineHashes.length || got[r] !== lineHashes[row])
                throw inputChanged(f.path, 'this row is not the row pass 1 read', row);
            }
          }
          if (hashes && tpl) {
            tpl.check(batch);
            const off = batch.offset ?? rows;
            for (let r = 0; r < batch.length; r++) {
              const row = off + r;
              if (row >= hashes.length || hash32(tpl.render(batch, r)) !== hashes[row])
                throw inputChanged(f.path, 'this row is not the row pass 1 read', row);
            }
          }
          rows += batch.length;
          const keep: number[] = [];
          const drop: number[] = [];
          const reasons: string[] = [];
          const base = fi * FILE_SCALE + (batch.offset ?? 0);
          for (let r = 0; r < batch.length; r++) {
            const reason = reasonOf(base + r);
            if (reason === undefined) keep.push(r);
            else {
              drop.push(r);
              reasons.push(reason);
              stats.drop(f.path, reason);
            }
          }
          stats.read(f.path, batch.length);
          stats.kept(f.path, keep.length);
          if (keep.length === batch.length) await writer.keep(batch);
          else if (keep.length) await writer.keep(selectRows(batch, keep));
          if (drop.length) await writer.reject(selectRows(batch, drop), reasons);
          rowsDone += batch.length;
        }
      } finally {
        await lines?.close();
      }
      if (passOne) {
        await checkStamp(f.path, passOne.stamps[fi]);
        passOne.checkRows(fi, f.path, rows);
      }
      bytesDone += f.size;
      options.progress?.({ phase: 'write', rows: rowsDone, bytes: bytesDone });
    }
    return await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

function removedByKey(stats: Stats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of Object.values(stats.toJSON())) {
    for (const [k, v] of Object.entries(s.dropped)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

function secs(t0: number): number {
  return Math.round(performance.now() - t0) / 1000;
}

/** Reasons for exact removals. */
export function exactReason(keptId: string): string {
  return dropReason('dedup', 'exact', `dup_of=${keptId}`);
}

/** Reasons for near removals. */
export function nearReason(cluster: number, keptId: string): string {
  return dropReason('dedup', 'near', `cluster=${cluster}:kept=${keptId}`);
}

/**
 * Exact then near dedup over files (the `curate dedup` command). Pass 1
 * computes keys and signatures (in worker threads), decides removals; pass 2
 * streams the inputs again and writes kept and rejected rows.
 */
export async function dedupFiles(options: DedupFilesOptions): Promise<DedupSummary> {
  const t0 = performance.now();
  const timings: Timings = {};
  const files = await expandInputs(options.inputs);
  const fileTexts = resolveFileTexts(options.text, files);
  const nearOn = options.near ?? true;
  const exactOn = options.exact ?? true;
  if (!nearOn && !exactOn)
    throw new UsageError('nothing to do: both exact and near dedup are off', { code: 'E_USAGE' });
  const nearOpts: NearDedupOptions = {
    numPerm: options.numPerm,
    threshold: options.threshold,
    bands: options.bands,
    rows: options.rows,
    verify: options.verify,
    verifyThreshold: options.verifyThreshold,
    prefer: options.prefer,
  };
  const near = new NearDedupIndex(nearOpts); // validates options before any work

  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  const chunkable = files.every(
    (f, i) =>
      options.fastJsonl !== false &&
      !f.compression &&
      fastSignable(f, fileOptions({ ...options, fileTexts, near: nearOn }, i)),
  );
  const workers =
    options.workers ?? defaultWorkers(totalBytes, chunkable ? CHUNKED_BYTES_PER_SIGNER : BYTES_PER_SIGNER);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new UsageError(`workers must be a positive integer, got ${workers}`, { code: 'E_USAGE' });
  }
  const outDir = await prepareOutputDir(options.out, {
    overwrite: options.overwrite,
    protect: files.map((f) => f.path),
    command: 'dedup',
  });
  try {
    // past its memory budget, exact dedup's per-row state goes to files under the output's temporary folder
    const exact = new ExactDeduper({
      prefer: options.prefer,
      memoryRows: options.exactMemoryRows,
      spillDir: outDir.tmpDir,
    });
    let docs = 0;
    let noShingles = 0;
    const k = near.options.numPerm;
    const shapes = new LineShapes();
    const passOne = new PassOneRecord();
    // stamps before pass 1 reads a byte: a file changed during pass 1 fails in pass 2 too
    for (const f of files) passOne.stamps.push(await stampOf(f.path));
    await signAll(
      files,
      { ...options, fileTexts, near: nearOn },
      workers,
      (s) => {
        shapes.add(s);
        passOne.add(s);
        for (let r = 0; r < s.length; r++) {
          const di = s.fileIndex * FILE_SCALE + s.offset + r;
          const meta = {
            id: s.ids[r],
            kind: s.kinds[r] === 0 ? ('real' as const) : ('synthetic' as const),
            score: s.scores[r],
          };
          if (exactOn) exact.add(di, s.keys[r], meta);
          if (nearOn) {
            if (s.hasSig[r]) near.add(di, s.sigs.subarray(r * k, r * k + k), meta);
            else noShingles++;
          }
        }
        docs += s.length;
        options.progress?.({ phase: 'signatures', rows: docs, bytes: 0, totalBytes });
      },
      options.chunkBytes,
    );
    timings.signatures = secs(t0);
    const t1 = performance.now();
    const exactRemoved = exact.resolve(); // empty when exact dedup is off (nothing added)
    const nearResult = nearOn ? near.resolve({ exclude: exactRemoved }) : null;
    timings.resolve = secs(t1);
    const t2 = performance.now();
    const stats = new Stats();
    const outputs = await writeSplit(
      files,
      files.map((_, i) => i),
      { ...options, fileTexts, dir: outDir.tmpDir },
      (di) => {
        const e = exactRemoved.get(di);
        if (e) return exactReason(e.keptId);
        const n = nearResult?.removed.get(di);
        return n ? nearReason(n.cluster, n.keptId) : undefined;
      },
      stats,
      shapes,
      passOne,
    ).then((o) => outDir.finalShards(o));
    await outDir.commit();
    timings.write = secs(t2);
    timings.total = secs(t0);
    const removed = removedByKey(stats);
    const kept = Object.values(stats.toJSON()).reduce((a, s) => a + s.rows_kept, 0);
    const o = near.options;
    return {
      documents_in: docs,
      kept,
      removed,
      no_shingles: noShingles,
      near: nearResult
        ? {
            threshold: o.threshold,
            num_perm: o.numPerm,
            ngram: options.ngram ?? 5,
            shingle: options.shingle ?? 'word',
            bands: o.bands,
            rows: o.rows,
            verify: o.verify,
            verify_threshold: o.verifyThreshold,
            clusters: nearResult.clusters,
            cluster_sizes: nearResult.sizeHistogram,
            edges: nearResult.edges,
          }
        : null,
      exact_groups: exactRemoved.groups,
      sources: stats.toJSON(),
      outputs,
      workers,
      input_bytes: totalBytes,
      timings_s: timings,
    };
  } catch (e) {
    await outDir.abort();
    throw e;
  }
}

export interface DecontamFilesOptions extends OutputOptions {
  inputs: string[];
  /** Eval files (paths, or objects with a name and text column/template). */
  against: (string | EvalFile)[];
  /** Corpus text column or template (default `text`), or one per file pattern (`TextSpec`). */
  text?: TextSpec;
  /**
   * The documents are conversations (`ConversationOptions` of @curate/shards; `text` is then ignored):
   * eval n-grams are searched in the content of `conversation.decontaminate`'s roles (default user).
   */
  conversation?: ConversationOptions;
  /** Eval text column or template for every eval file given as a path (default: auto, see `EvalFile.text`). */
  evalText?: string;
  ngram?: number;
  minWords?: number;
  batchSize?: number;
}

export interface DecontamSummary {
  documents_in: number;
  kept: number;
  removed: Record<string, number>;
  ngram: number;
  eval_sets: { name: string; path: string; rows: number; ngrams: number; short: number; skipped: number }[];
  sources: Record<string, SourceCounters>;
  outputs: { kept: WrittenShard[]; rejected: WrittenShard[] };
  input_bytes: number;
  timings_s: Timings;
}

/** Drop rows sharing an n-gram with any eval set (the `curate decontam` command). */
export async function decontamFiles(options: DecontamFilesOptions): Promise<DecontamSummary> {
  const t0 = performance.now();
  if (!options.against?.length) {
    throw new UsageError('decontam needs at least one eval file (--against)', { code: 'E_USAGE' });
  }
  const evalFiles: EvalFile[] = options.against.map((a) =>
    typeof a === 'string' ? { path: a, text: options.evalText } : a,
  );
  const index = await DecontamIndex.fromEvalFiles(evalFiles, { ngram: options.ngram, minWords: options.minWords });
  const tIndex = secs(t0);
  const files = await expandInputs(options.inputs);
  resolveFileTexts(options.text, files); // a file no rule covers fails here, before any work
  const tpl = options.conversation
    ? conversationView(options.conversation, 'decontaminate')
    : compileTextSpec(options.text ?? 'text');
  const outDir = await prepareOutputDir(options.out, {
    overwrite: options.overwrite,
    protect: [
      ...files.map((f) => f.path),
      ...evalFiles.map((e): ProtectedPath => ({ path: e.path, role: 'eval set' })),
    ],
    command: 'decontam',
  });
  try {
    const stats = new Stats();
    const writer = createSplitWriter({
      dir: outDir.tmpDir,
      format: options.format ?? defaultFormat(files),
      compression: options.compression,
      rejected: options.writeRejected ?? true,
    });
    let docs = 0;
    let bytes = 0;
    let outputs: { kept: WrittenShard[]; rejected: WrittenShard[] };
    try {
      for (const f of files) {
        for await (const batch of readShard(f, { batchSize: options.batchSize ?? 2048 })) {
          tpl.check(batch);
          const keep: number[] = [];
          const drop: number[] = [];
          const reasons: string[] = [];
          for (let r = 0; r < batch.length; r++) {
            const m = index.match(tpl.render(batch, r));
            if (!m) keep.push(r);
            else {
              const reason = dropReason('decontam', m.evalName, `row=${m.row}`);
              drop.push(r);
              reasons.push(reason);
              stats.drop(f.path, reason);
            }
          }
          stats.read(f.path, batch.length);
          stats.kept(f.path, keep.length);
          docs += batch.length;
          if (keep.length === batch.length) await writer.keep(batch);
          else if (keep.length) await writer.keep(selectRows(batch, keep));
          if (drop.length) await writer.reject(selectRows(batch, drop), reasons);
        }
        bytes += f.size;
        options.progress?.({ phase: 'decontam', rows: docs, bytes });
      }
      outputs = outDir.finalShards(await writer.close());
    } catch (e) {
      await writer.abort();
      throw e;
    }
    await outDir.commit();
    return {
      documents_in: docs,
      kept: docs - Object.values(removedByKey(stats)).reduce((a, b) => a + b, 0),
      removed: removedByKey(stats),
      ngram: index.ngram,
      eval_sets: index.evalSets.map((s, i) => ({ ...s, path: evalFiles[i].path })),
      sources: stats.toJSON(),
      outputs,
      input_bytes: bytes,
      timings_s: { index: tIndex, total: secs(t0) },
    };
  } catch (e) {
    await outDir.abort();
    throw e;
  }
}
