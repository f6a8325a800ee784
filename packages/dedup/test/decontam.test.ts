import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { DecontamIndex, evalNameFromPath } from '../src/index.js';
import { readJsonl } from './helpers.js';

describe('DecontamIndex', () => {
  const q = 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.';
  const idx = DecontamIndex.fromEvalSets([
    { name: 'toy', texts: ['nothing here', q, 'a short item with exactly eight plain words'] },
  ]);
  it('matches a shared 13-gram after normalisation and names the eval row', () => {
    expect(
      idx.match(`Answer this: NATALIA sold clips to 48 of her friends in april,   and then she sold half`),
    ).toEqual({ evalName: 'toy', row: 1 });
    expect(idx.match('Natalia sold clips to 48 of her friends in April and then')).toBeNull(); // 12 words
    expect(idx.match('')).toBeNull();
  });
  it('indexes short rows whole when they have >= minWords words, skips shorter ones', () => {
    expect(idx.match('so: a short item with exactly eight plain words, indeed')).toEqual({ evalName: 'toy', row: 2 });
    expect(idx.match('nothing here at all')).toBeNull();
    expect(idx.evalSets[0]).toMatchObject({ rows: 3, short: 1, skipped: 1 });
  });
  it('derives reason-safe names and rejects bad ones', () => {
    expect(evalNameFromPath('/x/gsm8k test.jsonl.gz')).toBe('gsm8k_test');
    expect(() => DecontamIndex.fromEvalSets([{ name: 'a:b', texts: [] }])).toThrow(/eval set name/);
  });
  it('fails with an InputError for an eval file that does not exist or has no text column', async () => {
    await expect(DecontamIndex.fromEvalFiles([{ path: '/nonexistent/evals.jsonl' }])).rejects.toMatchObject({
      code: 'E_DECONTAM_EVAL_NOT_FOUND',
      file: '/nonexistent/evals.jsonl',
    });
    const dir = await mkdtemp(join(tmpdir(), 'dedup-decontam-'));
    try {
      const f = join(dir, 'e.jsonl');
      await writeFile(f, '{"a": 1}\n');
      const err = await DecontamIndex.fromEvalFiles([{ path: f }]).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.code).toBe('E_DECONTAM_NO_TEXT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAS_SHARED)('decontamination against GSM8K test', async () => {
  const idx = HAS_SHARED ? await DecontamIndex.fromEvalFiles([{ path: shared('decontam', 'gsm8k_test.jsonl') }]) : null;
  it('indexes every test question', () => {
    expect(idx?.evalSets[0]).toMatchObject({ name: 'gsm8k_test', rows: 1319 });
  });
  it('flags every GPT-3 solution record (question + model solution) and names its test row', async () => {
    const rows = await readJsonl(shared('decontam', 'gsm8k_example_model_solutions.jsonl'));
    const test = await readJsonl(shared('decontam', 'gsm8k_test.jsonl'));
    expect(rows.length).toBe(1319);
    let same = 0;
    rows.forEach((r) => {
      const sol = (r['175b_verification'] as { solution: string }).solution;
      const m = idx?.match(`${r.question}\n\n${sol}`);
      expect(m).not.toBeNull();
      if (test[m?.row as number].question === r.question) same++;
    });
    expect(same / rows.length).toBeGreaterThan(0.99); // the named row is the quoted question
  });
  it('flags at most 1% of the GSM8K train set (question and answer)', async () => {
    const rows = await readJsonl(shared('decontam', 'gsm8k_train.jsonl'));
    const flagged = rows.filter((r) => idx?.match(`${r.question}\n${r.answer}`)).length;
    expect(rows.length).toBe(7473);
    expect(flagged / rows.length).toBeLessThanOrEqual(0.01);
  });
});
