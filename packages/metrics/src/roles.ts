/**
 * Metrics per role of conversations: one CorpusMetrics per role (system, user, assistant, tool),
 * each turn one document of its role. The rendered conversation mixes a prompt written by people
 * with an answer written by a model (and often a system prompt repeated on every row), so its
 * diversity says little about either side; the assistant turns of a synthetic source against the
 * assistant turns of the real pool is the comparison that shows collapse risk. Every figure of
 * CorpusMetrics applies per role: documents = turns, length = words per turn. Merges are exact, as
 * CorpusMetrics' are.
 */
import { type Comparison, compareToReal } from './compare.js';
import { CorpusMetrics, type CorpusMetricsState, type MetricsOptions, type MetricsResult } from './corpus-metrics.js';

/** A turn: its role (system, user, assistant, tool, or any other name) and its text. */
export interface RoleTurn {
  role: string;
  content: string;
}

/** Plain-data form of a RoleMetrics (for `postMessage` to or from a worker thread). */
export interface RoleMetricsState {
  options: MetricsOptions;
  roles: Record<string, CorpusMetricsState>;
}

/** The order roles are listed in (others after these, sorted). */
const ROLE_ORDER = ['system', 'user', 'assistant', 'tool'];

function byRoleOrder(a: string, b: string): number {
  const ia = ROLE_ORDER.indexOf(a);
  const ib = ROLE_ORDER.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Words in each role's diversity sample unless given: 20,000 (a source's own metrics take 50,000).
 * Roles are compared only with roles measured the same way, at equal sample size; the smaller sample
 * keeps a run's `result()`s (one per role, source and kind: each builds the sample curve) from
 * costing as much as the rest of a chat mix's metrics. Counts, words and lengths stay exact.
 */
export const ROLE_SAMPLE_TOKENS = 20_000;

export class RoleMetrics {
  private readonly byRole = new Map<string, CorpusMetrics>();
  readonly options: MetricsOptions;

  constructor(options: MetricsOptions = {}) {
    this.options = { sampleTokens: ROLE_SAMPLE_TOKENS, ...options };
  }

  private of(role: string): CorpusMetrics {
    let m = this.byRole.get(role);
    if (!m) {
      m = new CorpusMetrics(this.options);
      this.byRole.set(role, m);
    }
    return m;
  }

  /** One conversation: each turn is added as a document of its role. */
  add(turns: readonly RoleTurn[]): void {
    for (const t of turns) this.of(t.role).add(t.content);
  }

  /** Fold in another accumulator with the same options (exact, as CorpusMetrics.merge). */
  merge(other: RoleMetrics): void {
    for (const [role, m] of other.byRole) this.of(role).merge(m);
  }

  toState(): RoleMetricsState {
    const roles: Record<string, CorpusMetricsState> = {};
    for (const [role, m] of this.byRole) roles[role] = m.toState();
    return { options: { ...this.options }, roles };
  }

  static fromState(state: RoleMetricsState): RoleMetrics {
    const r = new RoleMetrics(state.options);
    for (const [role, s] of Object.entries(state.roles)) r.byRole.set(role, CorpusMetrics.fromState(s));
    return r;
  }

  /** Roles seen so far, system, user, assistant and tool first. */
  roles(): string[] {
    return [...this.byRole.keys()].sort(byRoleOrder);
  }

  /** The figures per role (roles without a turn are absent). */
  result(): Record<string, MetricsResult> {
    const out: Record<string, MetricsResult> = {};
    for (const role of this.roles()) out[role] = (this.byRole.get(role) as CorpusMetrics).result();
    return out;
  }
}

/**
 * Each group's roles compared with the same role of the real pool (assistant with assistant, user
 * with user), at equal sample size as `compareToReal`; a role the real pool lacks is not compared.
 */
export function compareRoles(
  groups: Record<string, Record<string, MetricsResult>>,
  real: Record<string, MetricsResult>,
): Record<string, Record<string, Comparison>> {
  const out: Record<string, Record<string, Comparison>> = {};
  for (const [name, roles] of Object.entries(groups)) {
    const byRole: Record<string, Comparison> = {};
    for (const role of Object.keys(roles).sort(byRoleOrder)) {
      if (!real[role]) continue;
      byRole[role] = compareToReal({ [role]: roles[role] }, real[role])[role];
    }
    if (Object.keys(byRole).length) out[name] = byRole;
  }
  return out;
}
