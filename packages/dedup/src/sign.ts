/**
 * Pass 1 of file-level dedup: per row, the exact key, the MinHash signature
 * (when the text has a word) and the keep metadata. Shared by the in-process
 * path, its worker threads and the `signatures` stage, so all three compute
 * identical data.
 */
import { type Batch, InputError } from '@curate/core';
import {
  type ConversationOptions,
  columnsToRead,
  compileTemplate,
  conversationView,
  type InputFile,
  readShard,
  type TextSpec,
  type TextTemplate,
} from '@curate/shards';
import { exactKeyPrepared, hash32 } from './exact.js';
import { checkFirstBatch, fastSignable, signJsonlRange } from './fastsign.js';
import { isRawJsonl } from './fastwrite.js';
import { fileOptions, textOfFile } from './filetext.js';
import { LineHashReader } from './integrity.js';
import { MinHasher, type MinHashOptions } from './minhash.js';
import { prepareWords } from './normalize.js';

/** Global source order: file index (in sorted input order) * 2^32 + row within the file. */
export const FILE_SCALE = 4294967296;

export interface SignOptions extends MinHashOptions {
  /**
   * Text column or template (default `text`), or one per file pattern (`TextSpec` of @curate/shards):
   * `dedupFiles` and the stages resolve rules into `fileTexts` before signing.
   */
  text?: TextSpec;
  /** The template of each input file, by index in the sorted input list (overrides `text`). */
  fileTexts?: string[];
  /**
   * The documents are conversations (`ConversationOptions` of @curate/shards; `text` is then ignored):
   * exact and near dedup compare the content of `conversation.dedup`'s roles (default all but system).
   */
  conversation?: ConversationOptions;
  /** Id column (default `id`); when absent or empty the id is `<file>:<row>`. */
  idColumn?: string;
  /** Column holding `real` | `synthetic` (default `kind`, when present). */
  kindColumn?: string;
  /** Quality score column: higher is kept first within a cluster. */
  scoreColumn?: string;
  stripPunctuation?: boolean;
  /** Compute signatures (near dedup). Default true. */
  near?: boolean;
  /** Rows per batch. Default 2048. */
  batchSize?: number;
  /**
   * Read uncompressed JSONL inputs as raw lines (no JSON.parse for canonical lines) and, for JSONL output,
   * copy kept lines as bytes. Same rows, bytes, keys, signatures and errors as the generic reader and
   * writer (tested); `false` forces the generic path. Default true.
   */
  fastJsonl?: boolean;
}

/** Signatures and metadata of one batch of rows. */
export interface BatchSignatures {
  fileIndex: number;
  /** Row within the file of the first row. */
  offset: number;
  length: number;
  keys: string[];
  ids: string[];
  /** 0 real, 1 synthetic / unknown. */
  kinds: Uint8Array;
  scores: Float64Array;
  /** 1 when the row has a signature (some word). */
  hasSig: Uint8Array;
  /** length * numPerm values; rows without a signature are zeros. */
  sigs: Int32Array;
  /** UTF-16 length of the texts (for throughput figures). */
  chars: number;
  /**
   * Raw JSONL fast path only: per row the key list ("shape") of a canonical line, as an id local to
   * `signer`, or -1 (not canonical); `newShapes` defines the ids first used in this batch. Lets pass 2
   * copy lines without scanning them again.
   */
  shapes?: Int32Array;
  newShapes?: { id: number; keys: string[] }[];
  signer?: string;
  /**
   * xxh32 per row of what pass 1 read (`rowHashKind`: the raw line for JSONL, the rendered text for
   * Parquet and Arrow): pass 2 checks every row it writes against it (integrity.ts).
   */
  rowHashes?: Uint32Array;
  rowHashKind?: 'line' | 'text';
}

export class BatchSigner {
  private readonly mh: MinHasher;
  private readonly tpls = new Map<string, TextTemplate>();
  private readonly idCol: string;
  private readonly kindCol: string;
  private readonly near: boolean;
  constructor(private readonly options: SignOptions) {
    this.mh = new MinHasher(options);
    this.idCol = options.idColumn ?? 'id';
    this.kindCol = options.kindColumn ?? 'kind';
    this.near = options.near ?? true;
  }

  get numPerm(): number {
    return this.mh.numPerm;
  }

  private templateOf(fileIndex: number): TextTemplate {
    const text = textOfFile(this.options, fileIndex);
    let t = this.tpls.get(text);
    if (!t) {
      t = signTemplate(this.options, text);
      this.tpls.set(text, t);
    }
    return t;
  }

