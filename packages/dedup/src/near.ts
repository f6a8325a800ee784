/**
 * Near dedup as data: add signatures with their global order index and
 * metadata, then `resolve()` into clusters and a removal map.
 *
 * Candidate rule (identical in-process and in the rank stages): bands are
 * processed one at a time over documents in docIndex order. Within a bucket
 * (equal band values), a document is compared with the bucket's
 * representatives in order; it joins the first one whose signature estimate
 * of Jaccard is >= the verification bar (an edge), else it becomes a new
 * representative. Edges are merged by union-find; connectivity does not
 * depend on the order edges arrive, so ranks and workers agree exactly.
 */
import { UsageError } from '@curate/core';
import { key53 } from './hash.js';
import { compareForKeep, type DocMeta, kindCode, type Prefer, scoreValue, sizeHistogram } from './keep.js';
import { type BandWeights, resolveBands } from './lsh.js';
import type { Signature } from './minhash.js';

export interface NearDedupOptions {
  numPerm?: number;
  /** Jaccard threshold. Default 0.8. */
  threshold?: number;
  /** Explicit banding (both or neither); default derived from the threshold (see `optimalBands`). */
  bands?: number;
  rows?: number;
  bandWeights?: BandWeights;
  /** Verify candidates by the signature estimate of Jaccard. Default true. */
  verify?: boolean;
  /** Verification bar on the estimate. Default: the threshold. */
  verifyThreshold?: number;
  /** Which document a cluster keeps first. Default 'real'. */
  prefer?: Prefer;
}

export interface ResolvedNearOptions {
  numPerm: number;
  threshold: number;
  bands: number;
  rows: number;
  verify: boolean;
  verifyThreshold: number;
  prefer: Prefer;
}

export function resolveNearOptions(o: NearDedupOptions = {}): ResolvedNearOptions {
  const numPerm = o.numPerm ?? 128;
  const threshold = o.threshold ?? 0.8;
  if (!(threshold > 0 && threshold < 1)) {
    throw new UsageError(`threshold must be in (0, 1), got ${threshold}`, { code: 'E_DEDUP_THRESHOLD' });
  }
  const { bands, rows } = resolveBands(numPerm, threshold, o.bands, o.rows, o.bandWeights);
  const prefer = o.prefer ?? 'real';
  if (prefer !== 'real' && prefer !== 'none') {
    throw new UsageError(`prefer must be "real" or "none", got ${String(prefer)}`, { code: 'E_DEDUP_PREFER' });
  }
  return {
    numPerm,
    threshold,
    bands,
    rows,
    verify: o.verify ?? true,
    verifyThreshold: o.verifyThreshold ?? threshold,
    prefer,
  };
}

/** Why a document is removed by near dedup. */
export interface NearRemoval {
  /** Cluster number: clusters are numbered 0.. in order of their first document. */
  cluster: number;
  keptIndex: number;
  keptId: string;
}

export interface NearDedupResult {
  removed: Map<number, NearRemoval>;
  /** Clusters of two or more documents. */
  clusters: number;
  /** Cluster sizes (see `sizeHistogram`). */
  sizeHistogram: Record<string, number>;
  /** Verified candidate edges found (before union-find). */
  edges: number;
}

/** Signatures in chunks of fixed-size slots. */
export class SignatureStore {
  private readonly chunks: Int32Array[] = [];
  private n = 0;
  private static readonly CHUNK = 8192;
  constructor(readonly numPerm: number) {}
  get length(): number {
    return this.n;
  }
  push(sig: Signature): number {
    if (sig.length !== this.numPerm)
      throw new RangeError(`signature has ${sig.length} values, expected ${this.numPerm}`);
    const slot = this.n++;
    const c = Math.floor(slot / SignatureStore.CHUNK);
    if (c === this.chunks.length) this.chunks.push(new Int32Array(SignatureStore.CHUNK * this.numPerm));
    this.chunks[c].set(sig, (slot % SignatureStore.CHUNK) * this.numPerm);
    return slot;
  }
  get(slot: number): Signature {
    const c = this.chunks[Math.floor(slot / SignatureStore.CHUNK)];
    const o = (slot % SignatureStore.CHUNK) * this.numPerm;
    return c.subarray(o, o + this.numPerm);
  }
  /** The chunk holding a slot's signature (at `offsetOf(slot)`), without allocating a view. */
  chunkOf(slot: number): Int32Array {
    return this.chunks[Math.floor(slot / SignatureStore.CHUNK)];
  }
  offsetOf(slot: number): number {
    return (slot % SignatureStore.CHUNK) * this.numPerm;
  }
  get bytes(): number {
    return this.chunks.length * SignatureStore.CHUNK * this.numPerm * 4;
  }
}

