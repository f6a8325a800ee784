import { describe, expect, it } from 'vitest';
import { RowReasons } from '../dist/reasons.js';

describe('RowReasons (compact drop reasons, issue 19.11)', () => {
  it('stores one code per row and each distinct reason once', () => {
    const r = new RowReasons(1_000_000);
    for (let i = 1; i < 1_000_000; i++) r.set(i, `dedup:exact:dup_of=${'same:0'}`);
    r.set(0, 'filter:length:too_short');
    r.set(5, 'filter:length:too_short'); // replaces: still one reason for row 5
    expect(r.size).toBe(1_000_000);
    expect(r.get(5)).toBe('filter:length:too_short');
    expect(r.get(6)).toBe('dedup:exact:dup_of=same:0');
    expect(r.has(7)).toBe(true);
    expect([...r.counts()]).toEqual([
      ['dedup:exact:dup_of=same:0', 999_998],
      ['filter:length:too_short', 2],
    ]);
    expect((r as unknown as { table: string[] }).table.length).toBe(3); // '' (kept) + 2 reasons
    const e = new RowReasons(3);
    expect(e.has(1)).toBe(false);
    expect(e.get(1)).toBeUndefined();
    expect([...e.values()]).toEqual([]);
    expect(() => e.set(3, 'x')).toThrow(RangeError);
  });
});
