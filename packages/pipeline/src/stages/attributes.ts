/**
 * Attribute shards: what the scan stage computed for each row of an input file, stored beside the
 * work dir's other state and reused by later runs (dolma's `attributes/`, keyed like a cache).
 *
 * One directory per input file, `WORK/attributes/<sha256(real path)[:16]>/`, holding one Parquet
 * file per attribute group, row-aligned with the input (row i of the attribute file is row i of
 * the input), each with a JSON marker written last:
 *
 *   base.<key>       text_hash (INT32: xxh32 of the rendered template), id (STRING), score (DOUBLE),
 *                    generation (INT32) and generator (STRING) from the source's lineage columns
 *   text.<key>       chars (INT32: UTF-16 length of the text after the steps that rewrite it), and when
 *                    such steps apply, spans (BINARY: what they removed, spans.ts; null = unchanged)
 *   q-<filter>.<key> the filter's measured values (DOUBLE, one column per value; see Filter.signals),
 *                    or `reason` (STRING, null = keep) for a filter without signals
 *   decontam.<key>   hit (INT32: eval row the text matched, -1 none)
 *   tokens.<key>     tokens (INT32, the recipe's tokenizer)
 *   exact.<key>      key (INT64: xxh64 of the normalised text)
 *   minhash.<key>    sig (BINARY: num_perm little-endian int32, null when the text has no shingle)
 *   signals.<key>    marker only: the quality-signal histogram of the file's sampled rows
 *
 * `<key>` is the hash of exactly the configuration that produced the group: the source's template,
 * the parameters of every text-rewriting step before it, and the group's own settings (a filter's
 * `signals.key`, not its thresholds; the tokenizer; the eval sets' sha256; MinHash settings and seed).
 * The marker holds the input's identity (path, size, mtime, sha256), the row count, the Parquet
 * file's size and sha256, and the tool and format version; a group is reused only when all match.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '@curate/core';
import { type FileStamp, stampOf } from '@curate/dedup';
import { FILTER_DEFAULTS, type Filter } from '@curate/quality';
import type { Recipe } from '@curate/recipe';
import { qualitySteps } from '@curate/recipe/filters';
import {
  type ColumnSpec,
  type ParquetColumn,
  readParquetColumns,
  sha256File,
  writeParquetColumns,
} from '@curate/shards';
import type { ChatCounts } from '../chat-stats.js';
import { type FileScan, type FilterColumn, passThroughColumns, rewritesText, type ScanTask } from '../scan.js';
import { signalOptions, signalSeed } from '../signals.js';
import { sha256Of } from './units.js';
import { configKey, diskError, mkdirChecked, WORK_FORMAT, type WorkDir, writeAtomic } from './workdir.js';

export interface AttrGroup {
  /** `base`, `text`, `q-gopher_quality`, `decontam`, `tokens`, `exact`, `minhash`, `signals`. */
  name: string;
  /** What it is for in this recipe: the quality step or eval set index. */
  index?: number;
  config: unknown;
  key: string;
}

interface Marker {
  format: 'curate-attributes';
  version: number;
  tool: string;
  group: string;
  key: string;
  config: unknown;
  input: { path: string; size: number; mtime_ms: number; sha256: string };
  rows: number;
  file: { name: string; bytes: number; sha256: string } | null;
  meta: Record<string, unknown>;
}

/** The context shared by all files of a run: the recipe, its filters and the eval sets' checksums. */
export interface AttrContext {
  recipe: Recipe;
  filters: readonly Filter[];
  /** Per eval set (recipe order), the sha256 of its files. */
  evalSums: string[][];
  tool: string;
}

/** Do the text-rewriting steps apply to `task`'s source (so its `text` group stores the removed spans)? */
export function storesSpans(ctx: AttrContext, task: ScanTask): boolean {
  const source = ctx.recipe.sources[task.sourceIndex];
  if (source.conversation) return false; // a conversation's text is its rendering, never rewritten
  const steps = qualitySteps(ctx.recipe);
  return steps.some((s, i) => rewritesText(s) && appliesHere(ctx.filters[i], source));
}

