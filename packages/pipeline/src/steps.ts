import type { FilterName, QualityStep, Recipe } from '@curate/recipe';

/**
 * The recipe's quality steps in order (as `qualitySteps` of @curate/recipe), here so that the
 * scan workers, which only need this from the recipe package, do not load it (and its schema
 * compiler) at start-up: about 0.1 s per worker.
 */
export function qualitySteps(recipe: Pick<Recipe, 'quality'>): QualityStep[] {
  return recipe.quality.map((item, i) => {
    const filter = Object.keys(item)[0] as FilterName;
    return {
      filter,
      params: (item as Record<string, unknown>)[filter],
      path: `quality[${i}].${filter}`,
    } as QualityStep;
  });
}
