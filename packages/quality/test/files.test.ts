import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchRows, collect } from '@curate/core';
import { readShards } from '@curate/shards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createFilter, evaluateFiles, filterFiles, formatPassRates } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'curate-quality-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const good = (i: number) =>
  Array.from(
    { length: 6 },
    (_, j) => `Sentence number ${j} of document ${i} has the words and more of them here.`,
  ).join('\n');

describe('filterFiles', () => {
  it('pii: the text and every string column of kept and rejected rows are redacted; counts per source', async () => {
    const input = join(dir, 'pii.jsonl');
    const rows = [
      { id: 'a', instruction: 'Mail jo@ex.org please', response: 'Sure, I wrote to jo@ex.org today.', n: 1 },
      { id: 'b', instruction: 'Ping 163.36.107.25', response: 'no', n: 2 },
    ];
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = join(dir, 'pii-out');
    const summary = await filterFiles({
      inputs: [input],
      out,
      text: '{instruction}\n{response}',
      filters: [createFilter('pii'), createFilter('length', { min: 4 })],
    });
    expect(summary.sources['pii.jsonl'].changed).toEqual({ 'pii:email': 2, 'pii:ipv4': 1, 'pii:rows': 2 });
    const kept = (await collect(readShards([join(out, 'shard-*')]))).flatMap(batchRows);
    expect(kept).toEqual([
      {
        id: 'a',
        instruction: 'Mail <EMAIL_ADDRESS> please',
        response: 'Sure, I wrote to <EMAIL_ADDRESS> today.',
        n: 1,
        text: 'Mail <EMAIL_ADDRESS> please\nSure, I wrote to <EMAIL_ADDRESS> today.',
      },
    ]);
    const rejected = (await collect(readShards([join(out, 'rejected')]))).flatMap(batchRows);
    expect(rejected.map((r) => [r.instruction, r.reason])).toEqual([['Ping <IP_ADDRESS>', 'filter:length:too_short']]);
  });

  it('keeps every column, writes kept rows and rejected rows with their reason', async () => {
    const input = join(dir, 'in.jsonl');
    const rows = [
      { id: 'a', text: good(1), score: 9 },
      { id: 'b', text: 'too short', score: 9 },
      { id: 'c', text: `Menu\n${good(3)}\nShare this`, score: 2 },
      { id: 'd', text: good(4), score: null },
    ];
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = join(dir, 'out');
    const summary = await filterFiles({
      inputs: [input],
      out,
      filters: [
        createFilter('c4', { mode: 'clean' }),
        createFilter('gopher_quality', { min_words: 20 }),
        createFilter('score', { column: 'score', min: 5, missing: 'keep' }),
      ],
    });
    expect(summary).toMatchObject({ documents_in: 4, kept: 2, cleaned: 0 });
    expect(summary.dropped).toEqual({ 'filter:c4:too_few_sentences': 1, 'filter:score:below_min': 1 });
    const kept = (await collect(readShards([join(out, 'shard-*')]))).flatMap(batchRows);
    expect(kept.map((r) => r.id)).toEqual(['a', 'd']);
    expect(Object.keys(kept[0]).sort()).toEqual(['id', 'score', 'text']);
    const rejected = (await collect(readShards([join(out, 'rejected')]))).flatMap(batchRows);
    expect(rejected.map((r) => [r.id, r.reason])).toEqual([
      ['b', 'filter:c4:too_few_sentences'],
      ['c', 'filter:score:below_min'],
    ]);
    // existing output is refused without overwrite
    await expect(filterFiles({ inputs: [input], out, filters: 'length' })).rejects.toThrow(/not empty/);
    const again = await filterFiles({ inputs: [input], out, filters: 'length', overwrite: true, rejected: false });
    expect(again.kept).toBe(4);
    expect(await readdir(out)).not.toContain('rejected');
  });

  it('c4 clean mode writes the cleaned text; templates over columns', async () => {
    const input = join(dir, 'pairs.jsonl');
    await writeFile(input, `${JSON.stringify({ q: 'Title line', a: good(7) })}\n`);
    const out = join(dir, 'out-clean');
    const s = await filterFiles({ inputs: [input], out, filters: [createFilter('c4', { mode: 'clean' })], text: 'a' });
    expect(s.cleaned).toBe(0);
    const s2 = await filterFiles({
      inputs: [input],
      out,
      overwrite: true,
      filters: [createFilter('c4', { mode: 'clean' })],
      text: '{q}\n{a}',
    });
    expect(s2.cleaned).toBe(1);
    const kept = (await collect(readShards([join(out, 'shard-*')]))).flatMap(batchRows);
    expect(kept[0].text).toBe(good(7));
    expect(kept[0].q).toBe('Title line');
    await expect(
      filterFiles({ inputs: [input], out: join(dir, 'x'), filters: 'length', text: 'missing' }),
    ).rejects.toThrow(/missing/);
    await expect(filterFiles({ inputs: [input], out: join(dir, 'y'), filters: 'lenght' })).rejects.toThrow(
      /unknown filter "lenght"/,
    );
  });
});

describe.skipIf(!HAS_SHARED)('evaluateFiles on Dolly', () => {
  it('prints a pass-rate table per filter', async () => {
    const rates = await evaluateFiles({
      inputs: [shared('instruct_pair', 'human_dolly15k.jsonl')],
      filters: 'gopher_quality,gopher_repetition,fineweb',
      text: '{instruction}\n\n{context}\n\n{response}',
    });
    expect(rates.rows).toBe(15011);
    const table = formatPassRates(rates);
    expect(table).toMatch(/^filter\s+rows\s+passed\s+pass rate/);
    expect(table).toMatch(/gopher_quality\s+15011\s+\d+\s+\d+\.\d%\s+word_count \d+/);
    expect(rates.chain.passed).toBeLessThanOrEqual(Math.min(...rates.filters.map((f) => f.passed)));
  });
});
