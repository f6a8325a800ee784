/**
 * Exact dedup past its memory budget spills to the work dir's scratch folder (`WORK/tmp`), not the OS
 * temp folder (often a small tmpfs): with TMPDIR pointing nowhere, a mix with a work dir that must
 * spill still succeeds with the bytes of a mix that did not spill, while the same mix without a work
 * dir fails on the temp folder (the control that shows the test can fail). A killed run's scratch is
 * cleared by the next run that takes the lock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'apps', 'cli', 'dist', 'bin.js');
const demo = join(root, 'fixtures', 'recipes', 'demo.yaml');

function mix(out: string, work: string | null, env: Record<string, string> = {}) {
  const args = [bin, 'mix', demo, '--out', out, '--no-progress', '--json'];
  args.push(...(work ? ['--work', work] : ['--no-work']));
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

const shards = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('shard-'))
    .sort()
    .map((f) => readFileSync(join(dir, f)).toString('base64'))
    .join();

describe('exact dedup spill', () => {
  it('goes to WORK/tmp, gives the bytes of an in-memory run, and is cleared after a killed run', () => {
    const dir = tempDir();
    const plain = mix(join(dir, 'a'), join(dir, 'wa'));
    expect(plain.status, plain.stderr).toBe(0);
    const removed = JSON.parse(plain.stdout).dedup.exact.removed;
    expect(removed).toBeGreaterThan(0);

    // 20 documents in memory: the demo's ~500 candidates spill; the OS temp folder does not exist
    const env = { CURATE_TEST_EXACT_MEMORY_ROWS: '20', TMPDIR: join(dir, 'no-such-tmp') };
    const work = join(dir, 'wb');
    mkdirSync(join(work, 'tmp', 'exact-spill-left-by-a-killed-run'), { recursive: true });
    writeFileSync(join(work, 'tmp', 'exact-spill-left-by-a-killed-run', 'p0'), 'stale');
    const spilled = mix(join(dir, 'b'), work, env);
    expect(spilled.status, spilled.stderr).toBe(0);
    expect(JSON.parse(spilled.stdout).dedup.exact.removed).toBe(removed);
    expect(shards(join(dir, 'b'))).toBe(shards(join(dir, 'a')));
    expect(shards(join(dir, 'b', 'rejected'))).toBe(shards(join(dir, 'a', 'rejected')));
    // the stale scratch was cleared when the run took the lock, and the run's own spill removed
    expect(existsSync(join(work, 'tmp'))).toBe(true);
    expect(readdirSync(join(work, 'tmp'))).toEqual([]);

    // control: without a work dir the spill goes to the (missing) OS temp folder and fails, one line
    const control = mix(join(dir, 'c'), null, env);
    expect(control.status).toBe(1);
    expect(control.stderr).toMatch(/exact dedup: cannot use spill file/);
    expect(control.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'c'))).toBe(false);
  });
});
