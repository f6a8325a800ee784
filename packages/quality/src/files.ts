/**
 * `curate filter` and the pass-rate table of `curate stats`, over shard files.
 * Every input column is kept; kept rows go to `out/`, dropped rows to
 * `out/rejected/` with a `reason` column (`filter:gopher_quality:word_count`).
 */
import { basename } from 'node:path';
import { type Batch, type Kind, type ProgressListener, Stats, selectRows, UsageError } from '@curate/core';
import {
  type ConversationOptions,
  checkTextSpec,
  compileTextSpec,
  conversationView,
  createSplitWriter,
  expandInputs,
  type FileTextTemplate,
  type InputFile,
  prepareOutputDir,
  readShard,
  type TextSpec,
  type TextTemplate,
  textRuleFor,
  type WriteCompression,
  type WriteFormat,
  type WrittenShard,
} from '@curate/shards';
import { FilterChain, redactRow } from './chain.js';
import { evaluateFilters, type PassRates } from './evaluate.js';
import type { Filter } from './filter.js';
import { parseFilterList } from './registry.js';

export interface FilterFilesOptions {
  /** Files, directories or globs. */
  inputs: string[];
  /** Output directory (refused when it exists and is not empty, unless `overwrite`). */
  out: string;
  /** Filters, or a comma-separated list of names with default parameters. */
  filters: Filter[] | string;
  /**
   * Text column or template (`{instruction}\n\n{response}`), or one per file pattern
   * (`[{ match: '*dolly*', text: '...' }, { text: '...' }]`, see `TextSpec`); default `text`.
   */
  text?: TextSpec;
  /**
   * The documents are conversations (`ConversationOptions` of @curate/shards; `text` is then ignored):
   * the filters judge the content of `conversation.quality`'s roles (default assistant). Turns are
   * kept exactly, so a filter that rewrites text (c4 in clean mode, pii, custom) is refused.
   */
  conversation?: ConversationOptions;
  overwrite?: boolean;
  /** Write dropped rows to `out/rejected/` with their reason (default true). */
  rejected?: boolean;
  /** Output format; default the first input's (json -> jsonl). */
  format?: WriteFormat;
  compression?: WriteCompression;
  /** Source name for `applies_to` when rows have no `source` column (default: the file name). */
  source?: string;
  /** Kind when rows have no `kind` column (default `real`). */
  kind?: Kind;
  progress?: ProgressListener;
  signal?: AbortSignal;
}

export interface FilterSummary {
  documents_in: number;
  kept: number;
  /** Drops by reason key, summed over sources. */
  dropped: Record<string, number>;
  /** Kept rows whose text a filter cleaned (c4 clean mode). */
  cleaned: number;
  /** Per-source counters. */
  sources: ReturnType<Stats['toJSON']>;
  outputs: { kept: WrittenShard[]; rejected: WrittenShard[] };
  seconds: number;
}

function defaultFormat(files: InputFile[]): WriteFormat {
  const f = files[0]?.format;
  return f === 'parquet' ? 'parquet' : f === 'arrow' || f === 'arrows' ? 'arrow' : 'jsonl';
}

function textOf(template: TextTemplate, textSpec: string): { column: string; render: (b: Batch, r: number) => string } {
  const isColumn = template.columns.length === 1 && template.columns[0] === textSpec;
  return { column: isColumn ? textSpec : 'text', render: (b, r) => template.render(b, r) };
}

/** The text spec and template of a command: a conversation's view of one step's roles, else `text`. */
export function stepText(
  text: TextSpec | undefined,
  conversation: ConversationOptions | undefined,
): { spec: TextSpec; template: FileTextTemplate } {
  if (!conversation) return { spec: text ?? 'text', template: compileTextSpec(text ?? 'text') };
  const view = conversationView(conversation, 'quality');
  return { spec: view.options.column, template: { ...view, forFile: () => view } };
}

function refuseRewrites(filters: readonly Filter[]): void {
  const bad = filters.find((f) => f.redact || f.name === 'custom');
  if (bad)
    throw new UsageError(
      `filter ${bad.name} rewrites text, which a conversation cannot take (its turns are kept exactly)`,
      { code: 'E_CONVERSATION_REWRITE' },
    );
}