/** The attribute groups a file of `task`'s source needs under this recipe, with their keys. */
export function fileGroups(ctx: AttrContext, task: ScanTask): AttrGroup[] {
  const { recipe, filters } = ctx;
  const source = recipe.sources[task.sourceIndex];
  const steps = qualitySteps(recipe);
  const rewrite = (upTo: number) =>
    steps.slice(0, upTo).flatMap((s, i) => (rewritesText(s) && appliesHere(filters[i], source) ? [s] : []));
  // a conversation source's text and views follow its conversation settings: they are part of the key
  const template: unknown = source.conversation
    ? { text: source.text, conversation: source.conversation }
    : source.text;
  const text = { template, rewrite: rewrite(steps.length) };
  const groups: AttrGroup[] = [];
  const add = (name: string, config: unknown, index?: number) =>
    groups.push({ name, index, config, key: configKey({ format: WORK_FORMAT, name, config }) });
  add('base', {
    template,
    id: source.id ?? null,
    score: recipe.dedup?.near?.score_column ?? null,
    pass: passThroughColumns(recipe, task.sourceIndex),
    lineage: [
      source.generation_column ?? null,
      source.generator_column ?? null,
      source.generation ?? null,
      source.generator ?? null,
    ],
  });
  if ((task.signalRate ?? 0) > 0) {
    add('signals', {
      template,
      rate: task.signalRate,
      seed: signalSeed(source.name, task.fileIndex),
      // the values the meter uses (a recipe that adds fineweb with its defaults measures the same)
      options: {
        stop_words: signalOptions(recipe).stop_words ?? FILTER_DEFAULTS.gopher_quality.stop_words,
        short_line_length: signalOptions(recipe).short_line_length ?? FILTER_DEFAULTS.fineweb.short_line_length,
      },
    });
  }
  add('text', text);
  filters.forEach((f, i) => {
    if (!appliesHere(f, source)) return;
    add(
      `q-${f.name}`,
      {
        text: { template, rewrite: rewrite(i) },
        filter: f.name,
        ...(f.signals ? { signals: f.signals.key } : { params: steps[i].params }),
      },
      i,
    );
  });
  (recipe.dedup?.decontaminate ?? []).forEach((d, j) => {
    add('decontam', { text, eval: { sha256: ctx.evalSums[j], template: d.text, ngram: d.ngram } }, j);
  });
  add('tokens', { text, tokenizer: tokenizerIdentity(recipe.tokenizer) });
  const exact = recipe.dedup?.exact;
  if (exact) add('exact', { text, normalize: exact.normalize !== false, strip: exact.strip_punctuation ?? false });
  const near = recipe.dedup?.near;
  if (near) {
    add('minhash', {
      text,
      num_perm: near.num_perm,
      ngram: near.ngram,
      shingle: near.shingle ?? null,
      seed: near.seed ?? 1,
    });
  }
  return groups;
}

const tokenizerSums = new Map<string, string>();

/** An encoding's name, or a tokenizer.json's path with its sha256 (the file can change under the same path). */
function tokenizerIdentity(tokenizer: string): string {
  if (!tokenizer.endsWith('.json')) return tokenizer;
  const st = statSync(tokenizer);
  const at = `${tokenizer}\0${st.size}\0${st.mtimeMs}`;
  let sum = tokenizerSums.get(at);
  if (!sum) {
    sum = createHash('sha256').update(readFileSync(tokenizer)).digest('hex');
    tokenizerSums.set(at, sum);
  }
  return `${tokenizer}#sha256=${sum}`;
}

function appliesHere(f: Filter, source: { name: string; kind: string }): boolean {
  const a = f.appliesTo;
  if (a === undefined) return true;
  if (typeof a === 'string') return a === source.kind;
  return a.includes(source.name);
}

/** The attribute directory of an input file (by its real path). */
export async function inputDir(work: WorkDir, path: string): Promise<string> {
  const real = await realpath(path).catch(() => path);
  return work.path('attributes', createHash('sha256').update(real).digest('hex').slice(0, 16));
}

const fileName = (g: AttrGroup) => `${g.name}.${g.key}`;

