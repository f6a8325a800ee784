/**
 * Decontamination: a document is contaminated when it shares an n-gram of
 * normalised words (default 13; words as in `wordHashes`: NFKC, lower case,
 * runs of letters/digits) with an eval set. Eval sets are indexed once into a
 * map from a 53-bit n-gram key to the first (eval set, row) holding it; the
 * corpus is then streamed through `match`.
 *
 * Eval rows shorter than `ngram` words are indexed whole (matched as a
 * contiguous run of the same words) when they have at least `minWords` words
 * (default 8); shorter rows are skipped and counted, since a 3-word eval item
 * would match ordinary text.
 */
import { basename } from 'node:path';
import { type Batch, InputError, UsageError } from '@curate/core';
import { compileTemplate, readShard, storageFor } from '@curate/shards';
import { key53 } from './hash.js';
import { prepareWords, wordHashes } from './normalize.js';

export interface DecontamOptions {
  /** n-gram length in normalised words. Default 13. */
  ngram?: number;
  /** Eval rows shorter than `ngram` are indexed whole when they have at least this many words. Default 8. */
  minWords?: number;
}

export interface EvalSet {
  /** Name used in reasons (`decontam:<name>:row=<r>`): letters, digits, `_ . -`. */
  name: string;
  /** Eval texts; the row number is the position. */
  texts: Iterable<string>;
}

export interface EvalFile {
  path: string;
  /** Default: the file name without extensions. */
  name?: string;
  /** Column or template of the eval text. Default: the first of text, question, prompt, problem, instruction, input. */
  text?: string;
}

export interface DecontamMatch {
  evalName: string;
  row: number;
}

export interface EvalSetStats {
  name: string;
  rows: number;
  ngrams: number;
  /** Rows indexed whole (fewer than `ngram` words, at least `minWords`). */
  short: number;
  /** Rows skipped (fewer than `minWords` words). */
  skipped: number;
}

const AUTO_COLUMNS = ['text', 'question', 'prompt', 'problem', 'instruction', 'input'];
const ROW_SCALE = 4294967296;

/** A reason-safe eval name from a file path: `gsm8k_test.jsonl` -> `gsm8k_test`. */
export function evalNameFromPath(path: string): string {
  const base = basename(path).replace(/\.(jsonl|json|ndjson|parquet|arrow|arrows|feather)(\.(gz|zst))?$/i, '');
  return base.replace(/[^a-z0-9_.-]+/gi, '_') || 'eval';
}

export class DecontamIndex {
  readonly ngram: number;
  readonly minWords: number;
  /** n-gram key -> evalIndex * 2^32 + row (first occurrence). */
  private readonly full = new Map<number, number>();
  /** Whole short rows by word count. */
  private readonly short = new Map<number, Map<number, number>>();
  private readonly names: string[] = [];
  readonly evalSets: EvalSetStats[] = [];
  private words: Uint32Array = new Uint32Array(1024);

  constructor(options: DecontamOptions = {}) {
    this.ngram = options.ngram ?? 13;
    this.minWords = options.minWords ?? 8;
    if (!Number.isInteger(this.ngram) || this.ngram < 1 || this.ngram > 256) {
      throw new UsageError(`decontam ngram must be an integer in [1, 256], got ${this.ngram}`, {
        code: 'E_DECONTAM_NGRAM',
      });
    }
  }

  static fromEvalSets(sets: EvalSet[], options: DecontamOptions = {}): DecontamIndex {
    const idx = new DecontamIndex(options);
    for (const s of sets) idx.addEvalSet(s.name, s.texts);
    return idx;
  }

  /** Index eval files (any format @curate/shards reads). A missing file is an InputError. */
  static async fromEvalFiles(files: EvalFile[], options: DecontamOptions = {}): Promise<DecontamIndex> {
    const idx = new DecontamIndex(options);
    for (const f of files) {
      const st = await storageFor(f.path)
        .stat(f.path)
        .catch(() => undefined);
      if (!st) {
        throw new InputError('eval file not found', { code: 'E_DECONTAM_EVAL_NOT_FOUND', file: f.path });
      }
      const addRow = idx.beginEvalSet(f.name ?? evalNameFromPath(f.path));
      for await (const t of evalTexts(f)) addRow(t);
    }
    return idx;
  }

