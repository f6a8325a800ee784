import { type Batch, collect, makeBatch, pipe, Rng, Stats, silentLogger } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { DecontamIndex, decontamStep, exactDedupStep, nearDedupStep } from '../src/index.js';
import { editWords, readJsonl } from './helpers.js';

async function* batches(rows: { id: string; text: string }[], size: number): AsyncIterable<Batch> {
  for (let i = 0; i < rows.length; i += size) {
    const part = rows.slice(i, i + size);
    yield makeBatch({ id: part.map((r) => r.id), text: part.map((r) => r.text) }, { offset: i });
  }
}

describe.skipIf(!HAS_SHARED)('streaming steps on C4 text', () => {
  it('drop exact copies, near copies and contaminated rows with reasons, counted in stats', async () => {
    const c4 = (await readJsonl(shared('real_text', 'c4_sample.jsonl'))).map((r, i) => ({
      id: `c4-${i}`,
      text: r.text as string,
    }));
    const test = await readJsonl(shared('decontam', 'gsm8k_test.jsonl'));
    const rng = new Rng(1);
    const long = c4.filter((r) => r.text.split(' ').length > 200).slice(0, 20);
    const rows = [
      ...c4,
      ...long.slice(0, 5).map((r, i) => ({ id: `exact-${i}`, text: `  ${r.text.toUpperCase()} ` })),
      ...long.slice(5, 15).map((r, i) => ({ id: `near-${i}`, text: editWords(r.text, 0.004, rng, ['foo', 'bar']) })),
      ...test.slice(0, 3).map((r, i) => ({ id: `leak-${i}`, text: `Q: ${r.question}\nA: 42` })),
    ];
    const stats = new Stats();
    const rejected: string[] = [];
    const onReject = (b: Batch, reasons: string[]) => {
      for (let i = 0; i < reasons.length; i++) rejected.push(`${b.columns.id[i]} ${reasons[i]}`);
    };
    const index = DecontamIndex.fromEvalSets([{ name: 'gsm8k_test', texts: test.map((r) => r.question as string) }]);
    const out = await collect(
      pipe(
        batches(rows, 64),
        { rank: 0, worldSize: 1, stats, log: silentLogger },
        exactDedupStep({ onReject }),
        nearDedupStep({ onReject }),
        decontamStep(index, { onReject }),
      ),
    );
    const kept = out.reduce((n, b) => n + b.length, 0);
    expect(rejected.filter((r) => r.startsWith('exact-'))).toEqual(
      long.slice(0, 5).map((o, i) => `exact-${i} dedup:exact:dup_of=${o.id}`),
    );
    const near = rejected
      .filter((r) => r.startsWith('near-'))
      .sort((a, b) => Number(a.split(/[- ]/)[1]) - Number(b.split(/[- ]/)[1]));
    expect(near.length).toBe(10);
    near.forEach((r, i) => {
      expect(r).toMatch(new RegExp(`^near-${i} dedup:(near:cluster=\\d+:kept|exact:dup_of)=${long[5 + i].id}$`));
    });
    expect(rejected.filter((r) => r.startsWith('leak-'))).toEqual([
      'leak-0 decontam:gsm8k_test:row=0',
      'leak-1 decontam:gsm8k_test:row=1',
      'leak-2 decontam:gsm8k_test:row=2',
    ]);
    expect(near.filter((r) => r.includes('dedup:near:')).length).toBeGreaterThan(5);
    expect(kept + rejected.length).toBe(rows.length);
    const s = stats.toJSON().input;
    expect(s.dropped['dedup:exact']).toBe(rejected.filter((r) => r.includes(' dedup:exact:')).length);
    expect(Object.values(s.dropped).reduce((a, b) => a + b, 0)).toBe(rejected.length);
    expect(s.dropped['decontam:gsm8k_test']).toBe(3);
  });
});

describe('step options shared with qualityStep', () => {
  const ctx = () => ({ rank: 0, worldSize: 1, stats: new Stats(), log: silentLogger });
  const input = () =>
    (async function* () {
      yield makeBatch({ text: ['same words here', 'same words here', 'other'] }, { file: 'in.jsonl', offset: 0 });
    })();

  it('`source` names the counters of rows without a source column', async () => {
    const c = ctx();
    const seen: [string[], unknown[]][] = [];
    await collect(
      exactDedupStep({ source: 'dolly', onReject: (b, reasons) => void seen.push([reasons, b.columns.text]) })(
        input(),
        c,
      ),
    );
    expect(Object.keys(c.stats.toJSON())).toEqual(['dolly']);
    expect(c.stats.toJSON().dolly.dropped).toEqual({ 'dedup:exact': 1 });
    expect(seen).toEqual([[['dedup:exact:dup_of=in.jsonl:0'], ['same words here']]]);
  });

  it('a text column the batch lacks is E_MISSING_COLUMN naming column and file', async () => {
    const err = await collect(nearDedupStep({ text: 'respnse' })(input(), ctx())).catch((e) => e);
    expect(err.code).toBe('E_MISSING_COLUMN');
    expect(err.toLine()).toMatch(/^in\.jsonl: missing column "respnse"/);
  });
});
