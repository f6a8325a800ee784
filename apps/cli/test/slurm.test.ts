/**
 * The staged mix on a real Slurm cluster (issue 13): `../shared/slurm/local-slurm.sh` runs a
 * one-node cluster here (slurm-wlm + munge; root). The test starts it when it is not up (and stops
 * it again when it started it); it runs in CI (CI=true), and is skipped, with a message, only where
 * `../shared` is absent.
 *   - the e2e recipe as 4 scan, 2 dedup and 3 write ranks (which do the scatter units too) through
 *     `curate mix --slurm`: the single-process run's bytes and manifest;
 *   - `scancel` of a running write rank, then the same submit again: only that rank is resubmitted
 *     (finalize runs in it: `--then`), only its units not done before are computed (counted from the
 *     markers): the other ranks took the units of the rank not started yet, never the running one's;
 *   - a rank submitted without its predecessor's markers fails with one line naming stage and rank,
 *     and `curate status` shows it with the rank's log.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparableManifest, e2eRecipe } from '../../../tools/test/e2e-recipe.js';
import { HAS_SHARED, REPO_ROOT } from '../../../tools/test/shared-data.js';
import { arraySpec, splitArrays } from '../src/slurm.js';

const SLURM_SH = join(REPO_ROOT, '..', 'shared', 'slurm', 'local-slurm.sh');
const HAS_SLURM_SH = existsSync(SLURM_SH);
if (!HAS_SLURM_SH) {
  if (process.env.CI) throw new Error(`${SLURM_SH} not found: CI must run with ../shared beside the checkout`);
  console.warn(`[curate tests] ${SLURM_SH} not found: the Slurm tests are skipped on this machine`);
}
const BIN = resolve(__dirname, '../bin/curate.js');
const DEMO = resolve(__dirname, '../../../fixtures/recipes/demo.yaml');
const dirs: string[] = [];
let startedHere = false;

function slurmUp(): boolean {
  try {
    return execFileSync('scontrol', ['ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('UP');
  } catch {
    return false;
  }
}

beforeAll(() => {
  if (!HAS_SLURM_SH) return;
  if (!slurmUp()) {
    execFileSync('bash', [SLURM_SH, 'start'], { stdio: 'inherit', timeout: 900_000 });
    startedHere = true;
  }
}, 900_000);

afterAll(() => {
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
  if (startedHere && !process.env.CURATE_KEEP_SLURM) execFileSync('bash', [SLURM_SH, 'stop'], { stdio: 'ignore' });
});

function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'curate-slurm-'));
  dirs.push(d);
  return d;
}

function curate(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--no-progress'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Job ids a `curate mix --slurm` printed. */
function jobIds(stdout: string): string[] {
  return [...stdout.matchAll(/job (\d+) \(/g)].map((m) => m[1]);
}

/** squeue's array tasks of these jobs: `id_task` -> state. */
function queue(ids: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!ids.length) return out;
  const r = spawnSync('squeue', ['-h', '-r', '-o', '%i %T', '-j', ids.join(',')], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const [id, st] = line.trim().split(/\s+/);
    if (id && st) out.set(id, st);
  }
  return out;
}