  /** Add one eval set; the row number of a text is its position. */
  addEvalSet(name: string, texts: Iterable<string>): void {
    const addRow = this.beginEvalSet(name);
    for (const t of texts) addRow(t);
  }

  private beginEvalSet(name: string): (text: string) => void {
    if (!/^[a-z0-9_.-]+$/i.test(name)) {
      throw new UsageError(`eval set name "${name}" must use letters, digits, "_", "." or "-"`, {
        code: 'E_DECONTAM_NAME',
      });
    }
    if (this.names.includes(name)) {
      throw new UsageError(`eval set "${name}" given twice`, { code: 'E_DECONTAM_NAME' });
    }
    const e = this.names.length;
    this.names.push(name);
    const stats: EvalSetStats = { name, rows: 0, ngrams: 0, short: 0, skipped: 0 };
    this.evalSets.push(stats);
    const addRow = (text: string) => {
      const row = stats.rows++;
      const { hashes, count } = this.hashWords(text);
      const value = e * ROW_SCALE + row;
      if (count >= this.ngram) {
        for (let i = 0; i + this.ngram <= count; i++) {
          const k = key53(hashes, i, i + this.ngram, this.ngram);
          if (!this.full.has(k)) {
            this.full.set(k, value);
            stats.ngrams++;
          }
        }
      } else if (count >= this.minWords) {
        let m = this.short.get(count);
        if (!m) this.short.set(count, (m = new Map()));
        const k = key53(hashes, 0, count, count);
        if (!m.has(k)) m.set(k, value);
        stats.short++;
        stats.ngrams++;
      } else stats.skipped++;
    };
    return addRow;
  }

  private hashWords(text: string): { hashes: Uint32Array; count: number } {
    const w = wordHashes(prepareWords(text), this.words);
    this.words = w.hashes;
    return w;
  }

  /** Number of distinct n-grams indexed. */
  get size(): number {
    let n = this.full.size;
    for (const m of this.short.values()) n += m.size;
    return n;
  }

  /** The first eval n-gram (in document order) the text contains, or null. */
  match(text: string): DecontamMatch | null {
    const { hashes, count } = this.hashWords(text);
    const n = this.ngram;
    let best = -1;
    let bestPos = Number.POSITIVE_INFINITY;
    for (let i = 0; i + n <= count; i++) {
      const v = this.full.get(key53(hashes, i, i + n, n));
      if (v !== undefined) {
        best = v;
        bestPos = i;
        break;
      }
    }
    for (const [len, m] of this.short) {
      for (let i = 0; i + len <= count && i < bestPos; i++) {
        const v = m.get(key53(hashes, i, i + len, len));
        if (v !== undefined) {
          best = v;
          bestPos = i;
          break;
        }
      }
    }
    if (best < 0) return null;
    const e = Math.floor(best / ROW_SCALE);
    return { evalName: this.names[e], row: best - e * ROW_SCALE };
  }
}

async function* evalTexts(f: EvalFile): AsyncIterable<string> {
  let render: ((b: Batch, r: number) => string) | undefined;
  for await (const batch of readShard(f.path)) {
    if (!render) {
      let tpl = f.text;
      if (!tpl) {
        tpl = AUTO_COLUMNS.find((c) => c in batch.columns);
        if (!tpl) {
          throw new InputError(
            `no eval text column: give one of its columns (${Object.keys(batch.columns).join(', ')}) as the text`,
            { code: 'E_DECONTAM_NO_TEXT', file: f.path },
          );
        }
      }
      const t = compileTemplate(tpl);
      t.check(batch);
      render = t.render;
    }
    for (let r = 0; r < batch.length; r++) yield render(batch, r);
  }
}
