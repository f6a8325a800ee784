/**
 * Write ranks take each other's units (issue 13, stages/claims.ts): a unit is computed by the one
 * process holding its claim; a dead holder's claim is taken over; a rank restarted clears its own;
 * a write rank takes the units of ranks not running (not started, ended, dead) and never those of a
 * running rank; finalize runs in the rank that finds every unit done, and a rank starting while
 * another runs finalize leaves that claim alone; the bytes are the single-process run's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparableManifest } from '../../../tools/test/e2e-recipe.js';
import { type RankStageName, runRecipeFile, runStageFile } from '../dist/index.js';
import { UnitClaims } from '../dist/stages/claims.js';
import { tempDir } from './helpers.js';

const DEMO = resolve(__dirname, '../../../fixtures/recipes/demo.yaml');
const DIST = resolve(__dirname, '../dist/index.js');

let saved: string | undefined;
const children: ChildProcess[] = [];
beforeEach(() => {
  saved = process.env.CURATE_TEST_WRITE_UNIT_ROWS;
});
afterEach(() => {
  if (saved === undefined) delete process.env.CURATE_TEST_WRITE_UNIT_ROWS;
  else process.env.CURATE_TEST_WRITE_UNIT_ROWS = saved;
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A live process of this host (a sleeping child) and a way to end it. */
async function liveProcess(): Promise<{ pid: number; end: () => Promise<void> }> {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return {
    pid: c.pid as number,
    end: () =>
      new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      }),
  };
}

const holder = (rank: number, pid: number, host = hostname()) =>
  `${JSON.stringify({ rank, world_size: 2, host, pid, job: null })}\n`;

describe('unit claims', () => {
  it('one holder per unit; a dead holder is taken over; a restarted rank clears its own; started ranks', async () => {
    delete process.env.SLURM_JOB_ID;
    const base = tempDir();
    const dir = join(base, 'claims');
    const started = join(base, 'ranks');
    const c0 = await UnitClaims.start(dir, started, 0, 2);
    expect(await c0.claim('write-u00001')).toBe(true);
    expect(await c0.claim('write-u00001')).toBe(true); // this process holds it
    const other = await liveProcess();
    writeFileSync(join(dir, 'write-u00002.claim'), holder(1, other.pid));
    writeFileSync(join(started, 'r1-of-2.started.json'), holder(1, other.pid));
    expect(await c0.claim('write-u00002')).toBe(false); // a live process holds it
    expect(await c0.running(1)).toBe(true);
    expect(await c0.running(0)).toBe(true); // itself
    await other.end();
    expect(await c0.running(1)).toBe(false); // started, then died
    expect(await c0.claim('write-u00002')).toBe(true); // taken over
    expect((await c0.holder('write-u00002'))?.pid).toBe(process.pid);
    expect(readdirSync(dir).filter((f) => f.includes('.dead-'))).toEqual([]);
    // a holder on another host, outside Slurm: cannot be checked, so it is left alone
    writeFileSync(join(dir, 'write-u00003.claim'), holder(1, 1, 'elsewhere'));
    expect(await c0.claim('write-u00003')).toBe(false);
    expect(await c0.running(2)).toBe(false); // never started
    // rank 1 restarted: the claims its earlier attempt left are cleared, rank 0's are not
    await UnitClaims.start(dir, started, 1, 2);
    expect(existsSync(join(dir, 'write-u00003.claim'))).toBe(false);
    expect(existsSync(join(dir, 'write-u00001.claim'))).toBe(true);
    expect(JSON.parse(readFileSync(join(started, 'r1-of-2.started.json'), 'utf8')).pid).toBe(process.pid);
  });
});

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

