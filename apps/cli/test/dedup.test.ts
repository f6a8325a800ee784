import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { curate, tempDir } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');
const SYNTHETIC = join(FIX, 'shards', 'synthetic', 'markov-00000.jsonl');

/** One JSONL file of the real and synthetic fixture rows (their columns differ: a row has what it has). */
function combined(): string {
  const p = join(tempDir(), 'all.jsonl');
  const files = [
    join(FIX, 'shards', 'real', 'brown-00000.jsonl'),
    join(FIX, 'shards', 'real', 'brown-00001.jsonl'),
    SYNTHETIC,
  ];
  writeFileSync(p, files.map((f) => readFileSync(f, 'utf8')).join(''));
  return p;
}

function rowsOf(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .sort();
}

describe('curate dedup and decontam', () => {
  it('dedup --json summarises removals; 2 ranks of distributed stages give the single-process result', async () => {
    const base = tempDir();
    const INPUT = combined();
    const single = join(base, 'single');
    const r = await curate(['dedup', INPUT, '--out', single, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.documents_in).toBe(488);
    expect(s.kept + Object.values(s.removed as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(488);
    expect(s.near.clusters).toBeGreaterThan(0);
    expect(Object.keys(s.near.cluster_sizes).length).toBeGreaterThan(0);

    const work = join(base, 'work');
    const dist = join(base, 'dist');
    for (const stage of ['signatures', 'buckets']) {
      for (const rank of ['0', '1']) {
        const x = await curate([
          'dedup',
          INPUT,
          '--stage',
          stage,
          '--work-dir',
          work,
          '--rank',
          rank,
          '--world-size',
          '2',
        ]);
        expect(x.code, x.stderr).toBe(0);
      }
    }
    const c = await curate(['dedup', INPUT, '--stage', 'clusters', '--work-dir', work]);
    expect(c.code, c.stderr).toBe(0);
    for (const rank of ['0', '1']) {
      const x = await curate([
        'dedup',
        INPUT,
        '--stage',
        'remove',
        '--work-dir',
        work,
        '--rank',
        rank,
        '--world-size',
        '2',
        '--out',
        dist,
      ]);
      expect(x.code, x.stderr).toBe(0);
    }
    expect(rowsOf(dist)).toEqual(rowsOf(single));
    expect(rowsOf(join(dist, 'rejected'))).toEqual(rowsOf(join(single, 'rejected')));
  });

  it('a stage whose previous stage is missing a rank fails closed, naming it', async () => {
    const work = join(tempDir(), 'work');
    const INPUT = SYNTHETIC;
    const x = await curate([
      'dedup',
      INPUT,
      '--stage',
      'signatures',
      '--work-dir',
      work,
      '--rank',
      '0',
      '--world-size',
      '2',
    ]);
    expect(x.code, x.stderr).toBe(0);
    const b = await curate([
      'dedup',
      INPUT,
      '--stage',
      'buckets',
      '--work-dir',
      work,
      '--rank',
      '0',
      '--world-size',
      '2',
    ]);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/rank/i);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('decontam names the eval set and row of every removal', async () => {
    const out = join(tempDir(), 'o');
    const r = await curate([
      'decontam',
      join(FIX, 'shards', 'real', 'brown-00000.jsonl'),
      '--against',
      join(FIX, 'evals', 'brown-bench.jsonl'),
      '--against-text',
      'question',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.removed['decontam:brown-bench']).toBeGreaterThan(0);
    const rejected = rowsOf(join(out, 'rejected')).map((l) => JSON.parse(l).reason as string);
    expect(rejected.length).toBe(s.removed['decontam:brown-bench']);
    for (const reason of rejected) expect(reason).toMatch(/^decontam:brown-bench:row=\d+$/);
  });
});
