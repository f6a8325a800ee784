import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FILTER_NAMES, RULES } from '../src/index.js';
import { withReference } from '../src/reference.js';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

it('the README reference is generated from the current schema and rules (npm run build)', () => {
  expect(readme).toBe(withReference(readme));
});

it('the reference documents every filter, every rule and every top-level key', () => {
  for (const name of FILTER_NAMES) expect(readme).toContain(`### \`quality[].${name}\``);
  for (const rule of RULES) expect(readme).toContain(`| \`${rule.name}\` `);
  for (const key of [
    'target',
    'target.ratio',
    'sources[]',
    'dedup.near',
    'dedup.decontaminate[]',
    'guards',
    'output',
  ]) {
    expect(readme).toContain(`### \`${key}\``);
  }
  expect(readme).toMatch(/\| `max_epochs` +\| number > 0 +\| `1` +\| Upsampling cap/);
});