/**
 * Candidate edges of bands [bandFrom, bandTo) (step `bandStep`) over slots
 * given in docIndex order. Calls `edge(a, b)` for every verified pair.
 */
export function bandEdges(
  store: SignatureStore,
  order: ArrayLike<number>,
  opts: ResolvedNearOptions,
  bandsToDo: Iterable<number>,
  edge: (a: number, b: number) => void,
): number {
  let edges = 0;
  const rows = opts.rows;
  const k = store.numPerm;
  const n = order.length;
  // Buckets: an open-addressing table of band keys (53-bit, exact as doubles); each bucket holds its
  // representatives in insertion (docIndex) order as a linked list.
  let cap = 16;
  while (cap < n * 2) cap *= 2;
  const mask = cap - 1;
  const keys = new Float64Array(cap);
  const head = new Int32Array(cap);
  const tail = new Int32Array(cap);
  const repSlot = new Int32Array(Math.max(1, n));
  const repNext = new Int32Array(Math.max(1, n));
  for (const band of bandsToDo) {
    const lo = band * rows;
    head.fill(-1);
    let reps = 0;
    for (let i = 0; i < n; i++) {
      const slot = order[i];
      const a = store.chunkOf(slot);
      const ao = store.offsetOf(slot);
      const key = key53(a, ao + lo, ao + lo + rows, band + 1); // = bandKey(signature, band, rows)
      let h = (key >>> 0) & mask;
      while (head[h] !== -1 && keys[h] !== key) h = (h + 1) & mask;
      if (head[h] === -1) {
        keys[h] = key;
        repSlot[reps] = slot;
        repNext[reps] = -1;
        head[h] = tail[h] = reps++;
        continue;
      }
      let joined = false;
      for (let r = head[h]; r !== -1; r = repNext[r]) {
        const rep = repSlot[r];
        const b = store.chunkOf(rep);
        const bo = store.offsetOf(rep);
        if (!equalAt(a, ao + lo, b, bo + lo, rows)) continue;
        if (opts.verify && estimateAt(a, ao, b, bo, k) < opts.verifyThreshold) continue;
        edge(rep, slot);
        edges++;
        joined = true;
        break;
      }
      if (!joined) {
        repSlot[reps] = slot;
        repNext[reps] = -1;
        repNext[tail[h]] = reps;
        tail[h] = reps++;
      }
    }
  }
  return edges;
}

function equalAt(a: Int32Array, ao: number, b: Int32Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Share of equal positions of two signatures of length k (as estimateJaccard). */
function estimateAt(a: Int32Array, ao: number, b: Int32Array, bo: number, k: number): number {
  let eq = 0;
  for (let i = 0; i < k; i++) if (a[ao + i] === b[bo + i]) eq++;
  return eq / k;
}

/** Union-find with path halving and union by index (deterministic roots). */
export class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
  }
}

export interface ClusterInput {
  /** Number of documents (positions 0..n-1, in docIndex order). */
  n: number;
  docIndex: (pos: number) => number;
  kind: (pos: number) => number;
  score: (pos: number) => number;
  id: (pos: number) => string;
}

/**
 * From a union-find over positions (in docIndex order), pick the kept document
 * per cluster and number clusters in order of their first document.
 */