  /** `hashText`: record `rowHashes` of the rendered texts (callers hashing raw JSONL lines instead pass false). */
  sign(batch: Batch, fileIndex: number, path: string, hashText = true): BatchSignatures {
    const tpl = this.templateOf(fileIndex);
    tpl.check(batch);
    const scoreCol = this.options.scoreColumn;
    if (scoreCol && !(scoreCol in batch.columns)) {
      throw new InputError(`score column "${scoreCol}" not found`, { code: 'E_MISSING_COLUMN', file: path });
    }
    const n = batch.length;
    const k = this.mh.numPerm;
    const offset = batch.offset ?? 0;
    const out: BatchSignatures = {
      fileIndex,
      offset,
      length: n,
      keys: new Array(n),
      ids: new Array(n),
      kinds: new Uint8Array(n),
      scores: new Float64Array(n),
      hasSig: new Uint8Array(n),
      sigs: new Int32Array(this.near ? n * k : 0),
      chars: 0,
      rowHashes: hashText ? new Uint32Array(n) : undefined,
      rowHashKind: hashText ? 'text' : undefined,
    };
    const rowHashes = out.rowHashes;
    const idc = batch.columns[this.idCol];
    const kc = batch.columns[this.kindCol];
    const sc = scoreCol ? batch.columns[scoreCol] : undefined;
    for (let r = 0; r < n; r++) {
      const text = tpl.render(batch, r);
      out.chars += text.length;
      if (rowHashes) rowHashes[r] = hash32(text);
      const prepared = prepareWords(text); // NFKC + lower case once, for both keys
      out.keys[r] = exactKeyPrepared(prepared, this.options);
      const id = idc?.[r];
      out.ids[r] = id === undefined || id === null || id === '' ? `${path}:${offset + r}` : String(id);
      out.kinds[r] = kc?.[r] === 'real' ? 0 : 1;
      const s = sc?.[r];
      out.scores[r] = typeof s === 'number' && Number.isFinite(s) ? s : Number.NaN;
      if (this.near) {
        const sig = this.mh.signaturePrepared(prepared, out.sigs.subarray(r * k, r * k + k));
        out.hasSig[r] = sig ? 1 : 0;
      }
    }
    return out;
  }
}

/**
 * Sign the batches of `files` (indexes into the sorted input list) whose
 * batch number b satisfies b % stride === part (in-process workers split a
 * file by batches; ranks split by files with stride 1).
 */
export async function* signFiles(
  files: InputFile[],
  fileIndexes: number[],
  options: SignOptions,
  part = 0,
  stride = 1,
): AsyncIterable<BatchSignatures> {
  let signer: BatchSigner | undefined;
  for (const fi of fileIndexes) {
    const f = files[fi];
    const fo = fileOptions(options, fi);
    if (stride === 1 && options.fastJsonl !== false && fastSignable(f, fo)) {
      for await (const s of signJsonlRange(files, { fileIndex: fi, from: 0, to: Number.POSITIVE_INFINITY }, fo)) {
        if (s.first) await checkFirstBatch(fo.text, f.path, [s.first]);
        s.first = undefined;
        if (s.length) yield s;
      }
      continue;
    }
    signer ??= new BatchSigner(options);
    let b = 0;
    const columns = await signColumns(f, fo);
    // JSONL: hash the raw lines (read alongside), as the fast paths of both passes do, so any pass 2 checks them
    const lines = isRawJsonl(f) ? new LineHashReader(f) : undefined;
    try {
      for await (const batch of readShard(f, { batchSize: options.batchSize ?? 2048, columns })) {
        const hashes = lines ? await lines.take(batch.length) : undefined;
        if (b++ % stride !== part) continue;
        const s = signer.sign(batch, fi, f.path, !lines);
        if (hashes) {
          // fewer lines than rows: the file changed while read; pass 2 then finds a row that does not match
          s.rowHashes = new Uint32Array(batch.length).fill(0xffffffff);
          s.rowHashes.set(hashes.slice(0, batch.length));
          s.rowHashKind = 'line';
        }
        yield s;
      }
    } finally {
      await lines?.close();
    }
  }
}

/** The text dedup compares for a file whose template is `text`: the template's, or a conversation's dedup view. */
export function signTemplate(options: Pick<SignOptions, 'conversation'>, text: string): TextTemplate {
  return options.conversation ? conversationView(options.conversation, 'dedup') : compileTemplate(text);
}

/**
 * The columns signing reads from a file: for Parquet (whose footer lists them) the template's,
 * the id, kind and score columns it has, so wide or nested columns are never decoded in pass 1
 * (pass 2 still copies every column). Undefined (every column) for other formats, and when a
 * template or score column is missing: the full read then reports it with the file's columns.
 */
export async function signColumns(f: InputFile, options: SignOptions): Promise<string[] | undefined> {
  const score = options.scoreColumn;
  return columnsToRead(
    f,
    [...signTemplate(options, textOfFile(options, -1)).columns, ...(score ? [score] : [])],
    [options.idColumn ?? 'id', options.kindColumn ?? 'kind'],
  );
}
