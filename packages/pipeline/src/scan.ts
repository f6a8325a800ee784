/**
 * Pass 1 over one input file: render text, run the quality chain and
 * decontamination, count tokens, and compute the dedup keys (exact hash and
 * MinHash signature) of every row that survives. No text is kept: the result
 * is typed arrays and short strings, so pass 1 holds O(rows) small values.
 *
 * A Scanner is built once per thread from the resolved recipe; `scan(task)`
 * is pure given the file, so running it in any worker gives the same result.
 */
import {
  type Batch,
  dict,
  InputError,
  type Kind,
  loadTokenizer,
  type Tokenizer,
  type TokenizerName,
  type ValueType,
} from '@curate/core';
import { DecontamIndex, exactKey64, type FileStamp, hash32, hash64n, MinHasher, stampOf } from '@curate/dedup';
import { applies, type Filter, FilterChain, type FilterSignals, loadFilter, QualitySignalMeter } from '@curate/quality';
import type { Recipe } from '@curate/recipe';
import { type PassColumn, passColumns } from '@curate/recipe/columns';
import { qualitySteps } from '@curate/recipe/filters';
import {
  type ColumnSpec,
  type ConversationTemplate,
  columnsToRead,
  compileConversation,
  compileTemplate,
  expandInputs,
  type InputFile,
  inferColumns,
  inputDigest,
  isConversation,
  mergeColumnSpecs,
  readShard,
  type TextTemplate,
  widenColumns,
} from '@curate/shards';
import { addConversation, addCounts, type ChatCounts, newChatCounts } from './chat-stats.js';
import { generationOf, rowGeneration, rowGenerator } from './lineage.js';
import { inSignalSample, SignalHistograms, signalOptions, signalSeed } from './signals.js';
import { cleanSpans } from './spans.js';

export interface ScanTask {
  /** Index of the task in the run's task list (results are stored by it). */
  id: number;
  sourceIndex: number;
  fileIndex: number;
  path: string;
  format: string;
  compression?: string;
  size: number;
  /** Share of rows whose quality signals are measured (see signals.ts; 0 or absent: none). */
  signalRate?: number;
  /**
   * Scan only part `part` of `parts` of the file's rows (blocks of PART_ROWS rows dealt round-robin;
   * the file is still read whole). `mergeParts` joins the parts into the scan of the whole file.
   */
  part?: number;
  parts?: number;
  /**
   * The attribute groups to compute (`text`, `tokens`, `exact`, `minhash`, `signals`, `q-NAME#i`,
   * `decontam#j`; see stages/attributes.ts), when the others are reused; absent: all of them.
   */
  need?: string[];
  /** Also record what the text-rewriting steps removed from each row (`FileScan.spans`), for the attribute store. */
  spans?: boolean;
}

/** Rows per block when a file is scanned in parts. */
export const PART_ROWS = 16;

/** Does part `part` of `parts` scan row `row`? */
export function ownsRow(row: number, part: number, parts: number): boolean {
  return parts <= 1 || Math.floor(row / PART_ROWS) % parts === part;
}