/** Filter shard files into `out` (kept) and `out/rejected` (dropped, with reason). */
export async function filterFiles(options: FilterFilesOptions): Promise<FilterSummary> {
  const t0 = performance.now();
  const filters = typeof options.filters === 'string' ? parseFilterList(options.filters) : options.filters;
  const { spec: textSpec, template } = stepText(options.text, options.conversation);
  if (options.conversation) refuseRewrites(filters);
  const files = await expandInputs(options.inputs);
  checkTextSpec(
    textSpec,
    files.map((f) => f.path),
  );
  const chain = new FilterChain(filters);
  await chain.prepare();
  const outDir = await prepareOutputDir(options.out, {
    overwrite: options.overwrite,
    protect: files.map((f) => f.path),
    command: 'filter',
  });
  const writer = createSplitWriter({
    dir: outDir.tmpDir,
    format: options.format ?? defaultFormat(files),
    compression: options.compression,
    rejected: options.rejected ?? true,
  });
  const stats = new Stats();
  chain.countInto(stats);
  let docs = 0;
  let cleaned = 0;
  let bytesDone = 0;
  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  try {
    for (const f of files) {
      const fileSource = options.source ?? basename(f.path);
      const { column: textColumn, render } = textOf(template.forFile(f.path), textRuleFor(textSpec, f.path) as string);
      for await (const batch of readShard(f, { signal: options.signal })) {
        template.check(batch);
        const sc = batch.columns.source;
        const kc = batch.columns.kind;
        const keep: number[] = [];
        const drop: number[] = [];
        const reasons: string[] = [];
        let newText: unknown[] | undefined;
        // kept and rejected rows a redacting filter (pii) applies to: every string column redacted too
        let redacted: Record<string, unknown[]> | undefined;
        chain.doc.file = f.path;
        for (let r = 0; r < batch.length; r++) {
          const text = render(batch, r);
          const source = sc && typeof sc[r] === 'string' ? (sc[r] as string) : fileSource;
          const kind: Kind = kc
            ? kc[r] === 'synthetic'
              ? 'synthetic'
              : kc[r] === 'real'
                ? 'real'
                : (options.kind ?? 'real')
            : (options.kind ?? 'real');
          chain.doc.fileRow = (batch.offset ?? 0) + r;
          const reason = chain.run(text, source, kind, batch.columns, r);
          stats.read(source);
          const redact = chain.redactor(source, kind);
          if (redact) {
            redacted ??= { ...batch.columns };
            redactRow(redacted, batch.columns, r, redact, reason === null ? textColumn : '');
          }
          if (reason === null) {
            keep.push(r);
            stats.kept(source);
            if (chain.doc.text !== text) {
              if (options.conversation)
                throw new UsageError(
                  'a filter rewrote text (c4 in clean mode?), which a conversation cannot take (its turns are kept exactly): use c4 with mode: filter',
                  { code: 'E_CONVERSATION_REWRITE', file: f.path, row: chain.doc.fileRow },
                );
              cleaned++;
              if (!newText) {
                const orig = batch.columns[textColumn];
                newText = new Array(batch.length);
                for (let i = 0; i < batch.length; i++) newText[i] = orig ? orig[i] : render(batch, i);
              }
              newText[r] = chain.doc.text;
            }
          } else {
            drop.push(r);
            reasons.push(reason);
            stats.drop(source, reason);
          }
        }
        docs += batch.length;
        const base = redacted ? { ...batch, columns: redacted } : batch;
        const src = newText ? { ...base, columns: { ...base.columns, [textColumn]: newText } } : base;
        if (keep.length === batch.length) await writer.keep(src);
        else if (keep.length) await writer.keep(selectRows(src, keep));
        if (drop.length) await writer.reject(selectRows(base, drop), reasons);
        options.progress?.({ phase: 'filter', rows: docs, bytes: bytesDone, totalBytes });
      }
      bytesDone += f.size;
    }
    const outputs = outDir.finalShards(await writer.close());
    await outDir.commit();
    const sources = stats.toJSON();
    const dropped: Record<string, number> = {};
    let kept = 0;
    for (const s of Object.values(sources)) {
      kept += s.rows_kept;
      for (const [k, v] of Object.entries(s.dropped)) dropped[k] = (dropped[k] ?? 0) + v;
    }
    options.progress?.({ phase: 'filter', rows: docs, bytes: totalBytes, totalBytes, done: true });
    return { documents_in: docs, kept, dropped, cleaned, sources, outputs, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    await writer.abort().catch(() => {});
    await outDir.abort().catch(() => {});
    throw e;
  }
}

/** Per-filter pass rates over shard files (for `curate stats`); format with `formatPassRates`. */
export async function evaluateFiles(options: {
  inputs: string[];
  filters: Filter[] | string;
  text?: TextSpec;
  /** Conversations: the filters see the content of `conversation.quality`'s roles (as in `filterFiles`). */
  conversation?: ConversationOptions;
  source?: string;
  kind?: Kind;
  signal?: AbortSignal;
}): Promise<PassRates> {
  const filters = typeof options.filters === 'string' ? parseFilterList(options.filters) : options.filters;
  const { spec, template } = stepText(options.text, options.conversation);
  const files = await expandInputs(options.inputs);
  checkTextSpec(
    spec,
    files.map((f) => f.path),
  );
  async function* batches(): AsyncIterable<Batch> {
    for (const f of files) {
      for await (const b of readShard(f, { signal: options.signal })) {
        template.check(b);
        yield b;
      }
    }
  }
  return evaluateFilters(batches(), filters, {
    text: (b, r) => template.render(b, r),
    source: options.source,
    kind: options.kind,
  });
}
