import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterChain, loadCustomFilter, loadFilter } from '../src/index.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'custom-filters.mjs');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'curate-custom-'));
  await writeFile(
    join(dir, 'plain.mjs'),
    `export const long = { name: 'long', filter: (d) => (d.text.length > 5 ? { drop: 'long' } : true) };
export const bad = { name: 'bad name', filter: () => true };
export const notAFilter = 42;
export function broken() { throw new Error('boom'); }
export default { name: 'dflt', filter: () => true };`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const line = async (p: object) => {
  try {
    await loadCustomFilter(p as never, 'quality[4].custom');
  } catch (e) {
    return (e as { toLine(): string }).toLine();
  }
  return 'ok';
};

describe('custom filters', () => {
  it('the shipped example: a filter, a factory with params, a text rewrite with counts', async () => {
    const noUrls = await loadFilter('custom', { module: EXAMPLE, export: 'noUrls' }, 'quality[0].custom');
    const min = await loadFilter('custom', {
      module: EXAMPLE,
      export: 'minWordsIn',
      params: { column: 'response', min: 3 },
    });
    const strip = await loadCustomFilter({ module: EXAMPLE, export: 'stripSignature', applies_to: 'real' });
    expect([noUrls.name, min.name, strip.name]).toEqual(['no_urls', 'min_words_in', 'strip_signature']);
    expect(min.columns).toEqual(['response']);
    expect(strip.appliesTo).toBe('real');
    const chain = new FilterChain([noUrls, min, strip]);
    const counts: string[] = [];
    chain.doc.onCount = (source, key, n) => counts.push(`${source} ${key} ${n}`);
    const cols = { response: ['one two three', 'one two', 'a b c'] };
    expect(chain.run('see https://x.org', 's', 'real', cols, 0)).toBe('filter:no_urls:url');
    expect(chain.run('fine', 's', 'real', cols, 1)).toBe('filter:min_words_in:too_short');
    expect(chain.run('body\n-- \nJo', 's', 'real', cols, 2)).toBeNull();
    expect(chain.doc.text).toBe('body');
    expect(counts).toEqual(['s strip_signature:signatures 1']);
  });

  it('the default export', async () => {
    const f = await loadCustomFilter({ module: join(dir, 'plain.mjs') });
    expect(f.name).toBe('dflt');
  });

  it('errors name the recipe path and say what is wrong', async () => {
    const m = join(dir, 'plain.mjs');
    expect(await line({ module: join(dir, 'nope.mjs') })).toMatch(
      /^quality\[4\]\.custom\.module: cannot load ".*nope\.mjs": not found$/,
    );
    expect(await line({ module: m, export: 'lon' })).toMatch(
      /^quality\[4\]\.custom\.export: ".*plain\.mjs" has no export "lon" \(did you mean "long"\?\) \(exports: /,
    );
    expect(await line({ module: m, export: 'long', params: { x: 1 } })).toMatch(
      /^quality\[4\]\.custom\.params: export "long" is a filter, not a function of params/,
    );
    expect(await line({ module: m, export: 'notAFilter' })).toMatch(
      /^quality\[4\]\.custom\.export: export "notAFilter" is not a filter/,
    );
    expect(await line({ module: m, export: 'broken' })).toBe('quality[4].custom.params: export "broken" failed: boom');
    expect(await line({ module: m, export: 'bad' })).toMatch(
      /^quality\[4\]\.custom\.export: the filter's name "bad name" must be/,
    );
    expect(await line({ module: EXAMPLE, export: 'minWordsIn', params: { min: 'x' } })).toMatch(
      /failed: min must be a number/,
    );
    expect(await line({ module: m, export: 'long', applies_to: 'robots' })).toMatch(
      /^quality\[4\]\.custom\.applies_to/,
    );
  });
});
