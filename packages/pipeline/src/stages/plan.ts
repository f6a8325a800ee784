/**
 * The plan stage: quotas per source from the available tokens or documents (`planMix`, pure),
 * the seeded sample of each source's available rows, the achieved ratios, the plan's warnings, and
 * the seeded global order of the selected rows (`order`, computed on demand: a dry run needs none).
 * Inputs are per-source totals and the available rows' token counts: no text.
 */
import { Rng } from '@curate/core';
import { FACTS } from '@curate/metrics';
import {
  achievedRatios,
  type MixAchieved,
  type MixPlan,
  type MixTarget,
  planMix,
  type SampleSelection,
  sampleMix,
  shuffleOrder,
} from '@curate/mix';
import type { Recipe } from '@curate/recipe';
import type { WarningRecord } from '../manifest.js';
import { unusedSourceWarnings } from '../warnings.js';

/** What the plan stage reads of a source. */
export interface PlanSource {
  name: string;
  kind: 'real' | 'synthetic';
  rowsRead: number;
  /** Rows dropped by quality, decontamination and dedup. */
  dropped: number;
  /** Tokens of each available row (in source-row order). */
  availTokens: Uint32Array;
}

export interface PlanResult {
  unit: 'documents' | 'tokens';
  plan: MixPlan;
  selections: SampleSelection[];
  achieved: MixAchieved;
  warnings: WarningRecord[];
  /** The seeded global order of the selected rows (the same rng stream after the sample). */
  order: () => ReturnType<typeof shuffleOrder>;
}

export function planStage(recipe: Recipe, sources: PlanSource[], options: { allowShortfall?: boolean }): PlanResult {
  const unit = recipe.target?.documents !== undefined ? 'documents' : 'tokens';
  const target: MixTarget = {
    unit,
    budget: recipe.target?.documents ?? recipe.target?.tokens,
    ratio: recipe.target?.ratio,
  };
  const plan = planMix(
    sources.map((s, si) => {
      const rs = recipe.sources[si];
      return {
        name: s.name,
        kind: s.kind,
        rows: s.availTokens.length,
        tokens: sum(s.availTokens),
        share: rs.share,
        maxEpochs: rs.max_epochs,
        rowsRead: s.rowsRead,
        dropped: s.dropped,
      };
    }),
    target,
    {
      allowShortfall: options.allowShortfall,
      maxEpochsWarning: recipe.guards?.max_epochs_warning,
      maxSyntheticFraction: recipe.guards?.max_synthetic_fraction,
    },
  );
  const rng = new Rng(recipe.seed);
  const selections = sampleMix(plan, (name) => sources.find((s) => s.name === name)?.availTokens, rng);
  const achieved = achievedRatios(plan, selections);
  const planFacts: Record<string, string> = {
    replacement: FACTS.replaceVsAccumulate,
    epochs: FACTS.epochs,
    synthetic_fraction_high: FACTS.syntheticShare,
  };
  const warnings: WarningRecord[] = plan.warnings.map((w) => ({
    code: w.code,
    message: w.message,
    sources: w.sources,
    fact: planFacts[w.code],
  }));
  warnings.push(
    ...unusedSourceWarnings(
      plan,
      selections.map((x) => x.documents),
      sources.map((x) => x.rowsRead),
    ),
  );
  return { unit, plan, selections, achieved, warnings, order: () => shuffleOrder(selections, rng) };
}

function sum(a: Uint32Array): number {
  let t = 0;
  for (let i = 0; i < a.length; i++) t += a[i];
  return t;
}
