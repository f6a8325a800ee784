import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { ExactDeduper, exactKey, hash64, normalizeText } from '../src/index.js';
import { readJsonl } from './helpers.js';

describe('normalizeText / exactKey', () => {
  it('applies NFKC, lower case and collapses white space; punctuation only when asked', () => {
    expect(normalizeText('  Ｆｕｌｌ\u00a0WIDTH\r\n\ttext  ')).toBe('full width text');
    expect(normalizeText('ﬁne')).toBe('fine');
    expect(exactKey('Hello,   World')).toBe(exactKey('hello, world'));
    expect(exactKey('Hello, World!')).not.toBe(exactKey('hello world'));
    expect(exactKey('Hello, World!', { stripPunctuation: true })).toBe(
      exactKey('hello world', { stripPunctuation: true }),
    );
    expect(exactKey('abc')).toMatch(/^[0-9a-f]{16}$/);
  });
  it('keeps the preferred document of a group and names it', () => {
    const d = new ExactDeduper();
    d.add(5, 'k', { id: 'syn', kind: 'synthetic' });
    d.add(9, 'k', { id: 'real', kind: 'real' });
    d.add(7, 'other', { id: 'x' });
    expect([...d.resolve()]).toEqual([[5, { keptIndex: 9, keptId: 'real' }]]);
    const s = new ExactDeduper();
    expect(s.check('k', 1, { id: 'a' })).toBeNull();
    expect(s.check('k', 2, { id: 'b' })).toEqual({ keptIndex: 1, keptId: 'a' });
  });
});

describe.skipIf(!HAS_SHARED)('exact dedup on Gutenberg', () => {
  it('finds the 14 byte-identical books', async () => {
    const d = new ExactDeduper();
    const raw: string[] = [];
    let i = 0;
    for (let s = 0; s < 4; s++) {
      for (const row of await readJsonl(shared('real_text', 'gutenberg', `gutenberg-0000${s}-of-00004.jsonl`))) {
        d.add(i++, exactKey(row.text as string), { id: row.id as string });
        raw.push(hash64(row.text as string));
      }
    }
    expect(i).toBe(240);
    const removed = d.resolve();
    expect(removed.size).toBe(14);
    for (const [idx, r] of removed) {
      expect(r.keptIndex).toBeLessThan(idx);
      expect(raw[r.keptIndex]).toBe(raw[idx]); // byte-identical, not only equal after normalisation
    }
    expect(raw.length - new Set(raw).size).toBe(14);
  }, 60_000);
});
