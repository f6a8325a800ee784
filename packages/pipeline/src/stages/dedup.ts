/**
 * The dedup stage: exact groups, then near-duplicate clusters (LSH, verification, union-find) over
 * the rows the quality and decontamination decisions keep, global across sources unless
 * `dedup.scope: per_source`. Reads no text: only the scan's exact keys and signatures.
 *
 * With a work dir, the verdicts are stored under `WORK/dedup/<key>` (v8-serialised, marker with
 * sha256 written last), keyed by everything they depend on: the dedup settings, the sources' order,
 * names and kinds, each input's sha256 and the keys of its exact/minhash/base attribute groups, and
 * the rows the decisions drop. A re-mix with other ratios, seed or budget reuses them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import type { Kind } from '@curate/core';
import {
  decideClusters,
  ExactDeduper,
  kindCode,
  NearDedupIndex,
  type NearDedupResult,
  scoreValue,
  sizeHistogram,
  UnionFind,
} from '@curate/dedup';
import type { Recipe } from '@curate/recipe';
import type { Manifest } from '../manifest.js';
import type { RowReasons } from '../reasons.js';
import type { FileScan } from '../scan.js';
import { configKey, mkdirChecked, WORK_FORMAT, type WorkDir, writeAtomic } from './workdir.js';

/** What the dedup stage reads of a source. */
export interface DedupSource {
  name: string;
  kind: Kind;
  scans: FileScan[];
  /** First source row of each file. */
  fileBase: number[];
  rowsRead: number;
  /** First global document index of this source. */
  docBase: number;
  /** source row -> drop reason; the stage adds its verdicts. */
  reasons: RowReasons;
}

/** The stage's verdicts: (source index in `sources`, source row, reason). */
interface Verdicts {
  source: number[];
  row: number[];
  reason: string[];
}

/**
 * How a staged run's process (stages/ranks.ts) gets its verdicts: the plan rank unions the dedup
 * ranks' candidate edges (`edges`, per dedup group: pairs of global document indexes) instead of
 * holding every signature; the later ranks read the stored verdicts (`requireStored` throws when
 * they are not there).
 */
export type RankedDedup =
  | { edges: (group: number) => Promise<Float64Array>; requireStored?: undefined }
  | { requireStored: () => never; edges?: undefined };