/** The minhash group's `sig` column (a row without a signature is null) into `scan.sigRows` and `scan.sigs`. */
function setSigs(scan: FileScan, c: Record<string, ArrayLike<unknown>>, numPerm: number): void {
  const sig = c.sig as ArrayLike<Uint8Array | null | undefined>;
  const rows = scan.rows;
  let n = 0;
  for (let r = 0; r < rows; r++) if (sig[r]) n++;
  scan.sigRows = new Uint32Array(n);
  scan.sigs = new Int32Array(n * numPerm);
  const bytes = new Uint8Array(scan.sigs.buffer);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    const s = sig[r];
    if (!s) continue;
    scan.sigRows[k] = r;
    bytes.set(s, k * numPerm * 4);
    k++;
  }
}

/** A group's token in `ScanTask.need`: its name, and for a quality step or eval set its index. */
export function needName(g: AttrGroup): string {
  return g.index === undefined ? g.name : `${g.name}#${g.index}`;
}

/**
 * Load a file's scan from its attribute groups. `missing` lists the groups that are absent or do not
 * verify (another key or format, a truncated or altered Parquet file): the caller computes those
 * (`ScanTask.need`) and merges them (`mergeComputed`). Null when nothing can be reused: the input
 * changed since (size or mtime) or its base group is missing.
 */