export interface FileScan {
  id: number;
  rows: number;
  sha256: string;
  /** The file's size and modification time when pass 1 read it (pass 2 checks they did not change). */
  stat: FileStamp;
  /** xxh32 of each row's rendered template text, before any filter (pass 2 checks each row it writes against it). */
  textHashes: Uint32Array;
  /**
   * Rows dropped (quality or decontamination), ascending, with their reasons: empty as scanned,
   * filled by `decideFile` from `filterCols` and `decontamHits` with the recipe's thresholds.
   */
  dropRows: number[];
  dropReasons: string[];
  /**
   * Per quality step (recipe order), what the step gave each row (every row, whatever earlier
   * steps decided): measured values for a filter with `signals`, else its drop reason; null when the
   * step does not apply to the file's source.
   */
  filterCols: (FilterColumn | null)[];
  /** Per eval set (recipe order), the eval row each row's text matched, -1 for none. */
  decontamHits: Int32Array[];
  /** Tokens per row (of every row's text after the quality steps that rewrite it). */
  tokens: Uint32Array;
  /** UTF-16 length of each row's text (for sizing the shuffle buckets). */
  chars: Uint32Array;
  /**
   * Per row, what the text-rewriting steps removed (spans.ts), when the scan was asked for them
   * (`ScanTask.spans`); dropped from memory once the attribute store holds them (`spansFile`).
   */
  spans?: (Uint8Array | null)[];
  /** The attribute file whose `spans` column holds them (the write stage reads it per file). */
  spansFile?: { path: string; sha256: string };
  /** The id column's value per row, when the source names one. */
  ids: string[] | null;
  /** Exact-dedup key per row (xxh64 as 8 bytes), when exact dedup is on. */
  exactKeys: BigUint64Array | null;
  /** Rows that have a MinHash signature (rows with at least one shingle), and their signatures. */
  sigRows: Uint32Array;
  sigs: Int32Array;
  /**
   * Loaded from the work dir but not decoded yet (`loadAttributes` with `deferSigs`): fills
   * `sigRows` and `sigs` when called (near dedup needs them only when its verdicts are not stored).
   */
  loadSigs?: () => Promise<void>;
  /**
   * With a work dir, the key of the minhash attribute group the signatures come from: with the
   * input's sha256 it determines them, so the dedup key uses it instead of hashing the signatures
   * (a re-mix then need not read them).
   */
  sigGroup?: string;
  /** Dedup keep score per row (NaN when missing), when `dedup.near.score_column` is set. */
  scores: Float64Array | null;
  /** Types of the pass-through columns seen in this file. */
  columns: ColumnSpec[];
  /** Every column name of the file (the reader's last batch carries them all). */
  keys: string[];
  /** The eval sets the scanner indexed (the same in every scan). */
  evalSets: { name: string; rows: number; ngrams: number }[];
  /** Quality-signal histograms of the sampled rows' raw text (null when `signalRate` is 0). */
  signals: { sampled: number; counts: Uint32Array; seconds: number } | null;
  /**
   * What filters changed in this file's rows, by key (`pii:rows`, `pii:email`), counted on the rows
   * each filter is reached by (no earlier step drops them): filled by `decideFile` from `counts`.
   */
  changed: Record<string, number>;
  /** Every `doc.count` of the scan: row, quality step, key and amount (decideFile keeps the reached ones). */
  counts: CountLog;
  /** A conversation source's turn and length histograms over the rows read (chat-stats.ts). */
  chat?: ChatCounts;
  /**
   * Per row, the generation depth and generator from the source's `generation_column` /
   * `generator_column` (the source's own where the value is null), when it names them.
   */
  lineage?: { generation: Int32Array | null; generator: (string | null)[] | null };
}

/** `doc.count` calls of a scan, in row order. */
export interface CountLog {
  row: number[];
  step: number[];
  key: string[];
  n: number[];
}

/** A quality step's stored output for the rows of one file. */
export type FilterColumn =
  /** `width` values per row (the filter's `signals.names`), row-major. */
  | { kind: 'values'; width: number; values: Float64Array }
  /** A code per row into `table` (`table[0]` is '' for keep; the others are full drop reasons). */
  | { kind: 'reasons'; codes: Uint32Array; table: string[] };

/**
 * Fill `scan.dropRows`/`dropReasons` from what the scan stored: the first quality step (recipe
 * order) that drops the row, deciding from stored values with `filters`' current thresholds, then the
 * first eval set it matched. Equal to running the chain with early exit, as pass 1 did before stages.
 */
export function decideFile(scan: FileScan, chain: FilterChain, evalNames: readonly string[]): void {
  const dropRows: number[] = [];
  const dropReasons: string[] = [];
  const filters = chain.filters;
  const cols = scan.filterCols;
  const log = scan.counts;
  const changed: Record<string, number> = {};
  let c = 0;
  for (let r = 0; r < scan.rows; r++) {
    let why: string | null = null;
    let step = cols.length;
    for (let i = 0; i < cols.length && why === null; i++) {
      const col = cols[i];
      if (!col) continue;
      if (col.kind === 'values') {
        const res = (filters[i].signals as FilterSignals).decide(
          col.values.subarray(r * col.width, (r + 1) * col.width),
        );
        if (res !== true) why = chain.reason(i, res.drop);
      } else if (col.codes[r] !== 0) why = col.table[col.codes[r]];
      if (why !== null) step = i;
    }
    // what a filter counted on this row counts when the filter was reached (as an early-exit chain)
    while (c < log.row.length && log.row[c] < r) c++;
    for (; c < log.row.length && log.row[c] === r; c++) {
      if (log.step[c] <= step) changed[log.key[c]] = (changed[log.key[c]] ?? 0) + log.n[c];
    }
    for (let j = 0; j < scan.decontamHits.length && why === null; j++) {
      const h = scan.decontamHits[j][r];
      if (h >= 0) why = `decontam:${evalNames[j]}:row=${h}`;
    }
    if (why !== null) {
      dropRows.push(r);
      dropReasons.push(why);
    }
  }
  scan.dropRows = dropRows;
  scan.dropReasons = dropReasons;
  scan.changed = changed;
}