export async function dedupStage(
  recipe: Recipe,
  sources: DedupSource[],
  scans: FileScan[],
  idOf: (s: DedupSource, sourceRow: number) => string,
  work: WorkDir | null,
  ranked?: RankedDedup,
): Promise<{ record: Manifest['dedup']; reused: boolean }> {
  const dedup = recipe.dedup ?? {};
  const key = work && (dedup.exact || dedup.near) ? dedupKey(recipe, sources) : null;
  if (work && key) {
    const got = await loadVerdicts(work, key);
    if (got) {
      for (let i = 0; i < got.verdicts.row.length; i++) {
        sources[got.verdicts.source[i]].reasons.set(got.verdicts.row[i], got.verdicts.reason[i]);
      }
      for (const s of sources) for (const f of s.scans) f.exactKeys = null;
      return { record: withDecontam(recipe, got.record, sources, scans), reused: true };
    }
  }
  if (key && ranked?.requireStored) ranked.requireStored();
  const verdicts: Verdicts = { source: [], row: [], reason: [] };
  const setReason = (s: DedupSource, row: number, reason: string) => {
    s.reasons.set(row, reason);
    verdicts.source.push(sources.indexOf(s));
    verdicts.row.push(row);
    verdicts.reason.push(reason);
  };
  const dedupRecord: Manifest['dedup'] = {};
  const perSource = dedup.scope === 'per_source';
  const groups: DedupSource[][] = perSource ? sources.map((s) => [s]) : [sources];
  const scoreAt = (s: DedupSource, f: number, row: number) => s.scans[f].scores?.[row];
  // Who duplicated whom: removed rows by their kind and the kind of the row their group kept.
  const dupByKind: Record<string, { exact: number; near: number; candidates: number }> = {};
  const copies = { synthetic_of_real: 0, synthetic_of_synthetic: 0, real_of_real: 0, real_of_synthetic: 0 };
  const countByKind = (how: 'exact' | 'near', kind: Kind, keptKind: Kind) => {
    dupByKind[kind] ??= { exact: 0, near: 0, candidates: 0 };
    dupByKind[kind][how]++;
    copies[`${kind}_of_${keptKind}` as keyof typeof copies]++;
  };
  for (const s of sources) {
    dupByKind[s.kind] ??= { exact: 0, near: 0, candidates: 0 };
    dupByKind[s.kind].candidates += s.rowsRead - s.reasons.size;
  }
  if (dedup.exact) {
    let removedTotal = 0;
    let groupsTotal = 0;
    for (const group of groups) {
      const dd = new ExactDeduper({
        prefer: (dedup.near?.prefer as 'real' | 'none' | undefined) ?? 'real',
        // past its memory budget it spills beside the attributes, not to the OS temp folder
        ...(work ? { spillDir: await work.scratch() } : {}),
        // tests make it spill on small inputs
        ...(process.env.CURATE_TEST_EXACT_MEMORY_ROWS
          ? { memoryRows: Number(process.env.CURATE_TEST_EXACT_MEMORY_ROWS) }
          : {}),
      });
      for (const s of group) {
        s.scans.forEach((f, fi) => {
          const ks = f.exactKeys as BigUint64Array;
          for (let r = 0; r < f.rows; r++) {
            const sr = s.fileBase[fi] + r;
            if (s.reasons.has(sr)) continue; // dropped in pass 1: no key
            dd.add(s.docBase + sr, ks[r], { id: idOf(s, sr), kind: s.kind, score: scoreAt(s, fi, r) });
          }
          f.exactKeys = null; // used once
        });
      }
      const removed = dd.resolve();
      groupsTotal += dd.groupCount;
      for (const [doc, rem] of removed) {
        const s = sourceOfDoc(group, doc);
        setReason(s, doc - s.docBase, `dedup:exact:dup_of=${rem.keptId}`);
        countByKind('exact', s.kind, sourceOfDoc(group, rem.keptIndex).kind);
        removedTotal++;
      }
    }
    dedupRecord.exact = { removed: removedTotal, groups: groupsTotal };
  }
  if (dedup.near) {
    const near = dedup.near;
    let removedTotal = 0;
    let clustersTotal = 0;
    const sizes: Record<string, number> = {};
    let bands = 0;
    let rows = 0;
    let clusterBase = 0;
    for (const [gi, group] of groups.entries()) {
      if (ranked?.edges) {
        const o = new NearDedupIndex({
          numPerm: near.num_perm,
          threshold: near.threshold,
          bands: near.bands,
          rows: near.rows,
        }).options;
        bands = o.bands;
        rows = o.rows;
        const res = fromEdges(group, await ranked.edges(gi), idOf, scoreAt, (near.prefer as 'real' | 'none') ?? 'real');
        for (const [doc, rem] of res.removed) {
          const s = sourceOfDoc(group, doc);
          setReason(s, doc - s.docBase, `dedup:near:cluster=${clusterBase + rem.cluster}:kept=${rem.keptId}`);
          countByKind('near', s.kind, sourceOfDoc(group, rem.keptIndex).kind);
          removedTotal++;
        }
        clusterBase += res.clusters;
        clustersTotal += res.clusters;
        for (const [size, n] of Object.entries(res.sizeHistogram)) sizes[size] = (sizes[size] ?? 0) + n;
        continue;
      }
      const index = new NearDedupIndex({
        numPerm: near.num_perm,
        threshold: near.threshold,
        bands: near.bands,
        rows: near.rows,
        verify: near.verify,
        prefer: near.prefer as 'real' | 'none',
      });
      // signatures the scan stage left in the work dir (verified there) are decoded now
      for (const s of group) for (const f of s.scans) await f.loadSigs?.();
      bands = index.options.bands;
      rows = index.options.rows;
      const k = index.options.numPerm;
      for (const s of group) {
        s.scans.forEach((f, fi) => {
          for (let i = 0; i < f.sigRows.length; i++) {
            const r = f.sigRows[i];
            const sr = s.fileBase[fi] + r;
            if (s.reasons.has(sr)) continue; // removed by exact dedup
            index.add(s.docBase + sr, f.sigs.subarray(i * k, (i + 1) * k), {
              id: idOf(s, sr),
              kind: s.kind,
              score: scoreAt(s, fi, r),
            });
          }
        });
      }
      const res = index.resolve();
      for (const [doc, rem] of res.removed) {
        const s = sourceOfDoc(group, doc);
        setReason(s, doc - s.docBase, `dedup:near:cluster=${clusterBase + rem.cluster}:kept=${rem.keptId}`);
        countByKind('near', s.kind, sourceOfDoc(group, rem.keptIndex).kind);
        removedTotal++;
      }
      clusterBase += res.clusters;
      clustersTotal += res.clusters;
      for (const [size, n] of Object.entries(res.sizeHistogram)) sizes[size] = (sizes[size] ?? 0) + n;
    }
    dedupRecord.near = {
      removed: removedTotal,
      clusters: clustersTotal,
      cluster_sizes: sizes,
      bands,
      rows,
      threshold: near.threshold,
      num_perm: near.num_perm,
    };
  }
  if (dedup.exact || dedup.near) {
    dedupRecord.by_kind = Object.fromEntries(
      Object.entries(dupByKind).map(([k, v]) => [
        k,
        { ...v, duplicate_rate: v.candidates ? (v.exact + v.near) / v.candidates : 0 },
      ]),
    );
    dedupRecord.copies = copies;
  }
  if (work && key) await storeVerdicts(work, key, verdicts, dedupRecord);
  return { record: withDecontam(recipe, dedupRecord, sources, scans), reused: false };
}