export async function loadAttributes(
  work: WorkDir,
  ctx: AttrContext,
  task: ScanTask,
  groups: AttrGroup[],
  /** `deferSigs`: the minhash group's file is verified (sha256) but decoded only by `scan.loadSigs`. */
  options: { deferSigs?: boolean } = {},
): Promise<{ scan: FileScan; missing: AttrGroup[] } | null> {
  const dir = await inputDir(work, task.path);
  let stamp: FileStamp;
  try {
    stamp = await stampOf(task.path);
  } catch {
    return null;
  }
  const markers = new Map<AttrGroup, Marker>();
  const cols = new Map<AttrGroup, Record<string, ArrayLike<unknown>>>();
  const missing: AttrGroup[] = [];
  const spans = storesSpans(ctx, task);
  for (const g of groups) {
    const m = await readMarker(join(dir, `${fileName(g)}.json`));
    if (!m || m.version !== WORK_FORMAT || m.key !== g.key || m.group !== g.name) {
      missing.push(g);
      continue;
    }
    if (m.input.size !== stamp.size || m.input.mtime_ms !== stamp.mtimeMs) return null;
    if (m.file && g.name === 'minhash' && options.deferSigs) {
      // verified now (a file that does not verify is recomputed here, as any group), decoded on demand
      try {
        if ((await sha256Of(join(dir, m.file.name))) !== m.file.sha256) throw new Error('sha256');
      } catch {
        missing.push(g);
        continue;
      }
    } else if (m.file) {
      try {
        // the spans are read where the text is rebuilt (sample.ts), not here
        const only = g.name === 'text' ? { columns: ['chars'] } : {};
        const r = await readParquetColumns(join(dir, m.file.name), { sha256: m.file.sha256, ...only });
        if (r.rows !== m.rows) throw new Error('rows');
        // a text group written before it stored the removed spans: recomputed
        if (g.name === 'text' && spans && !r.names.includes('spans')) throw new Error('spans');
        cols.set(g, r.columns);
      } catch {
        missing.push(g); // missing, truncated or altered: recomputed
        continue;
      }
    }
    markers.set(g, m);
  }
  if (missing.some((g) => g.name === 'base')) return null;
  const base = groups.find((g) => g.name === 'base') as AttrGroup;
  const bm = markers.get(base) as Marker;
  const rows = bm.rows;
  const bc = cols.get(base) as Record<string, ArrayLike<unknown>>;
  const recipe = ctx.recipe;
  const source = recipe.sources[task.sourceIndex];
  const numPerm = recipe.dedup?.near?.num_perm ?? 0;
  const scan: FileScan = {
    id: task.id,
    rows,
    sha256: bm.input.sha256,
    stat: stamp,
    textHashes: new Uint32Array(Int32Array.from(bc.text_hash as ArrayLike<number>).buffer),
    dropRows: [],
    dropReasons: [],
    filterCols: ctx.filters.map(() => null),
    decontamHits: [],
    tokens: new Uint32Array(rows),
    chars: new Uint32Array(rows),
    ids: source.id ? Array.from(bc.id as ArrayLike<string | null>, (v) => v ?? '') : null,
    exactKeys: null,
    sigRows: new Uint32Array(0),
    sigs: new Int32Array(0),
    scores: recipe.dedup?.near?.score_column ? Float64Array.from(bc.score as ArrayLike<number>) : null,
    columns: bm.meta.columns as ColumnSpec[],
    keys: bm.meta.keys as string[],
    ...(bm.meta.chat ? { chat: bm.meta.chat as ChatCounts } : {}),
    ...(source.generation_column || source.generator_column
      ? {
          lineage: {
            generation: source.generation_column ? Int32Array.from(bc.generation as ArrayLike<number>) : null,
            generator: source.generator_column
              ? Array.from(bc.generator as ArrayLike<string | null | undefined>, (v) => v ?? null)
              : null,
          },
        }
      : {}),
    evalSets: [],
    signals: null,
    changed: {},
    counts: { row: [], step: [], key: [], n: [] },
  };
  const logged: [number, number, string, number][] = [];
  scan.decontamHits = (recipe.dedup?.decontaminate ?? []).map(() => new Int32Array(0));
  for (const g of groups) {
    const m = markers.get(g);
    if (!m) continue;
    const c = cols.get(g) as Record<string, ArrayLike<unknown>>;
    if (g.name === 'signals') {
      const s = m.meta as { sampled: number; counts: number[]; seconds: number };
      scan.signals = { sampled: s.sampled, counts: Uint32Array.from(s.counts), seconds: 0 };
    } else if (g.name === 'text') {
      scan.chars = Uint32Array.from(c.chars as ArrayLike<number>);
      const f = m.file as NonNullable<Marker['file']>;
      if (spans) scan.spansFile = { path: join(dir, f.name), sha256: f.sha256 };
    } else if (g.name === 'tokens') scan.tokens = Uint32Array.from(c.tokens as ArrayLike<number>);
    else if (g.name === 'exact') {
      scan.exactKeys = new BigUint64Array(BigInt64Array.from(c.key as ArrayLike<bigint>).buffer);
    } else if (g.name === 'decontam') {
      scan.decontamHits[g.index as number] = Int32Array.from(c.hit as ArrayLike<number>);
      scan.evalSets.push(...(m.meta.eval_sets as FileScan['evalSets']));
    } else if (g.name === 'minhash') {
      if (cols.has(g)) setSigs(scan, c, numPerm);
      else {
        const f = m.file as NonNullable<Marker['file']>;
        const path = join(dir, f.name);
        scan.loadSigs = async () => {
          const r = await readParquetColumns(path, { sha256: f.sha256 }).catch((e: Error) => {
            throw new InputError(`attribute file ${path} changed while in use: ${e.message}`, { code: 'E_WORK' });
          });
          if (r.rows !== rows) throw new InputError(`attribute file ${path} changed while in use`, { code: 'E_WORK' });
          setSigs(scan, r.columns, numPerm);
          scan.loadSigs = undefined;
        };
      }
    } else if (g.name.startsWith('q-')) {
      const i = g.index as number;
      const f = ctx.filters[i];
      const cl = m.meta.counts as { row: number[]; key: string[]; n: number[] } | undefined;
      if (cl) for (let k = 0; k < cl.row.length; k++) logged.push([cl.row[k], i, cl.key[k], cl.n[k]]);
      if (f.signals) {
        const names = f.signals.names;
        const w = names.length;
        const values = new Float64Array(rows * w);
        names.forEach((name, j) => {
          const col = c[name] as ArrayLike<number>;
          for (let r = 0; r < rows; r++) values[r * w + j] = col[r];
        });
        scan.filterCols[i] = { kind: 'values', width: w, values };
      } else {
        const reason = c.reason as ArrayLike<string | null | undefined>;
        const table = [''];
        const index = new Map<string, number>();
        const codes = new Uint32Array(rows);
        for (let r = 0; r < rows; r++) {
          const v = reason[r];
          if (!v) continue;
          let code = index.get(v);
          if (code === undefined) {
            code = table.length;
            table.push(v);
            index.set(v, code);
          }
          codes[r] = code;
        }
        scan.filterCols[i] = { kind: 'reasons', codes, table };
      }
    }
  }
  scan.counts = countLog(logged);
  return { scan, missing };
}