/** Does a recipe step rewrite text (so pass 2 must run it again)? A custom filter may (it can return `{ text }`). */
export function rewritesText(s: { filter: string; params: unknown }): boolean {
  return (
    (s.filter === 'c4' && (s.params as { mode?: string }).mode === 'clean') ||
    s.filter === 'pii' ||
    s.filter === 'custom'
  );
}

/**
 * The recipe's quality filters, in order (custom ones imported from their modules); `textOnly`:
 * only those that rewrite text.
 */
export async function recipeFilters(recipe: Recipe, textOnly = false): Promise<Filter[]> {
  const steps = qualitySteps(recipe).filter((s) => !textOnly || rewritesText(s));
  const out: Filter[] = [];
  for (const s of steps) out.push(await loadFilter(s.filter, s.params as object, s.path));
  return out;
}

/**
 * Columns each source passes through to the output (input name -> output name). A provenance name
 * as output is a RecipeError naming the column and a rename: curate's columns are never overwritten.
 */
export function passThroughColumns(recipe: Recipe, sourceIndex: number): PassColumn[] {
  return passColumns(recipe, sourceIndex);
}

/** The per-thread machinery of pass 1 (and of re-rendering text in pass 2). */
export class Scanner {
  readonly chain: FilterChain;
  readonly templates: TextTemplate[];
  /** True when some filter rewrites text (c4 clean mode, pii, custom): pass 2 must re-run the chain. */
  readonly transforms: boolean;
  /** Measures the quality signals of sampled rows (pass 1 only). */
  readonly meter: QualitySignalMeter | null;
  private constructor(
    readonly recipe: Recipe,
    readonly tokenizer: Tokenizer,
    readonly decontam: { name: string; index: DecontamIndex }[],
    readonly minhasher: MinHasher | null,
    filters: Filter[],
    textOnly = false,
  ) {
    this.transforms = qualitySteps(recipe).some(rewritesText);
    this.chain = new FilterChain(filters);
    // a conversation source's template renders its turns with the chat template (conversation.ts)
    this.templates = recipe.sources.map((s) =>
      s.conversation ? compileConversation(s.conversation) : compileTemplate(s.text),
    );
    this.meter = textOnly ? null : new QualitySignalMeter(signalOptions(recipe));
  }

  /** `textOnly`: only what pass 2 needs (templates and the quality chain), no eval index or MinHash. */
  static async create(recipe: Recipe, options: { textOnly?: boolean } = {}): Promise<Scanner> {
    const tokenizer = await loadTokenizer(options.textOnly ? 'words' : (recipe.tokenizer as TokenizerName));
    const decontam: { name: string; index: DecontamIndex }[] = [];
    for (const d of options.textOnly ? [] : (recipe.dedup?.decontaminate ?? [])) {
      const files = await expandInputs(d.paths);
      const texts: string[] = [];
      const tpl = compileTemplate(d.text);
      for (const f of files) {
        for await (const batch of readShard(f)) {
          tpl.check(batch);
          for (let r = 0; r < batch.length; r++) texts.push(tpl.render(batch, r));
        }
      }
      const index = new DecontamIndex({ ngram: d.ngram });
      index.addEvalSet(d.name, texts);
      decontam.push({ name: d.name, index });
    }
    const near = recipe.dedup?.near;
    const minhasher =
      near && !options.textOnly
        ? new MinHasher({ numPerm: near.num_perm, ngram: near.ngram, shingle: near.shingle, seed: near.seed ?? 1 })
        : null;
    // Pass 2 only re-derives the text of kept rows: only the filters that rewrite text matter
    // there (the others kept the row in pass 1 and never change text), so the chain shrinks to them.
    const filters = await recipeFilters(recipe, Boolean(options.textOnly));
    const scanner = new Scanner(recipe, tokenizer, decontam, minhasher, filters, Boolean(options.textOnly));
    await scanner.chain.prepare();
    return scanner;
  }

