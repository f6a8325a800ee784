/**
 * `--text` per file pattern on the multi-file commands (stats, filter, dedup, decontam): real
 * inputs differ in columns (Dolly's `response`, AlpacaEval's `output`), so each pattern gets its
 * template; a file no pattern covers is named before any work.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

const DOLLY = shared('instruct_pair', 'human_dolly15k.jsonl');
const ALPACA = shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');
const ROWS = 15011 + 7244; // MANIFEST.md
const RULES = ['--text', '*dolly*={instruction}\n\n{response}', '--text', '*alpaca_eval*={instruction}\n\n{output}'];

function jsonl(path: string): Record<string, string>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe.skipIf(!HAS_SHARED)('--text per file pattern (Dolly + AlpacaEval from ../shared/data)', () => {
  it('stats, filter and dedup read each file with its own template', async () => {
    const d = tempDir();
    const stats = await curate(['stats', DOLLY, ALPACA, ...RULES, '--filters', 'gopher_repetition', '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    const s = JSON.parse(stats.stdout);
    expect(s.groups.all.documents).toBe(ROWS);
    expect(s.filters.rows).toBe(ROWS);

    const filter = await curate([
      'filter',
      DOLLY,
      ALPACA,
      ...RULES,
      '--filters',
      'length',
      '--out',
      join(d, 'f'),
      '--json',
    ]);
    expect(filter.code, filter.stderr).toBe(0);
    expect(JSON.parse(filter.stdout).documents_in).toBe(ROWS);

    const dedup = await curate(['dedup', DOLLY, ALPACA, ...RULES, '--out', join(d, 'd'), '--no-near', '--json']);
    expect(dedup.code, dedup.stderr).toBe(0);
    expect(JSON.parse(dedup.stdout).documents_in).toBe(ROWS);
  });

  it('decontam matches an eval set against each file through its own column', async () => {
    const d = tempDir();
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const dolly = jsonl(DOLLY).find((r) => words(r.response) >= 40) as Record<string, string>;
    const alpaca = jsonl(ALPACA).find((r) => words(r.output) >= 40) as Record<string, string>;
    const evalFile = join(d, 'bench.jsonl');
    writeFileSync(
      evalFile,
      `${JSON.stringify({ text: dolly.response })}\n${JSON.stringify({ text: alpaca.output })}\n`,
    );
    const out = join(d, 'o');
    const r = await curate([
      'decontam',
      DOLLY,
      ALPACA,
      '--text',
      '*dolly*=response',
      '--text',
      '*alpaca_eval*=output',
      '--against',
      evalFile,
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const reasons = readdirSync(join(out, 'rejected'))
      .flatMap((f) => jsonl(join(out, 'rejected', f)))
      .map((row) => `${typeof row.category === 'string' ? 'dolly' : 'alpaca'} ${row.reason}`); // widened schema: nulls
    // eval row 0 is a Dolly response, row 1 an AlpacaEval output: each found in its own file
    expect(reasons).toContain('dolly decontam:bench:row=0');
    expect(reasons).toContain('alpaca decontam:bench:row=1');
  });

  it('a file no pattern covers is named before any work (exit 2, one line, nothing written)', async () => {
    const d = tempDir();
    const cases = [
      ['stats', DOLLY, ALPACA, '--filters', 'none'],
      ['filter', DOLLY, ALPACA, '--filters', 'c4', '--out', join(d, 'f')],
      ['dedup', DOLLY, ALPACA, '--out', join(d, 'd')],
      ['decontam', DOLLY, ALPACA, '--against', DOLLY, '--out', join(d, 'c')],
    ];
    for (const args of cases) {
      const r = await curate([...args, '--text', '*dolly*=response']);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr.trim().split('\n'), args[0]).toEqual([
        `error: ${ALPACA}: --text: no pattern covers this input file; add a pattern (PATTERN=TEMPLATE) or a template without a pattern for every other file`,
      ]);
    }
    expect(readdirSync(d)).toEqual([]);
    // A template without a pattern covers the rest: Dolly by its pattern, AlpacaEval by `output`.
    const r = await curate([
      'stats',
      DOLLY,
      ALPACA,
      '--text',
      '*dolly*=response',
      '--text',
      'output',
      '--filters',
      'none',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).groups.all.documents).toBe(ROWS);
    expect(existsSync(join(d, 'f'))).toBe(false);
  });
});
