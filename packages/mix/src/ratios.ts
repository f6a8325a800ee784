import type { Kind } from '@curate/core';
import type { KindRatio, MixPlan, MixUnit } from './plan.js';
import type { SampleSelection } from './sample.js';

/** Target vs achieved for one source (for the run manifest). */
export interface SourceAchieved {
  name: string;
  kind: Kind;
  /** Planned units (the quota) and what the sample gave, in the plan's unit. */
  quota: number;
  achieved: number;
  /** achieved - quota, in the plan's unit. */
  deviation: number;
  /** Share of the planned budget and of the achieved total, in the plan's unit. */
  targetShare: number;
  achievedShare: number;
  documents: number;
  tokens: number;
  /** achieved / available. */
  epochs: number;
}

export interface MixAchieved {
  unit: MixUnit;
  targetRatio: KindRatio;
  plannedRatio: KindRatio;
  /** Achieved kind ratios, in tokens and in documents. */
  achievedRatio: { tokens: KindRatio; documents: KindRatio };
  totals: { documents: number; tokens: number };
  sources: SourceAchieved[];
}

/**
 * Target, planned and achieved ratios per kind and per source, in tokens and documents.
 * `selections` must be in the plan's source order (as `sampleMix` returns them).
 */
export function achievedRatios(plan: MixPlan, selections: SampleSelection[]): MixAchieved {
  if (selections.length !== plan.quotas.length) {
    throw new RangeError(`achievedRatios: ${selections.length} selections for ${plan.quotas.length} sources`);
  }
  let documents = 0;
  let tokens = 0;
  const docKind: KindRatio = { real: 0, synthetic: 0 };
  const tokKind: KindRatio = { real: 0, synthetic: 0 };
  plan.quotas.forEach((q, i) => {
    const s = selections[i];
    if (s.source !== q.name)
      throw new RangeError(`achievedRatios: selection ${i} is "${s.source}", expected "${q.name}"`);
    documents += s.documents;
    tokens += s.tokens;
    docKind[q.kind] += s.documents;
    tokKind[q.kind] += s.tokens;
  });
  const achievedTotal = plan.unit === 'tokens' ? tokens : documents;
  const sources = plan.quotas.map((q, i): SourceAchieved => {
    const s = selections[i];
    const achieved = plan.unit === 'tokens' ? s.tokens : s.documents;
    return {
      name: q.name,
      kind: q.kind,
      quota: q.quota,
      achieved,
      deviation: achieved - q.quota,
      targetShare: plan.budget > 0 ? q.quota / plan.budget : 0,
      achievedShare: achievedTotal > 0 ? achieved / achievedTotal : 0,
      documents: s.documents,
      tokens: s.tokens,
      epochs: q.available > 0 ? achieved / q.available : 0,
    };
  });
  const norm = (r: KindRatio, total: number): KindRatio =>
    total > 0 ? { real: r.real / total, synthetic: r.synthetic / total } : { real: 0, synthetic: 0 };
  return {
    unit: plan.unit,
    targetRatio: plan.targetRatio,
    plannedRatio: plan.plannedRatio,
    achievedRatio: { tokens: norm(tokKind, tokens), documents: norm(docKind, documents) },
    totals: { documents, tokens },
    sources,
  };
}