export function decideClusters(
  uf: UnionFind,
  docs: ClusterInput,
  prefer: Prefer,
): { removed: Map<number, NearRemoval>; clusters: number; sizes: number[] } {
  const n = docs.n;
  const size = new Int32Array(n);
  const best = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const r = uf.find(i);
    size[r]++;
    const b = best[r];
    if (
      b < 0 ||
      compareForKeep(
        prefer,
        docs.docIndex(i),
        docs.kind(i),
        docs.score(i),
        docs.docIndex(b),
        docs.kind(b),
        docs.score(b),
      ) < 0
    ) {
      best[r] = i;
    }
  }
  // Roots are the smallest position of their set (union by index), so scanning
  // positions in order meets clusters in order of their first document.
  const clusterNo = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  let clusters = 0;
  for (let i = 0; i < n; i++) {
    if (uf.parent[i] === i && size[i] > 1) {
      clusterNo[i] = clusters++;
      sizes.push(size[i]);
    }
  }
  const removed = new Map<number, NearRemoval>();
  for (let i = 0; i < n; i++) {
    const r = uf.find(i);
    if (size[r] < 2 || best[r] === i) continue;
    const k = best[r];
    removed.set(docs.docIndex(i), { cluster: clusterNo[r], keptIndex: docs.docIndex(k), keptId: docs.id(k) });
  }
  return { removed, clusters, sizes };
}

/**
 * In-memory near dedup index. `add` in any order; `resolve` sorts by
 * docIndex, so the result depends only on the documents, never on the order
 * or batches they arrived in.
 */
export class NearDedupIndex {
  readonly options: ResolvedNearOptions;
  private readonly store: SignatureStore;
  private docIndexes: number[] = [];
  private kinds: number[] = [];
  private scores: number[] = [];
  private ids: string[] = [];

  constructor(options: NearDedupOptions = {}) {
    this.options = resolveNearOptions(options);
    this.store = new SignatureStore(this.options.numPerm);
  }

  get size(): number {
    return this.store.length;
  }

  /** Memory held per document by the index (signature + metadata arrays, excluding id strings). */
  get bytesPerDocument(): number {
    return this.options.numPerm * 4 + 8 + 8 + 8 + 8;
  }

  add(docIndex: number, signature: Signature, meta: DocMeta): void {
    if (!Number.isSafeInteger(docIndex) || docIndex < 0) throw new RangeError(`docIndex must be a safe integer >= 0`);
    this.store.push(signature);
    this.docIndexes.push(docIndex);
    this.kinds.push(kindCode(meta.kind));
    this.scores.push(scoreValue(meta.score));
    this.ids.push(meta.id);
  }

  /**
   * Clusters and removals. `exclude` leaves documents out (e.g. those exact
   * dedup already removed), as if they had never been added.
   */
  resolve(options: { exclude?: { has(docIndex: number): boolean } } = {}): NearDedupResult {
    const di = this.docIndexes;
    const ex = options.exclude;
    const slots: number[] = [];
    for (let i = 0; i < this.store.length; i++) if (!ex?.has(di[i])) slots.push(i);
    const n = slots.length;
    const order = Int32Array.from(slots);
    order.sort((a, b) => di[a] - di[b]);
    for (let i = 1; i < n; i++) {
      if (di[order[i]] === di[order[i - 1]]) throw new RangeError(`docIndex ${di[order[i]]} added twice`);
    }
    // positions: pos -> slot via order; union-find over positions
    const posOfSlot = new Int32Array(this.store.length);
    for (let p = 0; p < n; p++) posOfSlot[order[p]] = p;
    const uf = new UnionFind(n);
    const bands = Array.from({ length: this.options.bands }, (_, b) => b);
    const edges = bandEdges(this.store, order, this.options, bands, (a, b) => uf.union(posOfSlot[a], posOfSlot[b]));
    const d = decideClusters(
      uf,
      {
        n,
        docIndex: (p) => di[order[p]],
        kind: (p) => this.kinds[order[p]],
        score: (p) => this.scores[order[p]],
        id: (p) => this.ids[order[p]],
      },
      this.options.prefer,
    );
    return { removed: d.removed, clusters: d.clusters, sizeHistogram: sizeHistogram(d.sizes), edges };
  }
}
