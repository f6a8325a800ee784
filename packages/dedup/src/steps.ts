/**
 * Streaming steps for a training pipeline (`Step` from @curate/core): each
 * keeps or drops rows with a reason, counts drops in `ctx.stats` by source
 * (reading and keeping are counted by whoever reads and writes),
 * and hands dropped rows to `onReject` when given. Streaming means one pass
 * and first-seen-kept; for the order-independent keep rule (`prefer: real`,
 * scores) use the data APIs (`ExactDeduper.resolve`, `NearDedupIndex.resolve`).
 */
import { type Batch, dropReason, type RejectHandler, type Step, type StepContext, selectRows } from '@curate/core';
import { compileTemplate } from '@curate/shards';
import type { DecontamIndex } from './decontam.js';
import { ExactDeduper, exactKey } from './exact.js';
import { LSHIndex } from './lsh.js';
import { MinHasher, type MinHashOptions } from './minhash.js';
import type { NormalizeOptions } from './normalize.js';

export interface StepOptions {
  /** Text column or template. Default `text`. */
  text?: string;
  /** Id column; default `id` when present, else `<file or source>:<row>`. */
  idColumn?: string;
  /**
   * Source name for the counters when the batch has no `source` column (default: the batch's file,
   * else `input`), as `qualityStep`'s `source`.
   */
  source?: string;
  /** Receives the dropped rows of each batch with their reasons (core's `RejectHandler`, as `qualityStep`). */
  onReject?: RejectHandler;
}

interface RowCtx {
  text: (batch: Batch, row: number) => string;
  id: (batch: Batch, row: number, seq: number) => string;
  source: (batch: Batch, row: number) => string;
}

function rowContext(options: StepOptions): RowCtx {
  const tpl = compileTemplate(options.text ?? 'text');
  const idCol = options.idColumn ?? 'id';
  let checked: Batch | undefined;
  return {
    text: (batch, row) => {
      if (checked !== batch) {
        tpl.check(batch);
        checked = batch;
      }
      return tpl.render(batch, row);
    },
    id: (batch, row, seq) => {
      const v = batch.columns[idCol]?.[row];
      if (v !== undefined && v !== null && v !== '') return String(v);
      const src = batch.file ?? (batch.columns.source?.[row] as string | undefined) ?? 'input';
      return `${src}:${batch.offset === undefined ? seq : batch.offset + row}`;
    },
    source: (batch, row) => {
      const s = batch.columns.source?.[row];
      return typeof s === 'string' ? s : (options.source ?? batch.file ?? 'input');
    },
  };
}

/** A step from a per-row decision: null keeps the row, a string drops it with that reason. */
function decideStep(
  options: StepOptions,
  decide: (rc: RowCtx, batch: Batch, row: number, seq: number) => string | null,
): Step {
  return async function* (input: AsyncIterable<Batch>, ctx: StepContext) {
    const rc = rowContext(options);
    let seq = 0;
    for await (const batch of input) {
      const keep: number[] = [];
      const drop: number[] = [];
      const reasons: string[] = [];
      for (let r = 0; r < batch.length; r++) {
        const reason = decide(rc, batch, r, seq++);
        if (reason === null) keep.push(r);
        else {
          drop.push(r);
          reasons.push(reason);
          ctx.stats.drop(rc.source(batch, r), reason);
        }
      }
      if (drop.length && options.onReject) await options.onReject(selectRows(batch, drop), reasons);
      if (keep.length === batch.length) yield batch;
      else if (keep.length) yield selectRows(batch, keep);
    }
  };
}

/** Exact dedup, first seen kept: `dedup:exact:dup_of=<id>`. */
export function exactDedupStep(options: StepOptions & NormalizeOptions = {}): Step {
  const d = new ExactDeduper();
  return decideStep(options, (rc, batch, r, seq) => {
    const id = rc.id(batch, r, seq);
    const hit = d.check(exactKey(rc.text(batch, r), options), seq, { id });
    return hit ? dropReason('dedup', 'exact', `dup_of=${hit.keptId}`) : null;
  });
}

export interface NearStepOptions extends StepOptions, MinHashOptions {
  threshold?: number;
  bands?: number;
  rows?: number;
}

/**
 * Near dedup, first seen kept: a row is dropped when a kept row's signature
 * shares a band and estimates Jaccard >= threshold. Reason
 * `dedup:near:cluster=<n>:kept=<id>` (clusters numbered as they form).
 * Rows without any word are kept (exact dedup handles empty text).
 */
export function nearDedupStep(options: NearStepOptions = {}): Step {
  const mh = new MinHasher(options);
  const index = new LSHIndex<number>({
    numPerm: mh.numPerm,
    threshold: options.threshold,
    bands: options.bands,
    rows: options.rows,
  });
  const ids = new Map<number, string>();
  const clusters = new Map<number, number>();
  return decideStep(options, (rc, batch, r, seq) => {
    const sig = mh.signature(rc.text(batch, r));
    if (!sig) return null;
    const hit = index.queryVerified(sig);
    if (hit.length) {
      const kept = Math.min(...hit.map((h) => h.id));
      let c = clusters.get(kept);
      if (c === undefined) clusters.set(kept, (c = clusters.size));
      return dropReason('dedup', 'near', `cluster=${c}:kept=${ids.get(kept)}`);
    }
    index.insert(seq, sig);
    ids.set(seq, rc.id(batch, r, seq));
    return null;
  });
}

/** Decontamination: `decontam:<eval>:row=<r>` for rows sharing an n-gram with an eval set. */
export function decontamStep(index: DecontamIndex, options: StepOptions = {}): Step {
  return decideStep(options, (rc, batch, r) => {
    const m = index.match(rc.text(batch, r));
    return m ? dropReason('decontam', m.evalName, `row=${m.row}`) : null;
  });
}