  /**
   * The columns to read from a file of source `sourceIndex`, or undefined for all of them. A
   * Parquet file declares its columns, so only those the job uses are decoded: the template's, the
   * id, the dedup score, the filters' and the pass-through columns it has (wide files, and nested
   * columns nobody asked for, then cost nothing). When a column the job needs is missing, or a
   * filter does not say what it reads, every column is read, so errors name the file's columns as before.
   */
  async readColumns(sourceIndex: number, file: InputFile): Promise<string[] | undefined> {
    const filterColumns = this.chain.columns();
    if (!filterColumns) return undefined;
    const s = this.recipe.sources[sourceIndex];
    const score = this.recipe.dedup?.near?.score_column;
    return columnsToRead(
      file,
      [
        ...this.templates[sourceIndex].columns,
        ...(s.id ? [s.id] : []),
        ...(score ? [score] : []),
        ...(s.generation_column ? [s.generation_column] : []),
        ...(s.generator_column ? [s.generator_column] : []),
        ...filterColumns,
      ],
      passThroughColumns(this.recipe, sourceIndex).map((c) => c.input),
    );
  }

  /** The document text of row `r` after quality cleaning, or the drop reason. */
  decide(sourceIndex: number, batch: Batch, r: number): { text: string; reason: string | null } {
    return this.judge(sourceIndex, this.templates[sourceIndex].render(batch, r), batch, r);
  }

  /** `decide` for an already rendered raw text. */
  judge(sourceIndex: number, raw: string, batch: Batch, r: number): { text: string; reason: string | null } {
    const s = this.recipe.sources[sourceIndex];
    const reason = this.chain.run(raw, s.name, s.kind as Kind, batch.columns, r);
    return { text: this.chain.doc.text, reason };
  }

