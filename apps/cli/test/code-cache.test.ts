import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

// The bundle (dist/bundle, what bin/curate.js runs) is CommonJS loaded from V8's code cache, written
// at build time by a warm-up run (scripts/bundle.mjs, scripts/code-cache.cjs).
const cli = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(cli, '..', '..');
const bin = join(cli, 'bin', 'curate.js');
const bundle = join(cli, 'dist', 'bundle');

function node(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
}

function shardFiles(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const sub of ['', 'rejected']) {
    for (const f of readdirSync(join(dir, sub))) {
      if (f.endsWith('.parquet')) out[join(sub, f)] = readFileSync(join(dir, sub, f));
    }
  }
  return out;
}

const statsLine = /^code cache: (\d+) of (\d+) files, (\d+) rejected$/m;

describe('the bundle loads from the code cache the build wrote', () => {
  it('every file the main thread loads comes from the cache, none rejected, and the run writes the bytes of a run without it', () => {
    const dir = tempDir();
    const recipe = join(root, 'fixtures', 'recipes', 'demo.yaml');
    const args = (out: string) => [bin, 'mix', recipe, '--out', out, '--no-work', '--workers', '2', '--no-progress'];
    const cached = node(args(join(dir, 'a')), { CURATE_CODE_CACHE: 'stats' });
    expect(cached.status, cached.stderr).toBe(0);
    const m = statsLine.exec(cached.stderr);
    expect(m, cached.stderr).not.toBeNull();
    const [, used, files, rejected] = (m as RegExpExecArray).map(Number);
    expect(files).toBeGreaterThan(20);
    expect(used).toBe(files);
    expect(rejected).toBe(0);
    const plain = node(args(join(dir, 'b')), { CURATE_CODE_CACHE: 'off' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).not.toMatch(statsLine);
    const a = shardFiles(join(dir, 'a'));
    const b = shardFiles(join(dir, 'b'));
    expect(Object.keys(a).length).toBeGreaterThan(2);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) expect(b[k].equals(a[k]), k).toBe(true);
  });

  it('a cache made from other source is not used: that file compiles from its source and the command works', () => {
    // a copy of the bundle whose curate.js changed after the build (a comment appended): its cache
    // names the old source's SHA-256, so it is skipped, while every other file still loads from the cache
    const dir = tempDir();
    const copy = join(dir, 'bundle');
    cpSync(bundle, copy, { recursive: true });
    const shim = join(dir, 'run.cjs');
    writeFileSync(
      shim,
      `require(${JSON.stringify(join(copy, 'code-cache.js'))});\nrequire(${JSON.stringify(join(copy, 'curate.js'))});\n`,
    );
    const stats = () => {
      const r = node([shim, 'validate', join(root, 'fixtures', 'recipes', 'demo.yaml')], {
        CURATE_CODE_CACHE: 'stats',
        NODE_PATH: join(root, 'node_modules'), // the copy's dependencies outside the bundle (ajv's runtime)
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/valid/);
      const m = statsLine.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      return (m as RegExpExecArray).slice(1).map(Number);
    };
    const before = stats();
    expect(before[0]).toBeGreaterThan(5);
    writeFileSync(join(copy, 'curate.js'), `${readFileSync(join(copy, 'curate.js'), 'utf8')}\n// edited\n`);
    const [used, files, rejected] = stats();
    expect(files).toBe(before[1]);
    expect(used).toBe(before[0] - 1);
    expect(rejected).toBe(0);
  });
});