/** The record with its decontamination part (counted from the sources' reasons). */
function withDecontam(
  recipe: Recipe,
  record: Manifest['dedup'],
  sources: DedupSource[],
  scans: FileScan[],
): Manifest['dedup'] {
  const dedupRecord: Manifest['dedup'] = { ...record };
  const dedup = recipe.dedup ?? {};
  if (dedup.decontaminate?.length) {
    const evalStats = scans.find((f) => f.evalSets.length)?.evalSets ?? [];
    dedupRecord.decontaminate = dedup.decontaminate.map((d) => ({
      name: d.name,
      rows: evalStats.find((e) => e.name === d.name)?.rows ?? 0,
      ngrams: evalStats.find((e) => e.name === d.name)?.ngrams ?? 0,
      removed: sources.reduce((a, s) => {
        let n = 0;
        for (const r of s.reasons.values()) if (r.startsWith(`decontam:${d.name}:`)) n++;
        return a + n;
      }, 0),
    }));
  }
  return dedupRecord;
}

/** The hash of everything the verdicts depend on (see the module comment). */
function dedupKey(recipe: Recipe, sources: DedupSource[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ format: WORK_FORMAT, exact: recipe.dedup.exact ?? null, near: recipe.dedup.near ?? null }));
  h.update(JSON.stringify({ scope: recipe.dedup.scope ?? null }));
  for (const s of sources) {
    h.update(JSON.stringify([s.name, s.kind, s.rowsRead]));
    // the rows the decisions drop (only they change which rows take part)
    const dropped = new Uint8Array(s.rowsRead);
    for (let r = 0; r < s.rowsRead; r++) if (s.reasons.has(r)) dropped[r] = 1;
    h.update(dropped);
    for (const f of s.scans) {
      h.update(f.sha256);
      if (f.exactKeys) h.update(new Uint8Array(f.exactKeys.buffer, f.exactKeys.byteOffset, f.exactKeys.byteLength));
      // the signatures: by the minhash group they come from (with the input's sha256 above, that
      // determines them; they need not be read), else by their bytes
      if (f.sigGroup !== undefined) h.update(`minhash:${f.sigGroup}`);
      else {
        h.update(new Uint8Array(f.sigRows.buffer, f.sigRows.byteOffset, f.sigRows.byteLength));
        h.update(new Uint8Array(f.sigs.buffer, f.sigs.byteOffset, f.sigs.byteLength));
      }
      if (f.ids) h.update(JSON.stringify(f.ids));
      if (f.scores) h.update(new Uint8Array(f.scores.buffer, f.scores.byteOffset, f.scores.byteLength));
    }
  }
  return configKey(h.digest('hex'));
}

interface VerdictMarker {
  format: 'curate-dedup';
  version: number;
  key: string;
  bytes: number;
  sha256: string;
}

