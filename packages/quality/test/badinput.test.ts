import { describe, expect, it } from 'vitest';
import { createFilter, FILTER_DEFAULTS, FILTER_NAMES, FilterChain } from '../src/index.js';

const params: Record<string, object> = {
  score: { column: 'score', min: 1 },
  grounded: { context: 'context' },
  blocklist: { words: ['casino'] },
  where: { column: 'score', gte: 3 },
};

describe('bad input: every filter gives a defined answer', () => {
  const texts: Record<string, string> = {
    empty: '',
    whitespace: ' \n\n\t \r\n',
    'no newline (1 MB)': 'The cat sat on the mat and looked at the door. '.repeat(22000),
    'enormous (10 MB, many lines)': 'The committee met on Tuesday to discuss the budget of the town.\n'.repeat(160000),
    'non-Latin': '日本語の文章です。これはテストです。\n東京は日本の首都です。'.repeat(50),
    'lone surrogates and controls': '\ud800abc\u0000\u0007 def \udfff'.repeat(100),
  };
  for (const name of FILTER_NAMES) {
    it(`${name}`, async () => {
      const f = createFilter(name, params[name]);
      const chain = new FilterChain([f]);
      await chain.prepare();
      for (const [label, text] of Object.entries(texts)) {
        const r = chain.run(text, 's', 'real', { score: [5], context: ['The cat and the committee.'] }, 0);
        expect(r === null || r.startsWith(`filter:${name}`), `${name} on ${label}`).toBe(true);
      }
    });
  }

  it('the enormous repeated document is caught by repetition and fineweb', async () => {
    const text = texts['enormous (10 MB, many lines)'];
    expect(text.length).toBeGreaterThan(10_000_000);
    const chain = new FilterChain([createFilter('gopher_repetition')]);
    expect(chain.run(text, 's', 'real')).toBe('filter:gopher_repetition:dup_line_frac');
    expect(new FilterChain([createFilter('fineweb')]).run(text, 's', 'real')).toBe('filter:fineweb:dup_line_char_frac');
    expect(new FilterChain([createFilter('gopher_quality')]).run(text, 's', 'real')).toBe(
      'filter:gopher_quality:word_count',
    );
  });

  it('FILTER_DEFAULTS lists every filter of the recipe schema', () => {
    expect(Object.keys(FILTER_DEFAULTS).sort()).toEqual(
      [
        'blocklist',
        'c4',
        'fineweb',
        'gopher_quality',
        'gopher_repetition',
        'grounded',
        'language',
        'length',
        'score',
        'where',
        'pii',
      ].sort(),
    );
    expect(FILTER_DEFAULTS.c4.mode).toBe('clean');
    expect(FILTER_DEFAULTS.fineweb).toEqual({
      min_punct_line_ratio: 0.12,
      max_short_line_ratio: 0.67,
      short_line_length: 30,
      max_dup_line_char_frac: 0.01,
      max_newline_word_ratio: 0.3,
    });
    expect(FILTER_DEFAULTS.grounded).toMatchObject({ max_unsupported: 0.2, min_response_words: 5 });
    expect(FILTER_DEFAULTS.score.missing).toBe('drop');
    expect(FILTER_DEFAULTS.language).toEqual({ keep: ['en'], min_confidence: 0.5 });
  });
});
