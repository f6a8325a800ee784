import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { type Manifest, runRecipeFile } from '../dist/index.js';
import { duckRows, shardBytes, tempDir } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEMO = join(ROOT, 'fixtures', 'recipes', 'demo.yaml');
const BIN = join(ROOT, 'apps', 'cli', 'dist', 'bin.js');

describe('curate mix on the bundled demo fixtures', () => {
  it('writes shards, rejected rows and a manifest whose numbers an independent reader confirms', async () => {
    const out = join(tempDir(), 'demo');
    const { manifest: m } = await runRecipeFile(DEMO, { out, workers: 2 });
    // Accounting invariant, per source.
    for (const s of m.sources) {
      const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
      expect(s.rows_read).toBe(dropped + s.rows_available);
      expect(s.rows_read).toBe(s.files.reduce((a, f) => a + f.rows, 0));
    }
    // The planted problems were found: exact and near copies of real text, and benchmark sentences.
    const markov = m.sources.find((s) => s.name === 'markov') as Manifest['sources'][number];
    const brown = m.sources.find((s) => s.name === 'brown') as Manifest['sources'][number];
    expect(markov.dropped['dedup:exact']).toBeGreaterThanOrEqual(7);
    expect(markov.dropped['dedup:near']).toBeGreaterThanOrEqual(6);
    expect(brown.dropped['decontam:brown-bench']).toBe(10);
    expect(brown.dropped['dedup:exact'] ?? 0).toBe(0); // prefer: real keeps the real original
    // Every removed duplicate was a synthetic copy of a kept real row (regurgitation), none the reverse.
    const removedDup = (markov.dropped['dedup:exact'] ?? 0) + (markov.dropped['dedup:near'] ?? 0);
    expect(m.dedup.copies?.synthetic_of_real).toBe(removedDup);
    expect(m.dedup.copies?.real_of_synthetic).toBe(0);
    expect(m.dedup.by_kind?.synthetic.duplicate_rate).toBeCloseTo(
      removedDup / m.dedup.by_kind!.synthetic.candidates,
      12,
    );

    // DuckDB reads what the manifest says was written.
    const glob = join(out, 'shard-*.parquet');
    const rows = await duckRows(
      `SELECT source, kind, text, epoch, source_row, id, generator FROM read_parquet('${glob}')`,
    );
    expect(rows.length).toBe(m.totals.rows_written);
    expect(m.output.shards.reduce((a, s) => a + s.rows, 0)).toBe(rows.length);
    const rejected = await duckRows(`SELECT reason FROM read_parquet('${join(out, 'rejected', '*.parquet')}')`);
    expect(rejected.length).toBe(m.totals.rows_dropped);
    expect(rejected.every((r) => /^(filter|dedup|decontam):/.test(String(r.reason)))).toBe(true);
    expect(rejected.some((r) => /^dedup:near:cluster=\d+:kept=brown-/.test(String(r.reason)))).toBe(true);

    // Independent token recount (js-tiktoken, not the tokenizer curate uses) per source.
    const enc = getEncoding('cl100k_base');
    const recount: Record<string, { tokens: number; docs: number; maxDoc: number }> = {};
    for (const r of rows) {
      const n = enc.encode(String(r.text), [], []).length;
      const e = (recount[String(r.source)] ??= { tokens: 0, docs: 0, maxDoc: 0 });
      e.tokens += n;
      e.docs++;
      e.maxDoc = Math.max(e.maxDoc, n);
    }
    for (const s of m.sources) {
      expect(recount[s.name].tokens).toBe(s.tokens_sampled);
      expect(recount[s.name].docs).toBe(s.rows_sampled);
      // Within one document of the quota.
      expect(Math.abs(s.tokens_sampled - s.quota)).toBeLessThanOrEqual(recount[s.name].maxDoc);
    }
    const total = recount.brown.tokens + recount.markov.tokens;
    expect(Math.abs(recount.brown.tokens / total - 0.7)).toBeLessThan(
      (recount.brown.maxDoc + recount.markov.maxDoc) / total,
    );
    expect(m.target.achieved_ratio.tokens.real).toBeCloseTo(recount.brown.tokens / total, 10);

    // Provenance columns.
    for (const r of rows) {
      expect(['real', 'synthetic']).toContain(r.kind);
      expect(r.generator === null).toBe(r.kind === 'real');
      expect(Number(r.epoch)).toBeGreaterThanOrEqual(0);
    }
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);

    // Quality signals: the demo's sources are small, so every row read is measured (raw text, before
    // filtering); gopher_quality runs first, so the rows below its 50-word minimum are exactly the
    // rows it dropped for word_count.
    const q = m.quality_signals;
    if (!q) throw new Error('no quality_signals in the manifest');
    expect(q.word_count.sampled).toEqual({ real: brown.rows_read, synthetic: markov.rows_read });
    const below = (bins: number[], edges: number[], t: number) =>
      bins.reduce((a, n, i) => a + (edges[i + 1] <= t ? n : 0), 0);
    expect(q.word_count.edges).toContain(50);
    expect(below(q.word_count.synthetic, q.word_count.edges, 50)).toBe(
      markov.dropped['filter:gopher_quality:word_count'],
    );
    expect(markov.dropped['filter:gopher_quality:word_count']).toBeGreaterThan(0);
    expect(below(q.word_count.real, q.word_count.edges, 50)).toBe(
      brown.dropped['filter:gopher_quality:word_count'] ?? 0,
    );
    expect(q.word_count.synthetic.reduce((a, b) => a + b, 0)).toBe(markov.rows_read);
    // Thresholds as the recipe applies them; fineweb is not in the demo recipe: its defaults, flagged.
    expect(q.word_count.threshold).toEqual({ min: 50, max: 100000, from: 'recipe' });
    expect(q.dup_5gram_char_frac.threshold).toEqual({ max: 0.15, from: 'recipe' });
    expect(q.punct_line_ratio.threshold).toEqual({ min: 0.12, from: 'default' });
    expect(Object.keys(q)).toHaveLength(11);
    // The report is written with the run and shows the regurgitation count.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(`<strong>${removedDup}</strong> synthetic copies of real rows`);
    expect(html).not.toMatch(/(src|href)="https?:/);
    // No temporaries: the only hidden entry is curate's output marker.
    expect(readdirSync(join(out)).filter((f) => f.startsWith('.'))).toEqual(['.curate-output']);
  });

  it('is byte-identical across runs and worker counts', async () => {
    const a = join(tempDir(), 'a');
    const b = join(tempDir(), 'b');
    await runRecipeFile(DEMO, { out: a, workers: 1 });
    await runRecipeFile(DEMO, { out: b, workers: 2 });
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(0);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k])).toBe(true);
    const ma = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as Manifest;
    const mb = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8')) as Manifest;
    expect(mb.output.shards).toEqual(ma.output.shards);
    expect(mb.sources).toEqual(ma.sources);
    expect(ma.quality_signals?.word_count.sampled.real).toBeGreaterThan(0);
    expect(mb.quality_signals).toEqual(ma.quality_signals);
  });

  it('refuses an existing output directory unless overwrite, and a dry run writes nothing', async () => {
    const out = join(tempDir(), 'o');
    await runRecipeFile(DEMO, { out });
    await expect(runRecipeFile(DEMO, { out })).rejects.toMatchObject({ code: 'E_OUTPUT_EXISTS' });
    await expect(runRecipeFile(DEMO, { out, overwrite: true })).resolves.toBeTruthy();
    const dry = join(tempDir(), 'dry');
    const r = await runRecipeFile(DEMO, { out: dry, dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.plan.budget).toBe(50000);
    expect(existsSync(dry)).toBe(false);
  });

  it('a run killed with SIGKILL halfway leaves nothing that looks complete; a rerun gives the uninterrupted result', async () => {
    const base = tempDir();
    const ref = join(base, 'ref');
    await runRecipeFile(DEMO, { out: ref });
    const out = join(base, 'killed');
    const child = spawn(process.execPath, [BIN, 'mix', DEMO, '--out', out, '--workers', '1'], { stdio: 'ignore' });
    // Wait until pass 2 has begun (the write stage's scatter units exist in the work dir), then kill.
    const killedAt = await new Promise<string>((resolve, reject) => {
      const t0 = Date.now();
      const writes = join(base, '.curate-work', 'write');
      const poll = setInterval(() => {
        const tmp = readdirSync(base).find((f) => f.startsWith('.killed.tmp-'));
        const key = existsSync(writes) ? readdirSync(writes)[0] : undefined;
        if (tmp && key && existsSync(join(writes, key, 'scatter'))) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve(tmp);
        } else if (Date.now() - t0 > 60000) {
          clearInterval(poll);
          child.kill('SIGKILL');
          reject(new Error('the run never reached pass 2'));
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve('exited');
      });
    });
    await new Promise((r) => child.once('exit', r).once('close', r) && setTimeout(r, 200));
    expect(killedAt).not.toBe('exited');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    // Rerun: stale temporaries of the dead run are removed, and the result equals the reference.
    await runRecipeFile(DEMO, { out });
    expect(readdirSync(base).filter((f) => f.startsWith('.killed'))).toEqual([]);
    const hr = shardBytes(ref);
    const hk = shardBytes(out);
    expect(Object.keys(hk)).toEqual(Object.keys(hr));
    for (const k of Object.keys(hr)) expect(hk[k].equals(hr[k])).toBe(true);
  });
});
