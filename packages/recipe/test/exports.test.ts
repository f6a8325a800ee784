import { expect, it } from 'vitest';
import * as api from '../src/index.js';

it('the public API is reviewed: adding an export changes this list', () => {
  expect(Object.keys(api).sort()).toEqual([
    'DEFAULT_SHARD_SIZE',
    'FILTER_DEFAULTS',
    'FILTER_NAMES',
    'RESERVED_COLUMNS',
    'RULES',
    'RecipeValidationError',
    'appliesToSources',
    'canonicalJson',
    'checkTokenizer',
    'eodId',
    'formatIssue',
    'loadRecipe',
    'parseSize',
    'passColumns',
    'passColumnsOf',
    'qualitySteps',
    'recipeHash',
    'recipeSchema',
    'tokenSize',
    'validateRecipe',
  ]);
});
