/**
 * The packages as npm ships them: `npm pack` every workspace, check what each tarball holds
 * (dist, exports, bin, READMEs that only point at shipped files, examples that stay inside the
 * package), install the tarballs into a fresh project outside the repository, type-check a small
 * program against them under `tsc --strict` and run it, then run the installed `curate` bin.
 * Needs the npm registry for the third-party dependencies (CI has it); set CURATE_SKIP_PACK_TEST=1
 * to skip on a machine without it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../tools/test/shared-data.js';

const SKIP = Boolean(process.env.CURATE_SKIP_PACK_TEST);
const work = mkdtempSync(join(tmpdir(), 'curate-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Packed {
  name: string;
  version: string;
  filename: string;
  files: { path: string }[];
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    maxBuffer: 64 << 20,
  });
}

/** Every string an `exports` map points at. */
function exportTargets(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v && typeof v === 'object') return Object.values(v).flatMap(exportTargets);
  return [];
}

/** Relative Markdown links and backticked `src/...` paths of a README. */
function readmeRefs(text: string): string[] {
  const refs: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) if (!/^[a-z]+:/i.test(m[1])) refs.push(m[1]);
  for (const m of text.matchAll(/`((?:src|dist|bin|examples)\/[^`\s]*)`/g)) refs.push(m[1]);
  return refs.map((r) => posix.normalize(r.replace(/^\.\//, '')));
}

describe.skipIf(SKIP)('npm packages', () => {
  let packed: Packed[] = [];
  const tarballs = join(work, 'tarballs');

  it('every workspace packs with dist, its exports, its bin, and READMEs and examples that stay inside', () => {
    mkdirSync(tarballs);
    packed = JSON.parse(npm(['pack', '--workspaces', '--json', '--pack-destination', tarballs], REPO_ROOT));
    const names = packed.map((p) => p.name).sort();
    expect(names).toContain('curate');
    expect(names.length).toBeGreaterThanOrEqual(10);
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(root.private).toBe(true);
    for (const p of packed) {
      const dir = join(REPO_ROOT, p.name === 'curate' ? 'apps/cli' : `packages/${p.name.replace('@curate/', '')}`);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg.private, p.name).toBeUndefined();
      expect(pkg.publishConfig?.access, p.name).toBe('public');
      const files = new Set(p.files.map((f) => f.path));
      const has = (path: string) =>
        files.has(path) || [...files].some((f) => f.startsWith(`${path.replace(/\/$/, '')}/`));
      expect(has('dist/index.js') || has('dist/main.js'), `${p.name}: dist`).toBe(true);
      expect(has('README.md'), `${p.name}: README`).toBe(true);
      for (const t of exportTargets(pkg.exports)) expect(has(posix.normalize(t)), `${p.name}: export ${t}`).toBe(true);
      for (const t of Object.values(pkg.bin ?? {}) as string[])
        expect(has(posix.normalize(t)), `${p.name}: bin ${t}`).toBe(true);
      // READMEs point only at shipped files
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      for (const ref of readmeRefs(readme)) expect(has(ref), `${p.name}: README refers to ${ref}`).toBe(true);
      // shipped recipes and data paths do not leave the package
      for (const f of files) {
        if (!/\.(ya?ml|json)$/.test(f) || f === 'package.json' || f.endsWith('.map')) continue;
        const text = readFileSync(join(dir, f), 'utf8');
        for (const m of text.matchAll(/(?:\.\.\/)+[^\s"',\]]*/g)) {
          const target = normalize(join(dirname(f), m[0]));
          expect(target.startsWith('..'), `${p.name}: ${f} points outside the package: ${m[0]}`).toBe(false);
        }
      }
    }
  });

  it('installs into a fresh project outside the repository; a TypeScript program type-checks under --strict and runs; the curate bin works', () => {
    expect(packed.length).toBeGreaterThan(0);
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', ...packed.map((p) => join(tarballs, p.filename)), '@types/node@^20'], app);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          types: ['node'],
        },
        files: ['main.ts'],
      }),
    );
    writeFileSync(
      join(app, 'docs.jsonl'),
      `${Array.from({ length: 200 }, (_, i) =>
        JSON.stringify({
          text: `Document ${i} talks about rivers, stones and ${i % 7} gardens. It has a second sentence. And a third one ${i}.`,
          kind: i % 4 === 0 ? 'synthetic' : 'real',
        }),
      ).join('\n')}\n`,
    );
    writeFileSync(
      join(app, 'recipe.yaml'),
      `name: packed
seed: 1
tokenizer: words
target: { documents: 100, ratio: { real: 0.7, synthetic: 0.3 } }
sources:
  - { name: human, kind: real, paths: [docs.jsonl], text: text }
  - { name: synth, kind: synthetic, generator: m1, paths: [docs.jsonl], text: "{text} (v2)" }
quality: [{ length: { unit: words, min: 3 } }]
dedup: { exact: {} }
output: { dir: out, format: jsonl }
report: false
`,
    );
    writeFileSync(
      join(app, 'main.ts'),
      `import { type Batch, Rng } from '@curate/core';
import { exactKey } from '@curate/dedup';
import { CorpusMetrics } from '@curate/metrics';
import { planMix } from '@curate/mix';
import { runRecipeFile, type RunResult } from '@curate/pipeline';
import { createFilter } from '@curate/quality';
import { loadRecipe, type Recipe } from '@curate/recipe';
import { readShards } from '@curate/shards';

let rows = 0;
for await (const b of readShards(['docs.jsonl'])) {
  const batch: Batch = b;
  rows += batch.length;
}
const { recipe }: { recipe: Recipe } = await loadRecipe('recipe.yaml');
const result: RunResult = await runRecipeFile('recipe.yaml', { out: 'lib-out', workers: 2 });
const m = new CorpusMetrics();
m.add('one two three');
console.log(
  JSON.stringify({
    rows,
    sources: recipe.sources.length,
    written: result.manifest.totals.rows_written,
    rng: typeof new Rng(1).float(),
    key: typeof exactKey('A b'),
    filter: typeof createFilter,
    plan: typeof planMix,
  }),
);
`,
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      throw new Error(`tsc --strict failed:\n${(e as { stdout?: string }).stdout ?? e}`);
    }
    const out = JSON.parse(execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' }));
    expect(out).toEqual({
      rows: 200,
      sources: 2,
      written: 100,
      rng: 'number',
      key: 'string',
      filter: 'function',
      plan: 'function',
    });

    const bin = join(app, 'node_modules', '.bin', 'curate');
    const version = execFileSync(bin, ['--version'], { cwd: app, encoding: 'utf8' }).trim();
    expect(version).toBe(packed.find((p) => p.name === 'curate')?.version);
    execFileSync(bin, ['validate', 'recipe.yaml'], { cwd: app, encoding: 'utf8' });
    const mix = JSON.parse(
      execFileSync(bin, ['mix', 'recipe.yaml', '--workers', '2', '--json'], { cwd: app, encoding: 'utf8' }),
    );
    expect(mix.totals.rows_written).toBe(100);
  });
});