  async scan(task: ScanTask): Promise<FileScan> {
    const recipe = this.recipe;
    const source = recipe.sources[task.sourceIndex];
    const template = this.templates[task.sourceIndex];
    const conv = isConversation(template) ? template : null;
    const chat = conv ? newChatCounts() : undefined;
    const partsBefore = { ...conv?.nonTextParts };
    const exact = recipe.dedup?.exact;
    const scoreColumn = recipe.dedup?.near?.score_column;
    const passCols = passThroughColumns(recipe, task.sourceIndex);
    const numPerm = this.minhasher?.options.numPerm ?? 0;

    const parts = task.parts ?? 1;
    const part = task.part ?? 0;
    const stamp = await stampOf(task.path);
    const hashing = part === 0 ? sha256Of(task.path) : Promise.resolve('');
    let tokens: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
    let chars: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
    let textHashes: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
    const ids: string[] | null = source.id ? [] : null;
    let exactKeys: BigUint64Array<ArrayBuffer> | null = exact ? new BigUint64Array(1024) : null;
    let scores: Float64Array<ArrayBuffer> | null = scoreColumn ? new Float64Array(1024) : null;
    let sigRows: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
    let sigs: Int32Array<ArrayBuffer> = new Int32Array(numPerm * 256);
    let nsig = 0;
    let columns: ColumnSpec[] = [];
    let keys: string[] = [];
    let rows = 0;
    const sig = numPerm ? new Int32Array(numPerm) : null;
    const need = task.need ? new Set(task.need) : null;
    const wants = (g: string) => need === null || need.has(g);
    const wantTokens = wants('tokens');
    const wantChars = wants('text');
    // per-row lineage from the source's generation / generator columns (lineage.ts)
    let linGen: Int32Array<ArrayBuffer> | null = source.generation_column ? new Int32Array(1024) : null;
    const linModel: (string | null)[] | null = source.generator_column ? [] : null;
    // what the rewriting steps removed, per row (a conversation's text is its rendering, never rewritten)
    const spans: (Uint8Array | null)[] | undefined =
      task.spans && wantChars && this.transforms && !conv ? [] : undefined;
    if (!wants('exact')) exactKeys = null;
    const minhasher = wants('minhash') ? this.minhasher : null;
    const wantHit = this.decontam.map((_, j) => wants(`decontam#${j}`));
    const signalRate = this.meter && wants('signals') ? (task.signalRate ?? 0) : 0;
    const signals = signalRate > 0 ? new SignalHistograms() : null;
    const seed = signalSeed(source.name, task.fileIndex);
    let signalMs = 0;
    const counts: CountLog = { row: [], step: [], key: [], n: [] };
    let countRow = 0;
    let countStep = 0;
    this.chain.doc.onCount = (_source, key, n) => {
      counts.row.push(countRow);
      counts.step.push(countStep);
      counts.key.push(key);
      counts.n.push(n);
    };
    const kind = source.kind as Kind;
    const filters = this.chain.filters;
    const recipeSteps = qualitySteps(recipe);
    const steps: (ScanStep | null)[] = filters.map((f, i) => {
      if (!applies(f, source.name, kind)) return null;
      // a step not asked for is skipped, unless it rewrites the text the later steps see
      if (!wants(`q-${f.name}#${i}`) && !rewritesText(recipeSteps[i])) return null;
      if (f.signals) {
        const width = f.signals.names.length;
        return { kind: 'values', width, values: new Float64Array(width * 1024), buf: new Float64Array(width) };
      }
      return { kind: 'reasons', codes: new Uint32Array(1024), table: [''], index: new Map<string, number>() };
    });
    const hits: Int32Array<ArrayBuffer>[] = this.decontam.map(() => new Int32Array(1024));

    const file: InputFile = {
      path: task.path,
      format: task.format as never,
      compression: task.compression as never,
      size: task.size,
    };
    for await (const batch of readShard(file, { columns: await this.readColumns(task.sourceIndex, file) })) {
      if (rows === 0) {
        template.check(batch);
        if (source.id && !Object.hasOwn(batch.columns, source.id)) {
          throw new InputError(`id column "${source.id}" not found (sources[${task.sourceIndex}].id)`, {
            code: 'E_MISSING_COLUMN',
            file: task.path,
          });
        }
        const sub = dict<unknown[]>();
        const types = dict<ValueType>();
        const declared = dict<unknown>();
        for (const c of passCols) {
          if (!Object.hasOwn(batch.columns, c.input)) continue;
          sub[c.output] = batch.columns[c.input];
          const t = batch.types?.[c.input];
          if (t) types[c.output] = t;
          // a map the file declares stays a map (Batch.declared)
          if (batch.declared && Object.hasOwn(batch.declared, c.input)) declared[c.output] = batch.declared[c.input];
        }
        columns = inferColumns({ length: batch.length, columns: sub, types, declared });
      } else if (columns.some((c) => c.nested)) {
        // nested columns: the shape holds every batch's values (a struct field first seen later)
        const sub = dict<unknown[]>();
        for (const c of passCols)
          if (Object.hasOwn(batch.columns, c.input) && columns.some((x) => x.nested && x.name === c.output))
            sub[c.output] = batch.columns[c.input];
        columns = [...widenColumns(columns, { length: batch.length, columns: sub })];
      }
      keys = Object.keys(batch.columns);
      const end = rows + batch.length;
      if (end > tokens.length) {
        const cap = Math.max(end, tokens.length * 2);
        tokens = growU32(tokens, cap);
        chars = growU32(chars, cap);
        textHashes = growU32(textHashes, cap);
        if (exactKeys) exactKeys = growU64(exactKeys, cap);
        if (scores) scores = growF64(scores, cap);
      }
      this.chain.doc.file = task.path;
      const idCol = source.id ? batch.columns[source.id] : undefined;
      const scoreCol = scoreColumn ? batch.columns[scoreColumn] : undefined;
      const genCol = source.generation_column ? batch.columns[source.generation_column] : undefined;
      const modelCol = source.generator_column ? batch.columns[source.generator_column] : undefined;
      if (linGen && end > linGen.length) linGen = growI32(linGen, Math.max(end, linGen.length * 2));
      for (let r = 0; r < batch.length; r++) {
        const row = rows + r;
        if (parts > 1 && !ownsRow(row, part, parts)) {
          // another part's row: placeholders, replaced by that part's values in mergeParts
          if (ids) ids.push('');
          continue;
        }
        this.chain.doc.fileRow = row;
        if (ids) ids.push(idCol?.[r] == null ? '' : String(idCol[r]));
        if (linGen) {
          const g = rowGeneration(genCol?.[r], generationOf(source));
          if (typeof g === 'string') {
            throw new InputError(`generation column "${source.generation_column}" ${g}`, {
              code: 'E_LINEAGE',
              file: task.path,
              row,
            });
          }
          linGen[row] = g;
        }
        if (linModel) linModel[row] = rowGenerator(modelCol?.[r], source.generator ?? null);
        const raw = template.render(batch, r);
        textHashes[row] = hash32(raw);
        // a conversation: quality filters see the turns of conversation.quality's roles
        const seen = conv ? conv.view('quality', batch, r) : raw;
        if (chat) addConversation(chat, (conv as ConversationTemplate).turns(batch, r));
        // Signals of the raw text, before any filter: where rows sit relative to the thresholds.
        if (signals && inSignalSample(seed, row, signalRate)) {
          const t = performance.now();
          signals.add((this.meter as QualitySignalMeter).measure(seen));
          signalMs += performance.now() - t;
        }
        // Every quality step on every row, whatever earlier steps decide: what decides is stored
        // (values or a reason) and `decideFile` applies the thresholds, so they can change later.
        const doc = this.chain.doc.set(seen, source.name, kind, batch.columns, r);
        for (let i = 0; i < steps.length; i++) {
          const st = steps[i];
          if (!st) continue;
          const f = filters[i];
          doc.filterName = f.name;
          countRow = row;
          countStep = i;
          if (st.kind === 'values') {
            if ((row + 1) * st.width > st.values.length)
              st.values = growF64(st.values, Math.max((row + 1) * st.width, st.values.length * 2));
            (f.signals as FilterSignals).measure(doc, st.buf);
            st.values.set(st.buf, row * st.width);
            continue;
          }
          if (row >= st.codes.length) st.codes = growU32(st.codes, Math.max(row + 1, st.codes.length * 2));
          const res = f.filter(doc);
          if (res === true) st.codes[row] = 0;
          else if ('drop' in res) st.codes[row] = codeOf(st, this.chain.reason(i, res.drop));
          else {
            doc.setText(res.text);
            st.codes[row] = 0;
          }
        }
        // a conversation's text is its rendering (kept exactly); decontamination and dedup see their roles' turns
        const text = conv ? raw : doc.text;
        const evalText = conv && this.decontam.length ? conv.view('decontaminate', batch, r) : text;
        const dedupText = conv ? conv.view('dedup', batch, r) : text;
        for (let j = 0; j < this.decontam.length; j++) {
          const m = wantHit[j] ? this.decontam[j].index.match(evalText) : null;
          if (row >= hits[j].length) hits[j] = growI32(hits[j], Math.max(row + 1, hits[j].length * 2));
          hits[j][row] = m ? m.row : -1;
        }
        if (wantTokens) tokens[row] = this.tokenizer.count(text);
        if (wantChars) chars[row] = text.length;
        if (spans) spans[row] = cleanSpans(raw, text);
        if (exactKeys)
          exactKeys[row] =
            exact?.normalize === false
              ? hash64n(dedupText)
              : exactKey64(dedupText, { stripPunctuation: exact?.strip_punctuation });
        if (scores) {
          const v = scoreCol?.[r];
          scores[row] =
            typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v == null ? Number.NaN : Number(v);
        }
        if (minhasher && sig) {
          if (minhasher.signature(dedupText, sig)) {
            if (nsig === sigRows.length) sigRows = growU32(sigRows, nsig * 2);
            if ((nsig + 1) * numPerm > sigs.length)
              sigs = growI32(sigs, Math.max((nsig + 1) * numPerm, sigs.length * 2));
            sigRows[nsig] = row;
            sigs.set(sig, nsig * numPerm);
            nsig++;
          }
        }
      }
      rows = end;
    }
    return {
      id: task.id,
      rows,
      sha256: await hashing,
      stat: stamp,
      textHashes: textHashes.slice(0, rows),
      dropRows: [],
      dropReasons: [],
      filterCols: steps.map((st): FilterColumn | null =>
        !st
          ? null
          : st.kind === 'values'
            ? { kind: 'values', width: st.width, values: st.values.slice(0, rows * st.width) }
            : { kind: 'reasons', codes: st.codes.slice(0, rows), table: st.table },
      ),
      decontamHits: hits.map((h) => h.slice(0, rows)),
      tokens: tokens.slice(0, rows),
      chars: chars.slice(0, rows),
      ...(linGen || linModel
        ? {
            lineage: {
              generation: linGen ? linGen.slice(0, rows) : null,
              generator: linModel ? Array.from({ length: rows }, (_, i) => linModel[i] ?? null) : null,
            },
          }
        : {}),
      ...(spans
        ? { spans: spans.length === rows ? spans : Array.from({ length: rows }, (_, i) => spans[i] ?? null) }
        : {}),
      ids,
      exactKeys: exactKeys ? exactKeys.slice(0, rows) : null,
      sigRows: sigRows.slice(0, nsig),
      sigs: sigs.slice(0, nsig * numPerm),
      scores: scores ? scores.slice(0, rows) : null,
      columns,
      keys,
      evalSets: this.decontam.flatMap((d) =>
        d.index.evalSets.map((e) => ({ name: d.name, rows: e.rows, ngrams: e.ngrams })),
      ),
      signals: signals ? { sampled: signals.sampled, counts: signals.counts, seconds: signalMs / 1000 } : null,
      changed: {},
      counts,
      ...(chat ? { chat: withNonText(chat, conv?.nonTextParts ?? {}, partsBefore) } : {}),
    };
  }