function countLog(entries: [number, number, string, number][]): FileScan['counts'] {
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    row: entries.map((x) => x[0]),
    step: entries.map((x) => x[1]),
    key: entries.map((x) => x[2]),
    n: entries.map((x) => x[3]),
  };
}

/** Put the groups `missing` from a scan that computed them into a loaded scan. */
export function mergeComputed(loaded: FileScan, computed: FileScan, missing: AttrGroup[]): FileScan {
  const steps = new Set<number>();
  for (const g of missing) {
    if (g.name === 'text') {
      loaded.chars = computed.chars;
      loaded.spans = computed.spans;
    } else if (g.name === 'tokens') loaded.tokens = computed.tokens;
    else if (g.name === 'exact') loaded.exactKeys = computed.exactKeys;
    else if (g.name === 'signals') loaded.signals = computed.signals;
    else if (g.name === 'minhash') {
      loaded.sigRows = computed.sigRows;
      loaded.sigs = computed.sigs;
    } else if (g.name === 'decontam') {
      const j = g.index as number;
      loaded.decontamHits[j] = computed.decontamHits[j];
      const names = new Set(computed.evalSets.map((e) => e.name));
      loaded.evalSets = [...loaded.evalSets.filter((e) => !names.has(e.name)), ...computed.evalSets];
    } else if (g.name.startsWith('q-')) {
      const i = g.index as number;
      loaded.filterCols[i] = computed.filterCols[i];
      steps.add(i);
    }
  }
  const entries: [number, number, string, number][] = [];
  for (const l of [loaded.counts, computed.counts]) {
    for (let k = 0; k < l.row.length; k++) {
      if ((l === computed.counts) !== steps.has(l.step[k])) continue;
      entries.push([l.row[k], l.step[k], l.key[k], l.n[k]]);
    }
  }
  loaded.counts = countLog(entries);
  return loaded;
}

