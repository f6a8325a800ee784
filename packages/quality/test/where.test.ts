import { describe, expect, it } from 'vitest';
import { createFilter, FilterChain } from '../src/index.js';

function run(params: object, values: unknown[]): (string | null)[] {
  const chain = new FilterChain([createFilter('where', params, 'quality[0].where')]);
  return values.map((_, r) => chain.run('text', 's', 'real', { c: values }, r));
}

describe('where', () => {
  it('eq, ne, in, not_in on strings; numbers match numeric cells (bigint, numeric strings)', () => {
    expect(run({ column: 'c', eq: 'ok' }, ['ok', 'bad', 'OK', 1])).toEqual([
      null,
      'filter:where:c',
      'filter:where:c',
      'filter:where:c',
    ]);
    expect(run({ column: 'c', ne: 'spam' }, ['ok', 'spam'])).toEqual([null, 'filter:where:c']);
    expect(run({ column: 'c', in: ['en', 'de'] }, ['en', 'de', 'fr'])).toEqual([null, null, 'filter:where:c']);
    expect(run({ column: 'c', not_in: ['fr'] }, ['en', 'fr'])).toEqual([null, 'filter:where:c']);
    expect(run({ column: 'c', eq: 3 }, [3, 3n, '3', 4, '3x', true])).toEqual([
      null,
      null,
      null,
      'filter:where:c',
      'filter:where:c',
      'filter:where:c',
    ]);
    expect(run({ column: 'c', eq: true }, [true, 'true', 1])).toEqual([null, 'filter:where:c', 'filter:where:c']);
  });

  it('gt, gte, lt, lte together; non-numbers fail; null is `missing` (drop by default)', () => {
    expect(run({ column: 'c', gte: 3, lt: 5 }, [2.9, 3, 4.99, 5, '4', 'x', false])).toEqual([
      'filter:where:c',
      null,
      null,
      'filter:where:c',
      null,
      'filter:where:c',
      'filter:where:c',
    ]);
    expect(run({ column: 'c', gt: 0 }, [null, undefined])).toEqual([
      'filter:where:c:missing',
      'filter:where:c:missing',
    ]);
    expect(run({ column: 'c', gt: 0, missing: 'keep' }, [null, 0])).toEqual([null, 'filter:where:c']);
  });

  it('errors name the recipe path: no condition, bad values, unknown parameter with a suggestion', () => {
    const line = (params: object) => {
      try {
        createFilter('where', params, 'quality[3].where');
      } catch (e) {
        return (e as { toLine(): string }).toLine();
      }
      return 'ok';
    };
    expect(line({ column: 'c' })).toBe('quality[3].where: give a condition: eq, ne, in, not_in, gt, gte, lt, lte');
    expect(line({ eq: 1 })).toBe('quality[3].where.column: is required (the name of a column)');
    expect(line({ column: 'c', in: [] })).toMatch(/^quality\[3\]\.where\.in: must be a non-empty list/);
    expect(line({ column: 'c', gte: 'x' })).toMatch(/^quality\[3\]\.where\.gte: must be a number/);
    expect(line({ column: 'c', gtee: 3 })).toMatch(
      /^quality\[3\]\.where\.gtee: unknown parameter "gtee" \(did you mean "gte"\?\)/,
    );
    expect(createFilter('where', { column: 'lang', in: ['en'] }).columns).toEqual(['lang']);
  });
});
