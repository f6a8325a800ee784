/**
 * The manifest's `metrics.roles`: diversity and length metrics of the written conversations per
 * role (each turn a document of its role), per source and per kind, and each synthetic source's
 * roles against the same roles of the real pool (assistant with assistant: the comparison that
 * shows collapse risk, which the rendered conversation blurs with human prompts and repeated system
 * prompts). Absent when no conversation source wrote a row, so other manifests are unchanged.
 */
import { type Comparison, compareRoles, type MetricsResult, RoleMetrics } from '@curate/metrics';

export interface RoleMetricsRecord {
  /** Per conversation source, per role (MetricsResult without the unigram sketch). */
  sources: Record<string, Record<string, unknown>>;
  /** Per kind (its conversation sources merged), per role. */
  kinds: Record<string, Record<string, unknown>>;
  /** Per synthetic conversation source, each role against the same role of the real kind. */
  comparisons: Record<string, Record<string, Comparison>>;
}

export function roleMetricsRecord(
  sources: readonly { name: string; kind: string }[],
  byRole: ReadonlyMap<string, RoleMetrics>,
  seed: number,
): RoleMetricsRecord | undefined {
  if (byRole.size === 0) return undefined;
  const slim = (g: Record<string, MetricsResult>) =>
    Object.fromEntries(Object.entries(g).map(([k, { unigram: _u, ...rest }]) => [k, rest]));
  const results: Record<string, Record<string, MetricsResult>> = {};
  const byKind = new Map<string, string[]>();
  for (const s of sources) {
    const m = byRole.get(s.name);
    if (!m) continue;
    results[s.name] = m.result();
    byKind.set(s.kind, [...(byKind.get(s.kind) ?? []), s.name]);
  }
  // a kind is its sources merged (exact); with one source, that source's figures (a merge would copy them)
  const kindResults: Record<string, Record<string, MetricsResult>> = {};
  for (const k of [...byKind.keys()].sort()) {
    const names = byKind.get(k) as string[];
    if (names.length === 1) {
      kindResults[k] = results[names[0]];
      continue;
    }
    const merged = new RoleMetrics({ seed });
    for (const n of names) merged.merge(byRole.get(n) as RoleMetrics);
    kindResults[k] = merged.result();
  }
  const synthetic: Record<string, Record<string, MetricsResult>> = {};
  for (const s of sources) if (s.kind === 'synthetic' && results[s.name]) synthetic[s.name] = results[s.name];
  const sorted = Object.keys(results).sort();
  return {
    sources: Object.fromEntries(sorted.map((n) => [n, slim(results[n])])),
    kinds: Object.fromEntries(Object.entries(kindResults).map(([k, r]) => [k, slim(r)])),
    comparisons: kindResults.real ? compareRoles(synthetic, kindResults.real) : {},
  };
}
