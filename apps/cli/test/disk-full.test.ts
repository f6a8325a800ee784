/**
 * A disk that really fills up (a small tmpfs, mounted by the test: root, as in CI) while the mix writes
 * its attribute shards, its write units or its output: exit 1, one line naming the file, and nothing that
 * looks complete. Skipped only where mounting is not allowed (a non-root user's machine), never in CI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

const mounts: string[] = [];

/** A tmpfs of `size` at a new directory, or null when this user may not mount. */
function smallDisk(size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'curate-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.CI) throw new Error('CI runs as root: mounting a tmpfs for the disk-full test must work');
    return null;
  }
  mounts.push(dir);
  return dir;
}

function unmountAll() {
  while (mounts.length) {
    const m = mounts.pop() as string;
    execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    rmSync(m, { recursive: true, force: true });
  }
}

const canMount = smallDisk('64k') !== null;
unmountAll();

describe.skipIf(!HAS_SHARED || !canMount)('a full disk during curate mix', () => {
  afterEach(unmountAll);
  const recipe = (dir: string) => {
    const lines = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(dir, 'dolly.jsonl'), `${lines.slice(0, 4000).join('\n')}\n`);
    const p = join(dir, 'r.yaml');
    writeFileSync(
      p,
      `name: full
seed: 1
tokenizer: cl100k_base
target: { documents: 3000, ratio: { real: 1 } }
sources:
  - { name: dolly, kind: real, paths: ["${join(dir, 'dolly.jsonl')}"], text: "{instruction}\\n\\n{response}" }
quality:
  - gopher_quality: { min_words: 3, min_stop_words: 1 }
dedup:
  exact: {}
  near: { threshold: 0.8 }
output: { dir: out, format: parquet, compression: zstd, shard_rows: 500 }
report: false
`,
    );
    return p;
  };

  it.each([
    ['the work dir (attribute shards)', 'work', '256k'],
    ['the output (scatter units, work dir off)', 'out', '512k'],
    ['the output (shards of the write units, work dir off)', 'out', '2300k'],
  ])('on %s: exit 1, one line naming the file, nothing that looks complete', async (_what, where, size) => {
    const dir = tempDir();
    const disk = smallDisk(size) as string;
    const out = where === 'out' ? join(disk, 'out') : join(dir, 'out');
    const args = ['mix', recipe(dir), '--out', out, '--no-progress', '--workers', '2'];
    args.push(...(where === 'work' ? ['--work', join(disk, 'work')] : ['--no-work']));
    const r = await curate(args);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length, r.stderr).toBe(1);
    expect(lines[0]).toMatch(/^error: .*no space left on the device/);
    expect(lines[0]).toContain(disk); // names the file
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect(existsSync(out)).toBe(false);
    // the temporary output is gone too (the disk holds at most the work dir's lock-free state)
    expect(readdirSync(disk).filter((f) => f.startsWith('.out'))).toEqual([]);
  });
});
