import { collect, makeBatch, RecipeError, Stats, silentLogger } from '@curate/core';
import { describe, expect, it } from 'vitest';
import {
  createFilter,
  defineFilter,
  evaluateFilters,
  formatPassRates,
  parseFilterList,
  qualityStep,
} from '../src/index.js';

function line(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as RecipeError).toLine();
  }
  return 'no error';
}
const ctx = () => ({ rank: 0, worldSize: 1, stats: new Stats(), log: silentLogger });

describe('createFilter', () => {
  it('rejects unknown names and parameters with the recipe path', () => {
    expect(() => createFilter('gopher_qualty', {}, 'quality[0]')).toThrowError(RecipeError);
    try {
      createFilter('gopher_quality', { min_word: 3 }, 'quality[2].gopher_quality');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RecipeError);
      expect((e as RecipeError).toLine()).toMatch(/^quality\[2\]\.gopher_quality\.min_word: unknown parameter/);
    }
    expect(line(() => createFilter('gopher_quality', { min_words: 'ten' }))).toMatch(
      /^gopher_quality\.min_words: must be a number/,
    );
    expect(line(() => createFilter('gopher_quality', { max_bullet_lines_ratio: 2 }))).toMatch(/must be <= 1/);
    expect(line(() => createFilter('gopher_quality', { applies_to: 'robots' }, 'quality[1]'))).toMatch(
      /^quality\[1\]\.applies_to/,
    );
    expect(line(() => parseFilterList('gopher_quality, nope'))).toMatch(/^--filters\[1\]: unknown filter "nope"/);
    expect(parseFilterList('gopher_quality,gopher_repetition').map((f) => f.name)).toEqual([
      'gopher_quality',
      'gopher_repetition',
    ]);
  });

  it('names the unknown parameter or filter and suggests the closest one', () => {
    expect(line(() => createFilter('gopher_quality', { min_word: 3 }, 'quality[2].gopher_quality'))).toMatch(
      /^quality\[2\]\.gopher_quality\.min_word: unknown parameter "min_word" \(did you mean "min_words"\?\) \(expected one of: min_words, /,
    );
    expect(line(() => createFilter('length', { unti: 'words' }))).toMatch(
      /unknown parameter "unti" \(did you mean "unit"\?\)/,
    );
    expect(line(() => createFilter('length', { zzzzzzzz: 1 }))).not.toMatch(/did you mean/);
    expect(line(() => createFilter('gopher_qualty'))).toMatch(
      /unknown filter "gopher_qualty" \(did you mean "gopher_quality"\?\)/,
    );
    expect(parseFilterList('gopher_quality,gopher_repetition').map((f) => f.name)).toEqual([
      'gopher_quality',
      'gopher_repetition',
    ]);
  });
});

describe('qualityStep', () => {
  const short = defineFilter('shortish', (doc) => (doc.text.length < 5 ? { drop: 'too_short' } : true));
  const batch = makeBatch({
    text: ['hi', 'hello world', 'yo', 'a long enough text'],
    source: ['a', 'a', 'b', 'b'],
    kind: ['real', 'real', 'synthetic', 'synthetic'],
    extra: [1, 2, 3, 4],
  });

  it('keeps rows, counts drops per source and reason, reports rejected rows', async () => {
    const c = ctx();
    const rejected: [unknown, string][] = [];
    const out = await collect(
      qualityStep([short], {
        onReject: (b, reasons) => {
          for (const [i, reason] of reasons.entries()) rejected.push([b.columns.extra[i], reason]);
        },
      })(
        (async function* () {
          yield batch;
        })(),
        c,
      ),
    );
    expect(out.map((b) => b.columns.extra)).toEqual([[2, 4]]);
    expect(rejected).toEqual([
      [1, 'filter:shortish:too_short'],
      [3, 'filter:shortish:too_short'],
    ]);
    expect(c.stats.toJSON().a.dropped).toEqual({ 'filter:shortish:too_short': 1 });
    expect(c.stats.toJSON().b.dropped).toEqual({ 'filter:shortish:too_short': 1 });
  });

  it('applies_to: rows of other kinds or sources pass untouched', async () => {
    const onlySynth = { ...short, appliesTo: 'synthetic' as const };
    const onlyA = { ...short, appliesTo: ['a'] };
    const run = async (f: typeof short) =>
      (
        await collect(
          qualityStep([f])(
            (async function* () {
              yield batch;
            })(),
            ctx(),
          ),
        )
      ).flatMap((b) => b.columns.extra);
    expect(await run(onlySynth)).toEqual([1, 2, 4]);
    expect(await run(onlyA)).toEqual([2, 3, 4]);
  });

  it('a text column or template column the batch lacks is E_MISSING_COLUMN naming column and file, never empty text', async () => {
    const keepAll = defineFilter('keep_all', () => true);
    const b = makeBatch({ response: ['a b c'] }, { file: 'dolly.parquet', offset: 0 });
    for (const text of ['respnse', '{instruction}\n\n{response}']) {
      const err = await collect(
        qualityStep([keepAll], { text })(
          (async function* () {
            yield b;
          })(),
          ctx(),
        ),
      ).catch((e) => e);
      expect(err.code).toBe('E_MISSING_COLUMN');
      expect(err.toLine()).toMatch(
        /^dolly\.parquet: missing column "(respnse|instruction)" needed by text template .*; columns: response$/,
      );
    }
    // evaluateFilters (curate stats) reads text the same way
    const err = await evaluateFilters([b], [keepAll], { text: 'respnse' }).catch((e) => e);
    expect(err.code).toBe('E_MISSING_COLUMN');
    // a template over present columns works; cleaned text of a template goes to `text`
    const out = await collect(
      qualityStep([defineFilter('up', (d) => ({ text: d.text.toUpperCase() }))], { text: '{response}!' })(
        (async function* () {
          yield b;
        })(),
        ctx(),
      ),
    );
    expect(out[0].columns).toEqual({ response: ['a b c'], text: ['A B C!'] });
  });

  it('a filter reading a missing column fails with a one-line input error', async () => {
    const needs = defineFilter('needs', (doc) => (doc.get('judge') ? true : { drop: 'x' }));
    const b = makeBatch({ text: ['a'] }, { file: 'in.jsonl', offset: 10 });
    await expect(
      collect(
        qualityStep([needs])(
          (async function* () {
            yield b;
          })(),
          ctx(),
        ),
      ),
    ).rejects.toThrow(/column "judge" not found/);
  });

  it('evaluateFilters: each filter alone and the chain, formatted as a table', async () => {
    const never = defineFilter('never', () => ({ drop: 'always' }), ['b']);
    const rates = await evaluateFilters([batch], [short, never]);
    expect(rates.filters[0]).toMatchObject({ name: 'shortish', rows: 4, passed: 2 });
    expect(rates.filters[1]).toMatchObject({ name: 'never', rows: 2, passed: 0 });
    expect(rates.chain).toMatchObject({ rows: 4, passed: 1 });
    const table = formatPassRates(rates);
    expect(table.split('\n')).toHaveLength(5);
    expect(table).toMatch(/shortish\s+4\s+2\s+50\.0%\s+too_short 2/);
    expect(table).toMatch(/chain\s+4\s+1\s+25\.0%/);
  });
});