async function loadVerdicts(
  work: WorkDir,
  key: string,
): Promise<{ verdicts: Verdicts; record: Manifest['dedup'] } | null> {
  try {
    const m = JSON.parse(await readFile(work.path('dedup', `${key}.json`), 'utf8')) as VerdictMarker;
    if (m.format !== 'curate-dedup' || m.version !== WORK_FORMAT || m.key !== key) return null;
    const buf = await readFile(work.path('dedup', `${key}.bin`));
    if (buf.length !== m.bytes || createHash('sha256').update(buf).digest('hex') !== m.sha256) return null;
    return deserialize(buf);
  } catch {
    return null;
  }
}

async function storeVerdicts(work: WorkDir, key: string, verdicts: Verdicts, record: Manifest['dedup']) {
  await mkdirChecked(work.path('dedup'));
  const buf = serialize({ verdicts, record });
  await writeAtomic(work.path('dedup', `${key}.bin`), buf);
  const marker: VerdictMarker = {
    format: 'curate-dedup',
    version: WORK_FORMAT,
    key,
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
  };
  await writeAtomic(work.path('dedup', `${key}.json`), `${JSON.stringify(marker)}\n`);
}

/**
 * Near-dedup clusters of a group from candidate edges (global document index pairs) computed by the
 * dedup ranks: the rows of the group the earlier decisions keep, in document order, united by the
 * edges and decided as `NearDedupIndex.resolve` decides them (the same union-find and keep rule).
 */
function fromEdges(
  group: DedupSource[],
  edges: Float64Array,
  idOf: (s: DedupSource, sourceRow: number) => string,
  scoreAt: (s: DedupSource, f: number, row: number) => number | undefined,
  prefer: 'real' | 'none',
): NearDedupResult {
  // the group's rows the earlier decisions keep, in document order: 8 bytes each
  let docs = new Float64Array(1024);
  let n = 0;
  for (const s of group) {
    for (let sr = 0; sr < s.rowsRead; sr++) {
      // rows without a signature are left in as single rows: they join no cluster and move no number
      if (s.reasons.has(sr)) continue;
      if (n === docs.length) {
        const d = new Float64Array(n * 2);
        d.set(docs);
        docs = d;
      }
      docs[n++] = s.docBase + sr;
    }
  }
  docs = docs.subarray(0, n);
  const at = (p: number): [DedupSource, number, number] => {
    const s = sourceOfDoc(group, docs[p]);
    const sr = docs[p] - s.docBase;
    const fi = fileOfRow(s.fileBase, sr);
    return [s, fi, sr - s.fileBase[fi]];
  };
  // documents in ascending order (sources by docBase, files and rows in order): positions by bisection
  const pos = (doc: number): number | undefined => {
    let lo = 0;
    let hi = docs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (docs[mid] === doc) return mid;
      if (docs[mid] < doc) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
  const uf = new UnionFind(docs.length);
  for (let i = 0; i + 1 < edges.length; i += 2) {
    const a = pos(edges[i]);
    const b = pos(edges[i + 1]);
    if (a === undefined || b === undefined) {
      throw new Error(`internal: a dedup rank's edge ${edges[i]}-${edges[i + 1]} names a row the decisions drop`);
    }
    uf.union(a, b);
  }
  const d = decideClusters(
    uf,
    {
      n: docs.length,
      docIndex: (p) => docs[p],
      kind: (p) => kindCode(sourceOfDoc(group, docs[p]).kind),
      score: (p) => {
        const [s, fi, r] = at(p);
        return scoreValue(scoreAt(s, fi, r));
      },
      id: (p) => {
        const [s, fi, r] = at(p);
        return idOf(s, s.fileBase[fi] + r);
      },
    },
    prefer,
  );
  return { removed: d.removed, clusters: d.clusters, sizeHistogram: sizeHistogram(d.sizes), edges: edges.length / 2 };
}

function fileOfRow(fileBase: number[], sourceRow: number): number {
  let lo = 0;
  let hi = fileBase.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fileBase[mid] <= sourceRow) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function sourceOfDoc(group: DedupSource[], doc: number): DedupSource {
  for (let i = group.length - 1; i >= 0; i--) if (group[i].docBase <= doc) return group[i];
  return group[0];
}
