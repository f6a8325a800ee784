import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FILTER_NAMES, formatIssue, type RecipeIssue } from '../src/index.js';

/** A temporary directory holding `files` (relative path -> content); `cleanup` removes it. */
export async function tempTree(files: Record<string, string>): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'curate-recipe-'));
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(dir, rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A recipe under construction: tests mutate it freely. */
// biome-ignore lint/suspicious/noExplicitAny: test recipes are deliberately loose
export type Loose = Record<string, any>;

/** A minimal valid recipe (paths are not checked by the tests that use it). */
export function baseRecipe(): Loose {
  return {
    name: 'test-mix',
    sources: [
      { name: 'human', kind: 'real', paths: ['data/real.jsonl'], text: 'text' },
      { name: 'synth', kind: 'synthetic', generator: 'gpt-4', paths: ['data/synth.jsonl'], text: 'text' },
    ],
    output: { dir: 'out' },
  };
}

export const lines = (issues: RecipeIssue[]) => issues.map(formatIssue);

/** Parameters given to the filters that require some (see `withEveryFilterAndDedup`). */
export const GIVEN_FILTER_PARAMS: Record<string, object> = {
  score: { column: 's', min: 1 },
  grounded: { context: 'c' },
  blocklist: { words: ['x'] },
  where: { column: 'lang', in: ['en', 'de'] },
  custom: { module: 'filters/mine.mjs' },
};

/** Give `r` every filter (required parameters filled in, the rest defaulted) and every dedup part. */
export function withEveryFilterAndDedup(r: Loose): void {
  r.dedup = { exact: {}, near: { threshold: 0.9 }, decontaminate: [{ name: 'ev', paths: ['e.jsonl'], text: 'q' }] };
  r.quality = FILTER_NAMES.map((name) => ({ [name]: GIVEN_FILTER_PARAMS[name] ?? {} }));
  r.quality.push({ length: { unit: 'tokens', max: 10 } });
}
