/**
 * The run manifest (`OUT/manifest.json`): everything needed to trust, reproduce
 * and report a run. Invariant per source: rows_read == sum(dropped) + rows_available.
 */

import type { SourceCounters } from '@curate/core';
import type { ChatHistogramRecord } from './chat-stats.js';
import type { LineageRecord } from './lineage.js';
import type { RoleMetricsRecord } from './role-metrics.js';
import type { ScanRecord } from './stages/scan.js';

export const MANIFEST_VERSION = 1;

export interface InputFileRecord {
  path: string;
  format: string;
  bytes: number;
  sha256: string;
  rows: number;
  /** An s3:// input: what reading it cost (ranged GETs of only the used Parquet columns), over every pass. */
  fetched?: { bytes: number; requests: number; retries: number };
}

/** A source's sampled tokens and documents by its rows' own depth and generator (lineage columns). */
export interface SourceLineage {
  by_generation: Record<string, { tokens: number; documents: number }>;
  by_generator: Record<string, { tokens: number; documents: number }>;
}

export interface SourceRecord {
  name: string;
  kind: 'real' | 'synthetic';
  generator?: string;
  /** Generation depth (0 people, 1 a model from human text, 2+ a model from generated data): the recipe's, else 0 real, 1 synthetic. */
  generation: number;
  /** With `generation_column` / `generator_column`: the sampled rows by their own depth and generator. */
  lineage?: SourceLineage;
  files: InputFileRecord[];
  rows_read: number;
  /** Drop counts by reason key (`filter:gopher_quality:word_count`, `dedup:exact`, `dedup:near`, `decontam:gsm8k`). */
  dropped: Record<string, number>;
  /**
   * What filters changed in rows of this source, by key, when any did: `pii:rows` (rows whose text
   * the pii filter changed, whether or not a later step dropped them), `pii:email`, `pii:ipv4`,
   * `pii:ipv6`, `pii:phone` (matches replaced), custom filters' `doc.count` keys.
   */
  changed?: Record<string, number>;
  rows_available: number;
  tokens_available: number;
  rows_sampled: number;
  tokens_sampled: number;
  /** quota / available in the plan's unit. */
  epochs: number;
  quota: number;
  /** Target share of the whole mix (quota / budget), in the plan's unit. */
  share: number;
  /** Share of its kind's budget (the recipe's `share`, or the natural proportion). */
  kind_share: number;
  max_epochs: number;
  limiting: boolean;
}

export interface KindRatioRecord {
  real: number;
  synthetic: number;
}

