import { type CurateErrorOptions, RecipeError } from '@curate/core';

/**
 * A mix that cannot be planned as asked (infeasible budget, empty source,
 * synthetic fraction above the guard). A recipe problem: the CLI exits 2.
 *
 * Codes: `E_MIX_INFEASIBLE`, `E_MIX_EMPTY_SOURCE`, `E_MIX_SYNTHETIC_FRACTION`,
 * `E_MIX_RATIO`, `E_MIX_SOURCES`.
 */
export class PlanError extends RecipeError {
  constructor(message: string, options: CurateErrorOptions = {}) {
    super(message, { code: 'E_MIX', ...options });
  }
}
