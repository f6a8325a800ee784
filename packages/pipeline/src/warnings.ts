/**
 * Warnings the run adds to the planner's: a source the mix plans no rows for is named, with why,
 * so a recipe setting that silently removes a source (max_epochs 0.01 on a small source, share 0,
 * a ratio of 0 for its kind, every row dropped) never passes for a full mix.
 */
import type { MixPlan } from '@curate/mix';
import type { WarningRecord } from './manifest.js';

/** One `source_unused` warning per source that contributes no rows to the output. */
export function unusedSourceWarnings(
  plan: MixPlan,
  selected: readonly number[],
  rowsRead: readonly number[],
): WarningRecord[] {
  const out: WarningRecord[] = [];
  plan.quotas.forEach((q, i) => {
    if (selected[i] > 0) return;
    let why: string;
    if (q.rows === 0) {
      why =
        rowsRead[i] === 0
          ? 'its inputs have no rows'
          : `all ${rowsRead[i]} rows read were dropped (quality, decontamination or dedup)`;
    } else if (q.available === 0) {
      why = `its ${q.rows} available rows have 0 ${plan.unit}`;
    } else if (q.cap === 0) {
      why = `max_epochs ${q.maxEpochs} of its ${q.available} available ${plan.unit} rounds down to 0 ${plan.unit}`;
    } else if (q.share === 0) {
      why = `its share of the ${q.kind} budget is 0 (share or target.ratio.${q.kind})`;
    } else if (q.quota === 0) {
      why = `its quota of the ${plan.budget} ${plan.unit} budget rounds down to 0`;
    } else {
      why = `its quota of ${q.quota} ${plan.unit}${q.limiting ? ` (capped by max_epochs ${q.maxEpochs})` : ''} selects no whole row`;
    }
    out.push({
      code: 'source_unused',
      message: `source "${q.name}" (${q.kind}) contributes no rows to the output: ${why}`,
      sources: [q.name],
    });
  });
  return out;
}