  /**
   * The redaction (pii) of the filters that apply to source `sourceIndex`, for every other string
   * value written with its rows (pass-through columns, rejected rows' text), or null.
   */
  redactor(sourceIndex: number): ((s: string) => string) | null {
    const s = this.recipe.sources[sourceIndex];
    return this.chain.redactor(s.name, s.kind as Kind);
  }
}

/** `chat` with the non-text content parts counted since `before` (the template counts across files). */
function withNonText(chat: ChatCounts, now: Record<string, number>, before: Record<string, number>): ChatCounts {
  for (const [k, n] of Object.entries(now)) if (n > (before[k] ?? 0)) chat.nonText[k] = n - (before[k] ?? 0);
  return chat;
}

/**
 * The scan of a whole file from the scans of its parts (`parts[p]` scanned part p): each row's
 * values come from the part that scanned it, so the result equals a scan of the whole file.
 */
export function mergeParts(scans: FileScan[]): FileScan {
  const P = scans.length;
  if (P === 1) return scans[0];
  const first = scans[0];
  const rows = first.rows;
  const tokens = new Uint32Array(rows);
  const chars = new Uint32Array(rows);
  const textHashes = new Uint32Array(rows);
  const ids: string[] | null = first.ids ? new Array(rows) : null;
  const exactKeys = first.exactKeys ? new BigUint64Array(rows) : null;
  const scores = first.scores ? new Float64Array(rows) : null;
  const spans: (Uint8Array | null)[] | undefined = first.spans ? new Array(rows) : undefined;
  const lineage: FileScan['lineage'] = first.lineage
    ? {
        generation: first.lineage.generation ? new Int32Array(rows) : null,
        generator: first.lineage.generator ? new Array(rows) : null,
      }
    : undefined;
  for (let r = 0; r < rows; r++) {
    const o = scans[Math.floor(r / PART_ROWS) % P];
    const ol = o.lineage as NonNullable<FileScan['lineage']>;
    if (lineage?.generation) lineage.generation[r] = (ol.generation as Int32Array)[r];
    if (lineage?.generator) lineage.generator[r] = (ol.generator as (string | null)[])[r];
    if (spans) spans[r] = (o.spans as (Uint8Array | null)[])[r];
    tokens[r] = o.tokens[r];
    chars[r] = o.chars[r];
    textHashes[r] = o.textHashes[r];
    if (ids) ids[r] = (o.ids as string[])[r];
    if (exactKeys) exactKeys[r] = (o.exactKeys as BigUint64Array)[r];
    if (scores) scores[r] = (o.scores as Float64Array)[r];
  }
  // each step's column: values copied by row; reason codes re-coded into one table
  const filterCols = first.filterCols.map((c0, i): FilterColumn | null => {
    if (!c0) return null;
    if (c0.kind === 'values') {
      const w = c0.width;
      const values = new Float64Array(rows * w);
      for (let r = 0; r < rows; r++) {
        const o = scans[Math.floor(r / PART_ROWS) % P].filterCols[i] as typeof c0;
        values.set(o.values.subarray(r * w, (r + 1) * w), r * w);
      }
      return { kind: 'values', width: w, values };
    }
    const table = [''];
    const index = new Map<string, number>();
    const codes = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) {
      const o = scans[Math.floor(r / PART_ROWS) % P].filterCols[i] as Extract<FilterColumn, { kind: 'reasons' }>;
      const c = o.codes[r];
      codes[r] = c === 0 ? 0 : codeOf({ table, index }, o.table[c]);
    }
    return { kind: 'reasons', codes, table };
  });
  const decontamHits = first.decontamHits.map((_, j) => {
    const h = new Int32Array(rows);
    for (let r = 0; r < rows; r++) h[r] = scans[Math.floor(r / PART_ROWS) % P].decontamHits[j][r];
    return h;
  });
  const sigList: [number, FileScan, number][] = [];
  for (const sc of scans) for (let i = 0; i < sc.sigRows.length; i++) sigList.push([sc.sigRows[i], sc, i]);
  sigList.sort((a, b) => a[0] - b[0]);
  let perm = 0;
  for (const sc of scans) if (sc.sigRows.length > 0) perm = sc.sigs.length / sc.sigRows.length;
  const sigRows = new Uint32Array(sigList.length);
  const sigs = new Int32Array(sigList.length * perm);
  for (let i = 0; i < sigList.length; i++) {
    const [row, sc, j] = sigList[i];
    sigRows[i] = row;
    sigs.set(sc.sigs.subarray(j * perm, (j + 1) * perm), i * perm);
  }
  let signals: FileScan['signals'] = null;
  if (first.signals) {
    const counts = new Uint32Array(first.signals.counts.length);
    let sampled = 0;
    let seconds = 0;
    for (const sc of scans) {
      const h = sc.signals as NonNullable<FileScan['signals']>;
      for (let i = 0; i < counts.length; i++) counts[i] += h.counts[i];
      sampled += h.sampled;
      seconds += h.seconds;
    }
    signals = { sampled, counts, seconds };
  }
  let chat: ChatCounts | undefined;
  for (const sc of scans) if (sc.chat) addCounts((chat ??= newChatCounts()), sc.chat);
  const all: [number, number, string, number][] = [];
  for (const sc of scans)
    for (let i = 0; i < sc.counts.row.length; i++)
      all.push([sc.counts.row[i], sc.counts.step[i], sc.counts.key[i], sc.counts.n[i]]);
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const counts: CountLog = {
    row: all.map((x) => x[0]),
    step: all.map((x) => x[1]),
    key: all.map((x) => x[2]),
    n: all.map((x) => x[3]),
  };
  return {
    id: first.id,
    rows,
    sha256: first.sha256,
    stat: first.stat,
    textHashes,
    dropRows: [],
    dropReasons: [],
    filterCols,
    decontamHits,
    tokens,
    chars,
    ...(spans ? { spans } : {}),
    ...(lineage ? { lineage } : {}),
    ids,
    exactKeys,
    sigRows,
    sigs,
    scores,
    // each part widened nested shapes by its own rows
    columns: mergeColumnSpecs(scans.map((sc) => sc.columns)),
    keys: first.keys,
    evalSets: first.evalSets,
    signals,
    changed: {},
    counts,
    ...(chat ? { chat } : {}),
  };
}

type ScanStep =
  | { kind: 'values'; width: number; values: Float64Array<ArrayBuffer>; buf: Float64Array }
  | { kind: 'reasons'; codes: Uint32Array<ArrayBuffer>; table: string[]; index: Map<string, number> };

function codeOf(st: { table: string[]; index: Map<string, number> }, reason: string): number {
  let c = st.index.get(reason);
  if (c === undefined) {
    c = st.table.length;
    st.table.push(reason);
    st.index.set(reason, c);
  }
  return c;
}

function growU32(a: Uint32Array<ArrayBuffer>, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
function growU64(a: BigUint64Array<ArrayBuffer>, n: number): BigUint64Array<ArrayBuffer> {
  const b = new BigUint64Array(n);
  b.set(a);
  return b;
}
function growI32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
function growF64(a: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.fill(Number.NaN);
  b.set(a);
  return b;
}

/** sha256 of a local file, streamed; `s3-etag:...` for an s3:// object (see inputDigest in @curate/shards). */
export function sha256Of(path: string): Promise<string> {
  return inputDigest(path);
}