export interface OutputShardRecord {
  /** Path relative to the output directory. */
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface WarningRecord {
  code: string;
  message: string;
  sources?: string[];
  /** The published fact the threshold rests on, when there is one. */
  fact?: string;
}

export interface DedupRecord {
  exact?: { removed: number; groups: number };
  near?: {
    removed: number;
    clusters: number;
    /** Cluster size -> number of clusters (sizes >= 2). */
    cluster_sizes: Record<string, number>;
    bands: number;
    rows: number;
    threshold: number;
    num_perm: number;
  };
  decontaminate?: { name: string; rows: number; ngrams: number; removed: number }[];
  /**
   * Per kind: rows that reached dedup (`candidates`: after quality and decontamination), removed as
   * exact and near duplicates, and their share (`duplicate_rate`): the within-kind redundancy signal.
   */
  by_kind?: Record<string, { candidates: number; exact: number; near: number; duplicate_rate: number }>;
  /** Removed duplicates by their kind and the kind of the row kept in their place (`synthetic_of_real`: regurgitation). */
  copies?: {
    synthetic_of_real: number;
    synthetic_of_synthetic: number;
    real_of_real: number;
    real_of_synthetic: number;
  };
}

/**
 * One quality signal's histograms (manifest `quality_signals[name]`), real vs synthetic, measured by
 * @curate/quality `qualitySignals` on the raw text (before any filter) of a deterministic sample of
 * the rows read: row r of file f of source s is measured when a hash of (s, f, r) falls below the
 * source's rate, fixed from its input bytes (all of a source up to 1 MiB, else 1/32 of it, at most
 * 32 MiB of it), so the numbers do not depend on worker count or batch boundaries.
 */
export interface QualitySignalRecord {
  /** Axis label (`words`, `share of words with a letter`, ...). */
  label: string;
  /** The filter that judges the signal (`gopher_quality`, `gopher_repetition`, `fineweb`). */
  filter: string;
  /**
   * Bin edges, ascending (bins = edges.length - 1). Bin i counts values in [edges[i], edges[i+1]);
   * values below edges[0] count in the first bin, values at or above the last inner edge in the last
   * (open-ended) bin.
   */
  edges: number[];
  /** Rows per bin, real and synthetic. A row whose value is undefined (no words) is in no bin. */
  real: number[];
  synthetic: number[];
  /** Rows measured per kind (the denominators for shares). */
  sampled: { real: number; synthetic: number };
  /**
   * The bounds the filter judges the signal against: a value below `min` or above `max` is dropped
   * (a value at a bound passes). `from: 'recipe'` when the filter is in the recipe (its configured
   * values; `applies_to` as there), `'default'` when it is not (the filter's defaults: this run did
   * not apply them). Absent when no bound applies (e.g. the recipe turned the check off).
   */
  threshold?: {
    min?: number;
    max?: number;
    from: 'recipe' | 'default';
    applies_to?: 'real' | 'synthetic' | string[];
  };
}

export interface Manifest {
  manifest_version: number;
  tool: { name: 'curate'; version: string };
  recipe: { name: string; file?: string; hash: string; resolved: unknown };
  seed: number;
  tokenizer: string;
  unit: 'tokens' | 'documents';
  /** True for `curate plan` / `--dry-run`: nothing was written. */
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  target: {
    budget: number;
    requested_budget: number | null;
    max_budget: number;
    ratio: KindRatioRecord;
    planned_ratio: KindRatioRecord;
    achieved_ratio: { tokens: KindRatioRecord; documents: KindRatioRecord };
    shortfall?: { limiting_source: string; largest_feasible_budget: number };
  };
  totals: {
    rows_read: number;
    rows_dropped: number;
    rows_available: number;
    rows_written: number;
    tokens_written: number;
    rows_rejected_written: number;
  };
  sources: SourceRecord[];
  dedup: DedupRecord;
  /** Diversity and distribution metrics of the written rows per source and per kind (see @curate/metrics). */
  metrics: {
    sources: Record<string, unknown>;
    kinds: Record<string, unknown>;
    /** Each synthetic source compared with the real pool. */
    comparisons: Record<string, unknown>;
    /** Conversation sources only: the same per role of their turns (role-metrics.ts). */
    roles?: RoleMetricsRecord;
  };
  warnings: WarningRecord[];
  /** Sampled tokens and documents by generation depth and by generator (see lineage.ts). */
  lineage?: LineageRecord;
  /**
   * Conversation sources' shape, real vs synthetic, over the rows read: `turns` (turns per
   * conversation) and `chars_<role>` (characters per turn of that role) histograms (chat-stats.ts).
   */
  conversations?: Record<string, ChatHistogramRecord>;
  /**
   * Quality-signal distributions, real vs synthetic, by signal name (`word_count`,
   * `mean_word_length`, `symbol_word_ratio`, `alpha_words_ratio`, `stop_words`, `dup_line_char_frac`,
   * `top_2gram_char_frac`, `dup_5gram_char_frac`, `punct_line_ratio`, `short_line_ratio`,
   * `newline_word_ratio`): see QualitySignalRecord. Absent when the run was asked not to measure them.
   */
  quality_signals?: Record<string, QualitySignalRecord>;
  output: {
    dir: string;
    format: string;
    compression: string;
    shards: OutputShardRecord[];
    rejected: OutputShardRecord[];
    columns: { name: string; type: string }[];
  };
  /**
   * Seconds per phase (`*_seconds`) and peak resident memory (`peak_rss_mb`). `signals_seconds` is
   * thread time measuring quality signals, summed over the scan workers (part of pass 1).
   */
  timings: Record<string, number>;
  /**
   * The work dir this run reused and stored attributes in, and what each stage reused: scan files
   * whose attribute shards verified (`reused`) or were computed (`computed`, `bytes_read` of input),
   * and whether the dedup verdicts were reused.
   * Absent for a dry run or `work: false`.
   */
  work?: {
    dir: string;
    scan: ScanRecord;
    /** Dedup verdicts taken from the work dir (same inputs, decisions and settings as a run before). */
    dedup: { reused: boolean };
    /**
     * The write stage's units (scatter: one per input file or row range; rejected; write: one per
     * range of output positions) taken from a killed run's markers, and computed, per step.
     */
    write?: {
      reused: Record<string, number>;
      computed: Record<string, number>;
      /**
       * When text-rewriting steps apply: selected rows whose cleaned text was rebuilt from the spans the
       * scan stored (no filter ran), and rows whose steps ran again (a rewrite that is not a deletion).
       */
      text?: { from_spans: number; rederived: number };
    };
  };
  /** Per-source raw counters (rows read / kept / dropped) exactly as counted. */
  counters: Record<string, SourceCounters>;
}
