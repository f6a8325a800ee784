/**
 * Quality-signal histograms (manifest `quality_signals`): the values the default
 * filters judge (@curate/quality `qualitySignals`), measured on the raw text of a
 * deterministic sample of the rows read, before any filter, so a report shows
 * where real and synthetic rows sit relative to the thresholds.
 *
 * The sample: row `r` of file `f` of source `s` is measured when a 32-bit hash of
 * (s, f, r) falls below `rate * 2^32`; the rate is fixed per source from its input
 * bytes before pass 1, so the sample depends neither on the worker count nor on
 * batch boundaries. Histograms have fixed edges per signal and merge by addition.
 */
import {
  FILTER_DEFAULTS,
  type QualitySignalName,
  type QualitySignals,
  SIGNAL_EDGES,
  SIGNAL_INFO,
  type SignalOptions,
} from '@curate/quality';
import type { Recipe } from '@curate/recipe';
import { qualitySteps } from '@curate/recipe/filters';
import type { QualitySignalRecord } from './manifest.js';

/**
 * Share of a source's rows measured. In `npm run bench` (2 workers, books and chat answers) measuring
 * 1/8 of the bytes took 9.3% of pass 1's thread time (about as slow per byte as pass 1 itself, under
 * load), so 1/32 keeps it near 3%.
 */
export const SIGNAL_SAMPLE_FRACTION = 1 / 32;
/** Small sources are measured whole up to this many input bytes (well under a second per source). */
export const SIGNAL_SAMPLE_MIN_BYTES = 1 << 20;
/** At most this many input bytes are measured per source, however large it is. */
export const SIGNAL_SAMPLE_MAX_BYTES = 32 << 20;

/** Sampling rate of a source of `bytes` input bytes: the share of its rows measured. */
export function signalRate(bytes: number): number {
  if (!(bytes > 0)) return 1;
  const want = Math.min(
    bytes,
    Math.max(SIGNAL_SAMPLE_MIN_BYTES, Math.min(SIGNAL_SAMPLE_MAX_BYTES, bytes * SIGNAL_SAMPLE_FRACTION)),
  );
  return want / bytes;
}

