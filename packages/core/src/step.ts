import type { Stats } from './stats.js';
import type { Batch } from './types.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

/** Progress reported by long work; the CLI renders it, libraries only emit it. */
export interface ProgressEvent {
  /** What is running: `read`, `quality`, `dedup`, `write`, ... */
  phase: string;
  rows: number;
  bytes: number;
  /** Total bytes expected for the phase, when known (for an ETA). */
  totalBytes?: number;
  done?: boolean;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** What every step receives besides its input. */
export interface StepContext {
  rank: number;
  worldSize: number;
  stats: Stats;
  signal?: AbortSignal;
  log: Logger;
  progress?: ProgressListener;
}

/**
 * Receives the rows a step dropped, once per input batch that had drops: `rejected` holds only
 * those rows (all columns, as read), `reasons[i]` is row i's full reason (`filter:c4:too_few_sentences`,
 * `dedup:exact:dup_of=doc-7`). The step awaits it before going on, so a writer can apply back-pressure.
 * The one shape every step of every package uses (`qualityStep`, `exactDedupStep`, ...).
 */
export type RejectHandler = (rejected: Batch, reasons: string[]) => void | Promise<void>;

/** A step: a stream of batches in, a stream of batches out. */
export type Step = (input: AsyncIterable<Batch>, ctx: StepContext) => AsyncIterable<Batch>;

/** Chain steps left to right. */
export function pipe(input: AsyncIterable<Batch>, ctx: StepContext, ...steps: Step[]): AsyncIterable<Batch> {
  let it = input;
  for (const s of steps) it = s(it, ctx);
  return it;
}