/** Write the groups of `groups` a file lacks (or whose markers do not verify) from its scan. */
export async function writeAttributes(
  work: WorkDir,
  ctx: AttrContext,
  task: ScanTask,
  groups: AttrGroup[],
  scan: FileScan,
): Promise<void> {
  const dir = await inputDir(work, task.path);
  await mkdirChecked(dir);
  const rows = scan.rows;
  const input = { path: task.path, size: scan.stat.size, mtime_ms: scan.stat.mtimeMs, sha256: scan.sha256 };
  const numPerm = ctx.recipe.dedup?.near?.num_perm ?? 0;
  const countsOf = (step: number) => {
    const out = { row: [] as number[], key: [] as string[], n: [] as number[] };
    const l = scan.counts;
    for (let k = 0; k < l.row.length; k++) {
      if (l.step[k] !== step) continue;
      out.row.push(l.row[k]);
      out.key.push(l.key[k]);
      out.n.push(l.n[k]);
    }
    return out;
  };
  for (const g of groups) {
    let columns: ParquetColumn[] | null = null;
    let meta: Record<string, unknown> = {};
    switch (g.name) {
      case 'base':
        columns = [{ name: 'text_hash', type: 'int32', data: new Int32Array(scan.textHashes.buffer, 0, rows) }];
        if (scan.ids) columns.push({ name: 'id', type: 'string', data: scan.ids });
        if (scan.scores) columns.push({ name: 'score', type: 'double', data: scan.scores });
        if (scan.lineage?.generation)
          columns.push({ name: 'generation', type: 'int32', data: scan.lineage.generation });
        if (scan.lineage?.generator) columns.push({ name: 'generator', type: 'string', data: scan.lineage.generator });
        meta = { columns: scan.columns, keys: scan.keys, ...(scan.chat ? { chat: scan.chat } : {}) };
        break;
      case 'signals': {
        const s = scan.signals as NonNullable<FileScan['signals']>;
        meta = { sampled: s.sampled, counts: Array.from(s.counts), seconds: s.seconds };
        break;
      }
      case 'text':
        columns = [{ name: 'chars', type: 'int32', data: new Int32Array(scan.chars.buffer, 0, rows) }];
        if (scan.spans) columns.push({ name: 'spans', type: 'binary', data: scan.spans });
        break;
      case 'tokens':
        columns = [{ name: 'tokens', type: 'int32', data: new Int32Array(scan.tokens.buffer, 0, rows) }];
        break;
      case 'exact':
        columns = [
          { name: 'key', type: 'int64', data: new BigInt64Array((scan.exactKeys as BigUint64Array).buffer, 0, rows) },
        ];
        break;
      case 'decontam': {
        const j = g.index as number;
        columns = [{ name: 'hit', type: 'int32', data: scan.decontamHits[j] }];
        const name = ctx.recipe.dedup.decontaminate?.[j].name;
        meta = { eval_sets: scan.evalSets.filter((e) => e.name === name) };
        break;
      }
      case 'minhash': {
        const sig: (Uint8Array | null)[] = new Array(rows).fill(null);
        const bytes = new Uint8Array(scan.sigs.buffer, scan.sigs.byteOffset, scan.sigs.byteLength);
        for (let k = 0; k < scan.sigRows.length; k++) {
          sig[scan.sigRows[k]] = bytes.slice(k * numPerm * 4, (k + 1) * numPerm * 4);
        }
        columns = [{ name: 'sig', type: 'binary', data: sig }];
        break;
      }
      default: {
        const i = g.index as number;
        const f = ctx.filters[i];
        const col = scan.filterCols[i] as FilterColumn;
        meta = { counts: countsOf(i) };
        if (col.kind === 'values') {
          columns = (f.signals?.names ?? []).map((name, j) => {
            const data = new Float64Array(rows);
            for (let r = 0; r < rows; r++) data[r] = col.values[r * col.width + j];
            return { name, type: 'double' as const, data };
          });
        } else {
          const data: (string | null)[] = new Array(rows);
          for (let r = 0; r < rows; r++) data[r] = col.codes[r] === 0 ? null : col.table[col.codes[r]];
          columns = [{ name: 'reason', type: 'string', data }];
        }
      }
    }
    let file: Marker['file'] = null;
    if (columns) {
      const name = `${fileName(g)}.parquet`;
      try {
        const w = await writeParquetColumns(join(dir, name), rows, columns);
        file = { name, ...w };
        if (g.name === 'text' && scan.spans) {
          // the write stage reads them from here, per file: no longer held in memory
          scan.spansFile = { path: join(dir, name), sha256: w.sha256 };
          scan.spans = undefined;
        }
      } catch (e) {
        throw diskError(e, join(dir, name));
      }
    }
    const marker: Marker = {
      format: 'curate-attributes',
      version: WORK_FORMAT,
      tool: ctx.tool,
      group: g.name,
      key: g.key,
      config: g.config,
      input,
      rows,
      file,
      meta,
    };
    await writeAtomic(join(dir, `${fileName(g)}.json`), `${JSON.stringify(marker)}\n`);
  }
}

async function readMarker(path: string): Promise<Marker | null> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as Marker;
    return m && m.format === 'curate-attributes' ? m : null;
  } catch {
    return null;
  }
}

/** sha256 of each file of each eval set (keys of the decontam groups). */
export async function evalChecksums(recipe: Recipe, expand: (paths: string[]) => Promise<{ path: string }[]>) {
  const out: string[][] = [];
  for (const d of recipe.dedup?.decontaminate ?? []) {
    const sums: string[] = [];
    for (const f of await expand(d.paths)) {
      sums.push(await sha256File(f.path)); // a local file or an s3:// object
    }
    out.push(sums);
  }
  return out;
}
