/**
 * The output's diversity metrics per source and per kind, from the write stage's accumulators: the
 * finalize stage's numbers. Computed on the main thread, or, when pass 2 ran on threads, on one of
 * them while the main thread writes the shards (`SamplePool.call`): the curves' n-gram counts and
 * deflate took ~0.15 s of a re-mix's main thread after the write. Same code, same inputs, same
 * numbers either way.
 */
import { CorpusMetrics, type CorpusMetricsState, type MetricsResult, UnigramSketch } from '@curate/metrics';

export interface DiversityResults {
  sources: Record<string, MetricsResult>;
  kinds: Record<string, MetricsResult>;
}

/** What a thread needs to compute them: each source's accumulator states (write-unit order) and the recipe's sources. */
export interface DiversityTask {
  kind: 'diversity';
  states: [string, CorpusMetricsState[]][];
  sources: { name: string; kind: string }[];
  seed: number;
}

/**
 * The buffers of the states' typed arrays that can be moved to another thread instead of copied
 * (~40 ms of the re-mix's main thread for ~6 MB): each once, none that also backs something in
 * `keep` (a unit's role metrics are deserialized from the same bytes as its corpus metrics and are
 * used here afterwards), and only those of 64 KiB or more (a smaller one may be a slab of Node's
 * buffer pool that other buffers share). The states are not usable here afterwards.
 */
export function stateBuffers(states: Iterable<[string, CorpusMetricsState[]]>, keep: unknown[] = []): ArrayBuffer[] {
  const kept = buffersIn(keep);
  return [...buffersIn([...states])].filter((b) => b.byteLength >= 1 << 16 && !kept.has(b));
}

/** Every ArrayBuffer behind the typed arrays in `value` (arrays and plain objects walked). */
function buffersIn(value: unknown, out = new Set<ArrayBuffer>()): Set<ArrayBuffer> {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) buffersIn(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) buffersIn(v, out);
  }
  return out;
}

/** Per source (by name), its accumulators merged; a single state is taken as it is. */
export function mergeSourceStates(
  states: Iterable<[string, CorpusMetricsState[]]>,
  seed: number,
): Map<string, CorpusMetrics> {
  const bySource = new Map<string, CorpusMetrics>();
  for (const [name, list] of [...states].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    // one state: taken as it is (a merge into an empty accumulator would copy it)
    const m = list.length === 1 ? CorpusMetrics.fromState(list[0]) : new CorpusMetrics({ seed });
    if (list.length > 1) for (const st of list) m.merge(CorpusMetrics.fromState(st));
    bySource.set(name, m);
  }
  return bySource;
}

/**
 * Results per measured source, and per kind: its sources merged (CorpusMetrics merges exactly, so
 * each row is scanned once), in recipe order; a kind with one measured source has that source's result.
 */
export function diversityResults(
  bySource: Map<string, CorpusMetrics>,
  sources: readonly { name: string; kind: string }[],
  seed: number,
): DiversityResults {
  const out: DiversityResults = { sources: {}, kinds: {} };
  for (const [k, m] of [...bySource].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out.sources[k] = m.result();
  const kindSources = new Map<string, string[]>();
  for (const src of sources) {
    if (!bySource.has(src.name)) continue;
    const list = kindSources.get(src.kind) ?? [];
    list.push(src.name);
    kindSources.set(src.kind, list);
  }
  for (const k of [...kindSources.keys()].sort()) {
    const names = kindSources.get(k) as string[];
    if (names.length === 1) {
      out.kinds[k] = copyResult(out.sources[names[0]]);
      continue;
    }
    const merged = new CorpusMetrics({ seed });
    for (const name of names) merged.merge(bySource.get(name) as CorpusMetrics);
    out.kinds[k] = merged.result();
  }
  return out;
}

/** The results after a structured clone (another thread): each unigram sketch a `UnigramSketch` again. */
export function reviveResults(r: DiversityResults): DiversityResults {
  const revive = (x: MetricsResult): MetricsResult => {
    const u = x.unigram as unknown as { counts: Float64Array; total: number };
    const s = new UnigramSketch(u.counts.length);
    s.counts.set(u.counts);
    s.total = u.total;
    return { ...x, unigram: s };
  };
  const map = (g: Record<string, MetricsResult>) =>
    Object.fromEntries(Object.entries(g).map(([k, x]) => [k, revive(x)]));
  return { sources: map(r.sources), kinds: map(r.kinds) };
}

/** A deep copy of a metrics result (the same values; nothing shared). */
function copyResult(r: MetricsResult): MetricsResult {
  return {
    ...r,
    length: structuredClone(r.length),
    distinct: { ...r.distinct },
    curve: structuredClone(r.curve),
    unigram: r.unigram.clone(),
    options: { ...r.options },
  };
}
