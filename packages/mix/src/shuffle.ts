import { fnv1a32, type Rng } from '@curate/core';
import type { SampleSelection } from './sample.js';

/**
 * A run of output rows in their final order, as parallel arrays:
 * output row i is row `row[i]` of source `source[i]` (index into the selections), epoch `epoch[i]`.
 * 8 bytes per output row (plus the selections' own 6 bytes per row).
 */
export interface OrderChunk {
  readonly length: number;
  /** The shuffle bucket the rows came from (always 0 for the in-memory shuffle). */
  readonly bucket: number;
  readonly source: Uint16Array;
  readonly row: Uint32Array;
  readonly epoch: Uint16Array;
}

export interface ShuffleOptions {
  /**
   * Most (source,row,epoch) triples to hold in memory at once. Default 2^24 (16.7M rows,
   * about 134 MB of order arrays). Above it the bounded two-level shuffle is used.
   */
  memoryRows?: number;
  /** Rows per yielded chunk. Default 65536. */
  chunkRows?: number;
}

/** A seeded global order over all selections, iterated as chunks. Re-iterable; same order each time. */
export interface ShuffledOrder extends Iterable<OrderChunk> {
  /** Total output rows. */
  readonly length: number;
  /** 1 for the in-memory shuffle; K > 1 for the two-level (bucketed) shuffle. */
  readonly buckets: number;
}

const DEFAULT_MEMORY_ROWS = 1 << 24;
const DEFAULT_CHUNK_ROWS = 1 << 16;

/**
 * The seeded global output order across sources.
 *
 * - In memory (total <= memoryRows): one Fisher-Yates shuffle of all triples with
 *   `rng.fork('shuffle')`. Memory: 8 bytes per output row.
 * - Bounded (total > memoryRows): a two-level (Rao-Sandelius) shuffle. Each triple goes to one of
 *   K = ceil(2 * total / memoryRows) buckets by a seeded hash (`shuffleBucketOf`); buckets are
 *   emitted in order 0..K-1, each shuffled in memory with `rng.fork('shuffle/bucket/' + k)`
 *   starting from the canonical order (source index, then selection order = epoch, row).
 *   Random bucket assignment followed by a uniform shuffle within each bucket is a uniform
 *   permutation of the whole. Memory: one bucket (about memoryRows / 2 triples); time: one
 *   pass over the selections per bucket.
 *   When even the selections do not fit, the pipeline can apply the same scheme to the rows
 *   themselves: scatter each selected row to temporary file `shuffleBucketOf(...)` while reading,
 *   then load each file, sort it canonically and shuffle it with `shuffleBucket`, giving exactly
 *   this order.
 */
export function shuffleOrder(selections: SampleSelection[], rng: Rng, options: ShuffleOptions = {}): ShuffledOrder {
  if (selections.length > 0xffff) throw new RangeError('shuffleOrder: at most 65535 sources');
  const memoryRows = Math.max(1, Math.floor(options.memoryRows ?? DEFAULT_MEMORY_ROWS));
  const chunkRows = Math.max(1, Math.floor(options.chunkRows ?? DEFAULT_CHUNK_ROWS));
  const length = selections.reduce((a, s) => a + s.rows.length, 0);
  const buckets = length <= memoryRows ? 1 : Math.min(0xffff, Math.ceil((2 * length) / memoryRows));
  const seedHash = fnv1a32(`${rng.seed}/shuffle`);

  function* iterate(): Generator<OrderChunk> {
    if (buckets === 1) {
      const all = gather(selections, () => true, length, 0);
      shuffleBucket(all, rng.fork('shuffle'));
      yield* split(all, chunkRows);
      return;
    }
    for (let k = 0; k < buckets; k++) {
      let size = 0;
      selections.forEach((sel, s) => {
        for (let i = 0; i < sel.rows.length; i++) {
          if (bucketHash(seedHash, s, sel.rows[i], sel.epochs[i], buckets) === k) size++;
        }
      });
      const part = gather(selections, (s, row, epoch) => bucketHash(seedHash, s, row, epoch, buckets) === k, size, k);
      shuffleBucket(part, rng.fork(`shuffle/bucket/${k}`));
      yield* split(part, chunkRows);
    }
  }
  return { length, buckets, [Symbol.iterator]: iterate };
}

/**
 * The bucket (0..buckets-1) of one output triple in the two-level shuffle of `shuffleOrder`
 * with the same `rng` and bucket count. Stable: depends only on the seed and the triple.
 */
export function shuffleBucketOf(rng: Rng, buckets: number, source: number, row: number, epoch: number): number {
  return bucketHash(fnv1a32(`${rng.seed}/shuffle`), source, row, epoch, buckets);
}

/** Fisher-Yates over the parallel arrays of a chunk, in place. */
export function shuffleBucket(chunk: OrderChunk, rng: Rng): OrderChunk {
  const { source, row, epoch } = chunk;
  for (let i = chunk.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    let t = source[i];
    source[i] = source[j];
    source[j] = t;
    t = row[i];
    row[i] = row[j];
    row[j] = t;
    t = epoch[i];
    epoch[i] = epoch[j];
    epoch[j] = t;
  }
  return chunk;
}

/** Materialise a chunk's triples as objects (convenient for small outputs and tests). */
export function* orderEntries(order: Iterable<OrderChunk>): Generator<{ source: number; row: number; epoch: number }> {
  for (const c of order) {
    for (let i = 0; i < c.length; i++) yield { source: c.source[i], row: c.row[i], epoch: c.epoch[i] };
  }
}

function gather(
  selections: SampleSelection[],
  keep: (source: number, row: number, epoch: number) => boolean,
  size: number,
  bucket: number,
): OrderChunk {
  const source = new Uint16Array(size);
  const row = new Uint32Array(size);
  const epoch = new Uint16Array(size);
  let k = 0;
  selections.forEach((sel, s) => {
    for (let i = 0; i < sel.rows.length; i++) {
      if (!keep(s, sel.rows[i], sel.epochs[i])) continue;
      source[k] = s;
      row[k] = sel.rows[i];
      epoch[k++] = sel.epochs[i];
    }
  });
  return { length: size, bucket, source, row, epoch };
}

function* split(c: OrderChunk, chunkRows: number): Generator<OrderChunk> {
  for (let start = 0; start < c.length; start += chunkRows) {
    const end = Math.min(c.length, start + chunkRows);
    yield {
      length: end - start,
      bucket: c.bucket,
      source: c.source.subarray(start, end),
      row: c.row.subarray(start, end),
      epoch: c.epoch.subarray(start, end),
    };
  }
}

/** murmur3-style 32-bit mix of (seed, source, row, epoch), mapped to [0, buckets) by multiply-shift. */
function bucketHash(seed: number, source: number, row: number, epoch: number, buckets: number): number {
  let h = seed ^ Math.imul(source + 1, 0x9e3779b1);
  h = mix(h ^ row);
  h = mix(h ^ Math.imul(epoch + 1, 0x85ebca6b));
  return Math.floor(((h >>> 0) * buckets) / 0x100000000);
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
