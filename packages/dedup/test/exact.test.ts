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

describe('ExactDeduper compact state (issue 19.11)', () => {
  it('removals read like a Map, in index order, for string and bigint keys alike', async () => {
    const { exactKey64 } = await import('../src/index.js');
    for (const keyOf of [(t: string) => exactKey(t), (t: string) => exactKey64(t)]) {
      const d = new ExactDeduper();
      const texts = ['a b', 'c', 'A  B', 'c', 'a b', 'd'];
      // added out of order, as worker batches arrive
      for (const i of [4, 1, 0, 5, 3, 2])
        d.add(i * 10, keyOf(texts[i]), { id: `doc${i}`, kind: i === 2 ? 'real' : 'synthetic' });
      const r = d.resolve();
      expect(d.size).toBe(6);
      expect(d.groupCount).toBe(3);
      expect(r.size).toBe(3);
      expect(r.groups).toBe(2);
      expect([...r]).toEqual([
        [0, { keptIndex: 20, keptId: 'doc2' }], // the real copy is kept
        [30, { keptIndex: 10, keptId: 'doc1' }],
        [40, { keptIndex: 20, keptId: 'doc2' }],
      ]);
      expect([...r.keys()]).toEqual([0, 30, 40]);
      expect(r.has(30)).toBe(true);
      expect(r.has(10)).toBe(false);
      expect(r.get(40)).toEqual({ keptIndex: 20, keptId: 'doc2' });
      expect(r.get(50)).toBeUndefined();
    }
    expect(exactKey64('Hello  World').toString(16).padStart(16, '0')).toBe(exactKey('hello world'));
    expect(new ExactDeduper().resolve().size).toBe(0);
  });

  it('a million copies of one key keep typed arrays, not an object per row', () => {
    const d = new ExactDeduper();
    for (let i = 0; i < 1_000_000; i++) d.add(i, 'same', { id: `s${i}` });
    const r = d.resolve();
    expect(r.size).toBe(999_999);
    expect(r.groups).toBe(1);
    expect(r.get(999_999)).toEqual({ keptIndex: 0, keptId: 's0' });
    // the state is typed arrays: docIndex + group per row, index + group per removal
    const own = Object.values(d as unknown as Record<string, unknown>).filter((v) => ArrayBuffer.isView(v));
    expect(own.reduce((a, v) => a + (v as ArrayBufferView).byteLength, 0) / 1e6).toBeLessThan(30);
    expect((d as unknown as { all?: unknown }).all).toBeUndefined();
  });
});
