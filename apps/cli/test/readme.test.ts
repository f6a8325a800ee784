/**
 * The README's recipe runs as written (no --allow-shortfall) on the data the repository names
 * (../shared/data), and the figures the README quotes are the ones the run gives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, REPO_ROOT } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const RECIPE = join(REPO_ROOT, 'examples', 'instruct-mix.yaml');

describe('the README recipe', () => {
  it('is examples/instruct-mix.yaml, word for word', () => {
    const at = README.indexOf('This one is\n[examples/instruct-mix.yaml]');
    expect(at).toBeGreaterThan(0);
    const block = /```yaml\n([\s\S]*?)```/.exec(README.slice(at));
    expect(block?.[1]).toBe(readFileSync(RECIPE, 'utf8'));
  });

  it.skipIf(!HAS_SHARED)('runs as written and gives the numbers the README quotes', async () => {
    const out = join(tempDir(), 'mix');
    const r = await curate(['mix', RECIPE, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect(README).toContain(
      `writes ${fmt(m.totals.rows_written)} rows (${fmt(m.totals.tokens_written)} tokens, ${(100 * m.target.achieved_ratio.tokens.real).toFixed(2)}% real)`,
    );
    // within a few documents' tokens of the target (documents are whole: ~100 tokens of 800,000)
    expect(Math.abs(m.target.achieved_ratio.tokens.real - 0.7)).toBeLessThan(0.0005);
    expect(m.target.requested_budget).toBe(m.target.budget); // no shortfall
    expect(m.warnings.map((w: { code: string }) => w.code)).not.toContain('replacement');
    const dolly = m.sources.find((s: { name: string }) => s.name === 'dolly');
    const alpaca = m.sources.find((s: { name: string }) => s.name === 'alpaca-libre');
    const pct = (s: { rows_read: number; rows_available: number }) =>
      `${((100 * (s.rows_read - s.rows_available)) / s.rows_read).toFixed(1)}`;
    expect(README).toContain(`the recipe above drops ${pct(dolly)}% of Dolly`);
    expect(pct(alpaca)).toBe('20.1');
  });
});