async function until(what: string, ok: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const drained = (ids: string[], seconds = 600) =>
  until(`jobs ${ids.join(',')} to leave the queue`, () => queue(ids).size === 0, seconds);

function outputFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      if (f.isDirectory()) walk(join(d, f.name), `${rel}${f.name}/`);
      else if (!['manifest.json', 'report.html'].includes(f.name))
        out[rel + f.name] = createHash('sha256')
          .update(readFileSync(join(d, f.name)))
          .digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

const manifestOf = (dir: string) => comparableManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
const ranksFlags = ['--scan-ranks', '4', '--dedup-ranks', '2', '--write-ranks', '3'];

describe('array splitting (MaxArraySize)', () => {
  it('ranks split into arrays whose indexes stay below the limit, with their offsets', () => {
    expect(splitArrays([0, 1, 2, 3, 4], 1001)).toEqual([[0, [0, 1, 2, 3, 4]]]);
    expect(splitArrays([1, 3, 1000, 1001, 2500], 1001)).toEqual([
      [0, [1, 3, 1000]],
      [1001, [0]],
      [2002, [498]],
    ]);
    expect(arraySpec([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
  });
});

describe('ranks from the command line, without a scheduler', () => {
  it('a rank without its predecessor: one line naming stage and rank, exit 1, no stack; status shows it', () => {
    const dir = temp();
    const work = join(dir, 'w');
    const r = curate(['mix', DEMO, '--stage', 'write', '--rank', '1', '--world-size', '3', '--work', work]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^error: stage write rank 1 of 3: the plan stage has no completion marker in \S+: run it first/,
    );
    const status = curate(['status', work]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/write\s+3 rank\(s\): 0 done, 0 running, 1 failed, 2 not run/);
    expect(status.stdout).toMatch(/rank 1 failed: stage write rank 1 of 3: the plan stage/);
    const bad = curate(['mix', DEMO, '--stage', 'plan', '--rank', '1', '--world-size', '2', '--work', work]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--stage plan runs as one rank/);
    expect(curate(['mix', DEMO, '--stage', 'scan']).stderr).toMatch(/--stage needs --work DIR/);
  });
});

describe.skipIf(!HAS_SLURM_SH)('on a real one-node Slurm cluster', () => {
  it.skipIf(!HAS_SHARED)(
    'the e2e recipe as 4 scan / 2 dedup / 3 write ranks through sbatch: the single-process bytes',
    async () => {
      const dir = temp();
      const env = { CURATE_TEST_WRITE_UNIT_ROWS: '700' };
      const recipe = join(dir, 'e2e.yaml');
      writeFileSync(recipe, e2eRecipe(join(dir, 'single')));
      const single = curate(['mix', recipe, '--work', join(dir, 'w1'), '--workers', '2'], env);
      expect(single.stderr).not.toMatch(/error/);
      expect(single.code).toBe(0);
      const out = join(dir, 'ranked');
      const work = join(dir, 'w2');
      const sub = curate(['mix', recipe, '--slurm', ...ranksFlags, '--work', work, '--out', out, '--cpus', '1'], env);
      expect(sub.code, sub.stderr).toBe(0);
      const ids = jobIds(sub.stdout);
      // one array per parallel stage (scan, dedup, write: the write ranks do the scatter units),
      // chained; plan and finalize run in the last dedup rank and the write rank that completes the units
      expect(ids.length).toBe(3);
      expect(sub.stdout).not.toMatch(/^scatter:/m);
      expect(sub.stdout).toMatch(/^plan: in the last dedup rank to finish \(no job of its own\)$/m);
      expect(sub.stdout).toMatch(/^finalize: in the last write rank to finish \(no job of its own\)$/m);
      await drained(ids);
      const status = curate(['status', work]);
      expect(status.stdout).toMatch(/scan\s+4 rank\(s\): 4 done, 0 running, 0 failed/);
      expect(status.stdout).toMatch(/finalize\s+1 rank\(s\): 1 done/);
      expect(outputFiles(out)).toEqual(outputFiles(join(dir, 'single')));
      expect(manifestOf(out)).toEqual(manifestOf(join(dir, 'single')));
      // a second submit finds every rank done
      expect(curate(['mix', recipe, '--slurm', ...ranksFlags, '--work', work, '--out', out], env).stdout).toMatch(
        /nothing to submit/,
      );
    },
    900_000,
  );

  it('scancel of a running write rank, then the same submit: only its units are redone, same bytes', async () => {
    const dir = temp();
    const env = { CURATE_TEST_WRITE_UNIT_ROWS: '20' }; // 10 write units: ranks own 0-3, 4-6, 7-9
    const single = join(dir, 'single');
    expect(curate(['mix', DEMO, '--out', single, '--work', join(dir, 'w1')], env).code).toBe(0);
    const out = join(dir, 'ranked');
    const work = join(dir, 'w2');
    const args = ['mix', DEMO, '--slurm', ...ranksFlags, '--work', work, '--out', out];
    // rank 1 of the write stage holds after its first unit (a test seam) until it is cancelled
    const sub = curate(args, { ...env, CURATE_TEST_PAUSE_AT: 'write:1@1' });
    expect(sub.code, sub.stderr).toBe(0);
    const ids = jobIds(sub.stdout);
    const writeJob = /write: job (\d+)/.exec(sub.stdout)?.[1] as string;
    const unitMarkers = () => {
      const w = join(work, 'write');
      if (!existsSync(w)) return [];
      return readdirSync(w).flatMap((k) =>
        existsSync(join(w, k, 'write'))
          ? readdirSync(join(w, k, 'write'))
              .filter((f) => /^u\d+\.json$/.test(f))
              .map((f) => join(w, k, 'write', f))
          : [],
      );
    };
    const done = (u: number) => unitMarkers().some((p) => p.endsWith(`u0000${u}.json`));
    await until(
      'write rank 1 to commit its first unit',
      () => queue([writeJob]).get(`${writeJob}_1`) === 'RUNNING' && done(4),
      600,
    );
    // every other write rank finishes (rank 0 takes the units of rank 2, not started yet, and
    // rank 2 finds them done); rank 1 is held, and its units are left to it while it runs
    const rankDone = (k: number) => {
      const ranks = join(work, 'ranks');
      return existsSync(ranks) && existsSync(join(ranks, readdirSync(ranks)[0], 'write', `r${k}-of-3.json`));
    };
    await until('write ranks 0 and 2', () => rankDone(0) && rankDone(2) && [0, 1, 2, 3, 7, 8, 9].every(done), 300);
    expect(done(5) || done(6)).toBe(false);
    expect(execFileSync('scancel', [`${writeJob}_1`]).toString()).toBe('');
    await drained(ids, 120); // finalize (the last write rank's) never ran
    const status = curate(['status', work]);
    expect(status.stdout).toMatch(/write\s+3 rank\(s\): 2 done, 0 running, 1 failed/);
    expect(status.stdout).toMatch(
      /rank 1 failed: job \d+_1 left the queue without a completion marker .*\(log: \S+write-r1\.log\)/,
    );
    const before = new Map(unitMarkers().map((p) => [p, statSync(p).mtimeMs]));
    expect([...before.keys()].length).toBe(8); // 4 + 1 + 3: rank 1 did one of its three
    const again = curate(args, env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/^(scan|dedup|plan|scatter):/m);
    expect(again.stdout).toMatch(/^write: job \d+ \(ranks 1 of 3\)/m);
    expect(again.stdout).toMatch(/^finalize: in the last write rank to finish/m);
    const afterIds = jobIds(again.stdout);
    // before finalize removes the units: count what the redone rank computed from the markers
    const rankMarker = () => {
      const ranks = join(work, 'ranks');
      const run = readdirSync(ranks)[0];
      const p = join(ranks, run, 'write', 'r1-of-3.json');
      return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null;
    };
    await drained(afterIds);
    const m = rankMarker();
    expect(m.status).toBe('done');
    expect(m.units.computed.write).toBe(2);
    expect(m.units.reused.write).toBe(1);
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
    // the other ranks' markers were not rewritten: their units are not redone
    const other = JSON.parse(
      readFileSync(join(work, 'ranks', readdirSync(join(work, 'ranks'))[0], 'write', 'r0-of-3.json'), 'utf8'),
    );
    expect(other.job).toMatch(new RegExp(`^${writeJob}_0$`));
  }, 900_000);

  it('a one-rank stage the last rank did not run (write done, finalize not) is submitted alone', async () => {
    const dir = temp();
    const env = { CURATE_TEST_WRITE_UNIT_ROWS: '23' };
    const single = join(dir, 'single');
    expect(curate(['mix', DEMO, '--out', single, '--work', join(dir, 'w1')], env).code).toBe(0);
    const out = join(dir, 'ranked');
    const work = join(dir, 'w2');
    // every stage but finalize by hand, without --then (as a shell loop that stopped before it)
    const sizes: [string, number][] = [
      ['scan', 4],
      ['dedup', 2],
      ['plan', 1],
      ['scatter', 3],
      ['write', 3],
    ];
    for (const [stage, n] of sizes)
      for (let r = 0; r < n; r++) {
        const res = curate(
          ['mix', DEMO, '--stage', stage, '--rank', String(r), '--world-size', String(n), '--work', work, '--out', out],
          env,
        );
        expect(res.code, res.stderr).toBe(0);
      }
    const sub = curate(['mix', DEMO, '--slurm', ...ranksFlags, '--work', work, '--out', out], env);
    expect(sub.code, sub.stderr).toBe(0);
    // finalize alone, as its own job (no stage before it is left to run it)
    expect(sub.stdout.split('\n')[0]).toMatch(/^finalize: job \d+ \(ranks 0 of 1\)$/);
    expect(sub.stdout).not.toMatch(/^(scan|dedup|plan|scatter|write):/m);
    await drained(jobIds(sub.stdout), 120);
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
  }, 300_000);

  it("a rank submitted without its predecessor's markers fails with one line naming stage and rank; status shows it", async () => {
    const dir = temp();
    const work = join(dir, 'w');
    const sub = curate(['mix', DEMO, '--slurm', ...ranksFlags, '--work', work, '--out', join(dir, 'out')]);
    expect(sub.code, sub.stderr).toBe(0);
    const ids = jobIds(sub.stdout);
    execFileSync('scancel', ids); // nothing gets past the scan
    await drained(ids, 120);
    const run = readdirSync(join(work, 'slurm'))[0];
    const script = join(work, 'slurm', run, 'write.sbatch');
    const id = execFileSync('sbatch', ['--parsable', '--array=1', script, '0'], { encoding: 'utf8' }).trim();
    await drained([id], 120);
    const log = readFileSync(join(work, 'slurm', run, 'logs', 'write-r1.log'), 'utf8');
    const lines = log.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(
      /^error: stage write rank 1 of 3: the plan stage has no completion marker in \S+: run it first \(the work dir \S+ must be on storage every rank sees\)$/,
    );
    expect(log).not.toMatch(/\n\s+at /); // no stack trace
    const status = curate(['status', work]);
    expect(status.stdout).toMatch(
      /rank 1 failed: stage write rank 1 of 3: the plan stage has no completion marker .*\(log: \S+write-r1\.log\)/,
    );
  }, 300_000);
});