async function until(what: string, ok: () => boolean, seconds = 120): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('write ranks take the units of ranks not running', () => {
  it("never a running rank's; a dead rank's; finalize in the rank completing them; the same bytes", async () => {
    process.env.CURATE_TEST_WRITE_UNIT_ROWS = '20'; // 10 write units: ranks own 0-3, 4-6, 7-9
    const dir = tempDir();
    const single = join(dir, 'single');
    await runRecipeFile(DEMO, { out: single, work: join(dir, 'w1'), workers: 2 });
    const work = join(dir, 'w2');
    const out = join(dir, 'ranked');
    const sizes: [RankStageName, number][] = [
      ['scan', 4],
      ['dedup', 2],
      ['plan', 1],
    ];
    for (const [stage, n] of sizes)
      for (let rank = 0; rank < n; rank++) await runStageFile(DEMO, { stage, rank, worldSize: n }, { work, out });
    // write rank 1 in another process: alone, it does every scatter unit and the rejected rows'
    // unit (rank 0's: the others have not started), then holds after its first write unit (u4)
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { runStageFile } from ${JSON.stringify(DIST)};
         await runStageFile(${JSON.stringify(DEMO)}, { stage: 'write', rank: 1, worldSize: 3 }, { work: ${JSON.stringify(work)}, out: ${JSON.stringify(out)}, andNext: true });`,
      ],
      { env: { ...process.env, CURATE_TEST_PAUSE_AT: 'write:1@1' }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(child);
    const units = () => {
      const w = join(work, 'write');
      if (!existsSync(w)) return [] as string[];
      return readdirSync(w).flatMap((k) =>
        existsSync(join(w, k, 'write')) ? readdirSync(join(w, k, 'write')).filter((f) => /^u\d+\.json$/.test(f)) : [],
      );
    };
    await until('write rank 1 to commit u4', () => units().includes('u00004.json'));
    // rank 0: its own write units and rank 2's (not started); not rank 1's (running)
    const r0 = await runStageFile(DEMO, { stage: 'write', rank: 0, worldSize: 3 }, { work, out, andNext: true });
    expect(r0.complete).toBe(false);
    expect(r0.next).toBeUndefined();
    expect(r0.marker.units?.computed).toEqual({ write: 7 }); // no scatter unit, no rejected rows: rank 1's
    expect(r0.marker.units?.reused).toMatchObject({ rejected: 1 });
    expect(units().sort()).toEqual([0, 1, 2, 3, 4, 7, 8, 9].map((u) => `u0000${u}.json`));
    expect(existsSync(out)).toBe(false);
    // rank 1 dies; it held no claim, but a dead claim on u5 (as if it died computing it) is taken over
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGKILL');
    });
    const key = readdirSync(join(work, 'write'))[0];
    const claims = join(work, 'write', key, 'claims');
    mkdirSync(claims, { recursive: true });
    writeFileSync(
      join(claims, 'write-u00005.claim'),
      holder(1, child.pid as number).replace('"world_size":2', '"world_size":3'),
    );
    // another process runs finalize (its claim, held by a live process): a write rank starting now
    // leaves that claim alone and does not run finalize a second time
    const finalizer = await liveProcess();
    const thenClaim = join(work, 'ranks', readdirSync(join(work, 'ranks'))[0], 'finalize', 'then.claim');
    mkdirSync(join(thenClaim, '..'), { recursive: true });
    writeFileSync(thenClaim, `${JSON.stringify({ rank: 0, host: hostname(), job: null, pid: finalizer.pid })}\n`);
    // rank 2, started late: its units are done; it takes rank 1's u5 and u6
    const r2 = await runStageFile(DEMO, { stage: 'write', rank: 2, worldSize: 3 }, { work, out, andNext: true });
    expect(r2.marker.units?.reused.write).toBe(3);
    expect(r2.marker.units?.computed.write).toBe(2);
    expect(r2.complete).toBe(true);
    expect(r2.next).toBeUndefined();
    expect(existsSync(thenClaim)).toBe(true);
    expect(existsSync(out)).toBe(false);
    // that process died: rank 2 run again clears its claim and runs finalize
    await finalizer.end();
    const again = await runStageFile(DEMO, { stage: 'write', rank: 2, worldSize: 3 }, { work, out, andNext: true });
    expect(again.marker.units?.computed).toEqual({});
    expect(again.next?.stage).toBe('finalize');
    expect(outputFiles(out)).toEqual(outputFiles(single));
    expect(manifestOf(out)).toEqual(manifestOf(single));
    // rank 1 rerun after finalize: nothing left, nothing computed, no unit store left behind
    const r1 = await runStageFile(DEMO, { stage: 'write', rank: 1, worldSize: 3 }, { work, out, andNext: true });
    expect(r1.marker.status).toBe('done');
    expect(r1.marker.units?.computed).toEqual({});
    expect(existsSync(join(work, 'write', key))).toBe(false);
  }, 300_000);
});
