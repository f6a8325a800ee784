import { expect, it } from 'vitest';
import * as api from '../src/index.js';

it('public exports (review any change)', () => {
  expect(Object.keys(api).sort()).toEqual([
    'C4_LANGUAGES',
    'FILTER_DEFAULTS',
    'FILTER_NAMES',
    'FINEWEB_LANGUAGES',
    'FilterChain',
    'GOPHER_QUALITY_LANGUAGES',
    'PiiRedactor',
    'QualitySignalMeter',
    'SIGNAL_EDGES',
    'SIGNAL_INFO',
    'TextAnalysis',
    'applies',
    'createFilter',
    'defineFilter',
    'detectLanguage',
    'evaluateFiles',
    'evaluateFilters',
    'filterFiles',
    'formatPassRates',
    'groundedness',
    'loadCustomFilter',
    'loadFilter',
    'parseFilterList',
    'qualitySignals',
    'qualityStep',
  ]);
});
