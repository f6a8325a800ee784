/**
 * `text` rules per file pattern: inputs with different columns dedup exactly as the same texts
 * under one column, on every signing path (main thread, worker threads by files, byte ranges).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dedupFiles } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'curate-dedup-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WORDS = 'river stone light under over quiet open table window paper garden music letter morning'.split(' ');
function doc(i: number): string {
  return (
    Array.from({ length: 40 }, (_, j) => WORDS[(i * 5 + j * (1 + (i % 3))) % WORDS.length]).join(' ') + ` n${i % 40}`
  );
}

function write(name: string, column: string, from: number, n: number): string {
  const p = join(dir, name);
  const rows = Array.from({ length: n }, (_, k) => JSON.stringify({ [column]: doc(from + k), k }));
  writeFileSync(p, `${rows.join('\n')}\n`);
  return p;
}

describe('dedupFiles with text rules per file pattern', () => {
  it('gives the same removals as one column, on 1, 2 and 3 signers', async () => {
    // the same texts, once as `response`/`output` columns and once as `text`
    const a = write('a-dolly.jsonl', 'response', 0, 300);
    const b = write('b-alpaca.jsonl', 'output', 150, 300);
    const plainA = write('a-plain.jsonl', 'text', 0, 300);
    const plainB = write('b-plain.jsonl', 'text', 150, 300);
    const want = await dedupFiles({ inputs: [plainB, plainA], out: join(dir, 'want'), workers: 1 });
    expect(Object.values(want.removed).reduce((x, y) => x + y, 0)).toBeGreaterThan(100);
    const rules = [
      { match: '*dolly*', text: 'response' },
      { match: '*alpaca*', text: '{output}' },
    ];
    // the same file order (a-, b-); ids differ (file paths), so removals are compared by kind
    const kinds = (r: Record<string, number>) => {
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(r))
        out[k.split(':').slice(0, 2).join(':')] = (out[k.split(':').slice(0, 2).join(':')] ?? 0) + v;
      return out;
    };
    for (const workers of [1, 2, 3]) {
      const got = await dedupFiles({ inputs: [a, b], text: rules, out: join(dir, `got-${workers}`), workers });
      expect(got.documents_in).toBe(600);
      expect(kinds(got.removed), `workers ${workers}`).toEqual(kinds(want.removed));
    }
    await expect(
      dedupFiles({ inputs: [a, b], text: [{ match: '*dolly*', text: 'response' }], out: join(dir, 'x') }),
    ).rejects.toThrow(/no pattern covers this input file/);
  });
});