/** Seed of one file's sample: FNV-1a of the source name and the file's index in the source. */
export function signalSeed(source: string, fileIndex: number): number {
  let h = 0x811c9dc5;
  const s = `${source}\u0000${fileIndex}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Is row `row` (0-based in its file) in the sample at this rate? */
export function inSignalSample(seed: number, row: number, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  let h = (seed ^ Math.imul(row + 1, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0 < rate * 4294967296;
}

/** The histogram edges live with the signals in @curate/quality (`SIGNAL_EDGES`). */
export { SIGNAL_EDGES };

export const SIGNAL_NAMES = Object.keys(SIGNAL_INFO) as QualitySignalName[];

/** Offset of each signal's bins in one flat count array. */
const OFFSETS: number[] = [];
let TOTAL_BINS = 0;
for (const n of SIGNAL_NAMES) {
  OFFSETS.push(TOTAL_BINS);
  TOTAL_BINS += SIGNAL_EDGES[n].length - 1;
}

function binOf(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length - 2; // last bin
  if (v >= edges[hi]) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Histograms of every signal for one group of rows (a file, a source or a kind). */
export class SignalHistograms {
  /** Rows measured. */
  sampled = 0;
  /** All signals' bins, concatenated in SIGNAL_NAMES order. */
  readonly counts: Uint32Array;

  constructor(counts?: Uint32Array, sampled = 0) {
    this.counts = counts ?? new Uint32Array(TOTAL_BINS);
    this.sampled = sampled;
  }

  /** Count one measured row; a null value (no words) is not counted in that signal's bins. */
  add(s: QualitySignals): void {
    this.sampled++;
    for (let k = 0; k < SIGNAL_NAMES.length; k++) {
      const v = s[SIGNAL_NAMES[k]];
      if (v === null || Number.isNaN(v)) continue;
      this.counts[OFFSETS[k] + binOf(SIGNAL_EDGES[SIGNAL_NAMES[k]], v)]++;
    }
  }

  merge(o: { sampled: number; counts: ArrayLike<number> }): this {
    this.sampled += o.sampled;
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += o.counts[i];
    return this;
  }

  /** The bins of one signal. */
  bins(name: QualitySignalName): number[] {
    const k = SIGNAL_NAMES.indexOf(name);
    return Array.from(this.counts.subarray(OFFSETS[k], OFFSETS[k] + SIGNAL_EDGES[name].length - 1));
  }
}

type Params = Record<string, unknown>;

/** The first step of `filter` in the recipe, its parameters merged over the filter's defaults. */
function recipeStep(recipe: Recipe, filter: string): { params: Params; appliesTo?: unknown } | undefined {
  const step = qualitySteps(recipe).find((s) => s.filter === filter);
  if (!step) return undefined;
  const own = (step.params ?? {}) as Params;
  const defaults = FILTER_DEFAULTS[filter as keyof typeof FILTER_DEFAULTS] as unknown as Params;
  return { params: { ...defaults, ...own }, appliesTo: own.applies_to };
}

/** How the recipe asks signals to be measured (gopher_quality's stop words, fineweb's short line length). */
export function signalOptions(recipe: Recipe): SignalOptions {
  const gq = recipe ? recipeStep(recipe, 'gopher_quality') : undefined;
  const fw = recipe ? recipeStep(recipe, 'fineweb') : undefined;
  const o: SignalOptions = {};
  if (Array.isArray(gq?.params.stop_words)) o.stop_words = gq.params.stop_words as string[];
  if (typeof fw?.params.short_line_length === 'number') o.short_line_length = fw.params.short_line_length;
  return o;
}

function param(params: Params, path: string): number | undefined {
  const [k, sub] = path.split('.');
  let v = params[k];
  if (sub !== undefined) v = typeof v === 'object' && v !== null ? (v as Params)[sub] : undefined;
  return typeof v === 'number' ? v : undefined;
}

/** The manifest's `quality_signals`: per signal the edges, bins per kind, and the threshold the recipe applies. */
export function qualitySignalsRecord(
  recipe: Recipe,
  byKind: { real: SignalHistograms; synthetic: SignalHistograms },
): Record<string, QualitySignalRecord> {
  const out: Record<string, QualitySignalRecord> = {};
  const shortLength = signalOptions(recipe).short_line_length;
  for (const name of SIGNAL_NAMES) {
    const info = SIGNAL_INFO[name];
    const step = recipeStep(recipe, info.filter);
    const rec: QualitySignalRecord = {
      label:
        name === 'short_line_ratio' && shortLength !== undefined ? `short lines (<= ${shortLength} chars)` : info.label,
      filter: info.filter,
      edges: [...SIGNAL_EDGES[name]],
      real: byKind.real.bins(name),
      synthetic: byKind.synthetic.bins(name),
      sampled: { real: byKind.real.sampled, synthetic: byKind.synthetic.sampled },
    };
    const threshold: NonNullable<QualitySignalRecord['threshold']> = { from: step ? 'recipe' : 'default' };
    for (const bound of ['min', 'max'] as const) {
      const path = info.params[bound];
      if (!path) continue;
      const v = step ? param(step.params, path) : info[bound];
      // every signal is >= 0: a lower bound of 0 never drops, so it is not drawn
      if (v !== undefined && !(bound === 'min' && v <= 0)) threshold[bound] = v;
    }
    if (step?.appliesTo !== undefined) threshold.applies_to = step.appliesTo as 'real' | 'synthetic' | string[];
    if (threshold.min !== undefined || threshold.max !== undefined) rec.threshold = threshold;
    out[name] = rec;
  }
  return out;
}
