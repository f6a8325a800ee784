import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { shardBytes, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

describe('pass 2 on worker threads', () => {
  it('writes the same bytes as pass 2 in the main thread (1 worker), with c4 clean rewriting text', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: pass2
seed: 11
tokenizer: cl100k_base
target: { tokens: 40000, ratio: { real: 0.6, synthetic: 0.4 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}"], text: text, columns: [genre] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 2 }
quality:
  - c4: { mode: clean, min_sentences: 2 }
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, shard_rows: 60, write_rejected: false }
report: false
`,
    );
    const a = join(dir, 'one');
    const b = join(dir, 'two');
    const ra = await runRecipeFile(recipe, { out: a, workers: 1 });
    const rb = await runRecipeFile(recipe, { out: b, workers: 2 });
    // metrics measured on the pass-2 threads and merged equal the writer's own measurement
    expect(Object.keys(ra.manifest.metrics.sources).sort()).toEqual(['brown', 'markov']);
    expect(rb.manifest.metrics).toEqual(ra.manifest.metrics);
    expect(rb.manifest.warnings).toEqual(ra.manifest.warnings);
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(1);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
  });
});

describe('pass 2 over raw JSONL bytes', () => {
  it('finds and parses only the selected lines, with the reader rules (BOM, CRLF, blank lines, keys missing or first seen late)', async () => {
    const dir = tempDir();
    // Real rows (Brown fixture) rewritten into awkward but valid JSONL.
    const src = readFileSync(join(FIX, 'shards', 'real', 'brown-00000.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(src.length).toBeGreaterThan(50);
    const lines: string[] = [];
    src.forEach((r, i) => {
      const row: Record<string, unknown> = { id: `r${i}`, text: r.text };
      if (i % 3 !== 1) row.genre = r.genre ?? `g${i % 5}`; // pass-through column missing on some rows
      if (i % 7 !== 3) row.q = i % 10; // score column, absent from some rows (the reader's batches hold null)
      if (i > src.length / 2) row.late = { n: i, tags: ['x', i] }; // a column first seen late in the file
      if (i % 11 === 0) Object.defineProperty(row, '__proto__', { value: 'kept', enumerable: true }); // an own key
      const json = i % 4 === 0 ? JSON.stringify(row, null, 1).replace(/\n/g, ' ') : JSON.stringify(row);
      lines.push(json);
      if (i % 9 === 0) lines.push(''); // blank lines are not records
      if (i % 13 === 0) lines.push(' \t ');
    });
    const body = lines.map((l, i) => (i % 5 === 0 ? `${l}\r` : l)).join('\n');
    expect(body).toContain('"__proto__":"kept"');
    writeFileSync(join(dir, 'awkward.jsonl'), `\ufeff${body}`); // BOM, no final newline
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: raw-pass2
seed: 5
tokenizer: cl100k_base
target: { ratio: { real: 0.15, synthetic: 0.85 } }
sources:
  - { name: awkward, kind: real, paths: ["${join(dir, 'awkward.jsonl')}"], text: text, id: id, columns: [genre, late, q] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 1 }
quality:
  - score: { column: q, min: 2, applies_to: [awkward] }
  - c4: { mode: clean, min_sentences: 1 }
dedup: { exact: {} }
output: { dir: out, format: jsonl, write_rejected: false }
report: false
`,
    );
    const a = join(dir, 'one');
    const b = join(dir, 'two');
    const ra = await runRecipeFile(recipe, { out: a, workers: 1 }); // pass 2 through the generic reader
    const rb = await runRecipeFile(recipe, { out: b, workers: 2 }); // pass 2 on threads, raw JSONL lines
    const real = ra.manifest.sources.find((s) => s.name === 'awkward');
    expect(real?.rows_sampled).toBeGreaterThan(5);
    expect(real?.rows_sampled).toBeLessThan(real?.rows_available ?? 0); // a subset: lines are skipped
    // >= 256 selected rows of one JSONL file: with 2 workers pass 2 shares it out in two row ranges
    expect(ra.manifest.sources.find((s) => s.name === 'markov')?.rows_sampled).toBeGreaterThanOrEqual(256);
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(0);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
    const out = Object.values(ha)
      .map((x) => x.toString('utf8'))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.some((r) => r.source === 'awkward' && r.genre === null)).toBe(true);
    expect(out.some((r) => r.source === 'awkward' && r.late !== null)).toBe(true);
    expect(rb.manifest.output.shards.map((s) => s.sha256)).toEqual(ra.manifest.output.shards.map((s) => s.sha256));
  });
});
