import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CurateError, loadTokenizer, Rng } from '@curate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { computeStats } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'curate-metrics-'));
  const rng = new Rng(5);
  const rows: string[] = [];
  for (let i = 0; i < 400; i++) {
    const words = Array.from({ length: 60 }, () => `w${Math.floor(20000 * rng.float() ** 2)}`);
    rows.push(JSON.stringify({ kind: 'real', body: words.join(' ') }));
    rows.push(JSON.stringify({ kind: 'synthetic', body: 'as an ai language model i cannot do that '.repeat(6) + i }));
  }
  await writeFile(join(dir, 'a.jsonl'), `${rows.slice(0, 400).join('\n')}\n`);
  await writeFile(join(dir, 'b.jsonl'), `${rows.slice(400).join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('computeStats', () => {
  it('groups rows by a column, compares with the real group and warns', async () => {
    const s = await computeStats({ inputs: [join(dir, '*.jsonl')], text: 'body', groupBy: 'kind' });
    expect(Object.keys(s.groups)).toEqual(['real', 'synthetic']);
    expect(s.groups.real.documents).toBe(400);
    expect(s.groups.synthetic.documents).toBe(400);
    expect(s.total.documents).toBe(800);
    expect(s.total.words).toBe(s.groups.real.words + s.groups.synthetic.words);
    expect(Object.keys(s.comparisons)).toEqual(['synthetic']);
    expect(s.comparisons.synthetic.distinctRatio).toBeLessThan(0.2);
    const codes = s.warnings.map((w) => w.code);
    // Not W_HAPAX_LOW: each row's unique number is a hapax among ten other types, so the hapax
    // share (hapax types / types) is high. Hapax share needs a natural vocabulary to mean "tail".
    expect(codes).toEqual(['W_COMPRESSION_HIGH', 'W_DISTINCT_LOW', 'W_JSD_HIGH', 'W_TOP_NGRAMS_HIGH']);
    expect(s.warnings.every((w) => w.source === 'synthetic')).toBe(true);
  });

  it('counts tokens with the given tokenizer and names the file of a missing column', async () => {
    const bytes = await loadTokenizer('bytes');
    const s = await computeStats({ inputs: [join(dir, 'a.jsonl')], text: 'body', tokenizer: bytes });
    expect(Object.keys(s.groups)).toEqual(['all']);
    expect(s.groups.all.tokens).toBeGreaterThan(s.groups.all.chars - 1);
    expect(s.warnings).toEqual([]);
    const err = await computeStats({ inputs: [join(dir, 'a.jsonl')], text: 'nope' }).catch((e) => e);
    expect(err).toBeInstanceOf(CurateError);
    expect(err.file).toContain('a.jsonl');
    const noReal = await computeStats({ inputs: [join(dir, 'a.jsonl')], text: 'body', real: 'human' }).catch((e) => e);
    expect(noReal.code).toBe('E_METRICS_NO_REAL');
  });

  it.skipIf(!HAS_SHARED)('reads real shards through a text template', async () => {
    const s = await computeStats({
      inputs: [shared('instruct_pair', 'human_dolly15k.jsonl')],
      text: '{instruction}\n\n{context}\n\n{response}',
      groupBy: 'category',
    });
    expect(Object.keys(s.groups)).toHaveLength(8);
    expect(s.total.documents).toBe(15011);
    expect(s.groups.closed_qa.length.p50).toBeGreaterThan(s.groups.brainstorming.length.p50);
  });
});
