/**
 * Output directories: what `--overwrite` may replace, what is never replaced, and
 * recovery after a run killed in the middle of a replacement.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  abortOpenOutputs,
  inputReadingOutput,
  OUTPUT_MARKER,
  prepareOutputDir,
  recoverOutputDir,
} from '../src/index.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();

/** Every file under `dir` with its bytes (to prove nothing was touched). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (sub: string) => {
    for (const e of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = join(sub, e.name);
      if (e.isSymbolicLink()) out[rel] = 'symlink';
      else if (e.isDirectory()) await walk(rel);
      else out[rel] = await readFile(join(dir, rel), 'base64');
    }
  };
  await walk('');
  return out;
}

/** A previous curate output in `dir` (what `prepareOutputDir` + commit leaves). */
async function previousOutput(dir: string, cwd: string): Promise<void> {
  const o = await prepareOutputDir(dir, { cwd });
  await writeFile(join(o.tmpDir, 'shard-00000-of-00001.jsonl'), '{"text":"old"}\n');
  await mkdir(join(o.tmpDir, 'rejected'));
  await writeFile(join(o.tmpDir, 'rejected', 'shard-00000-of-00001.jsonl'), '{"text":"x","reason":"r"}\n');
  await writeFile(join(o.tmpDir, 'manifest.json'), '{}\n');
  await o.commit();
}

/** The marker's contents, parsed. */
async function marker(dir: string): Promise<unknown> {
  return JSON.parse(await readFile(join(dir, OUTPUT_MARKER), 'utf8'));
}

/** A pid that is certainly not running (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

let home: string | undefined;
beforeEach(() => {
  home = process.env.HOME;
});
afterEach(() => {
  process.env.HOME = home;
});

describe('what --overwrite may replace', () => {
  it('replaces a previous curate output and writes the marker into every new output', async () => {
    const root = await tmp();
    const out = join(root, 'out');
    await previousOutput(out, root);
    expect(await marker(out)).toMatchObject({ tool: 'curate' });
    const o = await prepareOutputDir(out, { overwrite: true, cwd: root, command: 'test' });
    await writeFile(join(o.tmpDir, 'shard-00000-of-00001.jsonl'), '{"text":"new"}\n');
    await o.commit();
    expect((await readdir(out)).sort()).toEqual([OUTPUT_MARKER, 'shard-00000-of-00001.jsonl']);
    expect(await readFile(join(out, 'shard-00000-of-00001.jsonl'), 'utf8')).toBe('{"text":"new"}\n');
    expect(await marker(out)).toMatchObject({ tool: 'curate', command: 'test' });
    expect((await readdir(root)).sort()).toEqual(['out']);
  });

  it('uses an existing empty directory, with or without --overwrite', async () => {
    const root = await tmp();
    for (const overwrite of [false, true]) {
      const out = join(root, `empty-${overwrite}`);
      await mkdir(out);
      const o = await prepareOutputDir(out, { overwrite, cwd: root });
      await o.commit();
      expect(await readdir(out)).toEqual([OUTPUT_MARKER]);
    }
  });

  it('accepts an output of an earlier curate version by its manifest (tool: curate)', async () => {
    const root = await tmp();
    const out = join(root, 'old');
    await mkdir(out);
    await writeFile(join(out, 'manifest.json'), JSON.stringify({ tool: { name: 'curate', version: '0.0.1' } }));
    await writeFile(join(out, 'shard-00000-of-00001.parquet'), 'x');
    await writeFile(join(out, 'report.html'), 'x');
    const o = await prepareOutputDir(out, { overwrite: true, cwd: root });
    await o.commit();
    expect(await readdir(out)).toEqual([OUTPUT_MARKER]);
  });

  it('refuses a directory curate did not write, naming its first entries, and touches nothing', async () => {
    const root = await tmp();
    const out = join(root, 'data');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'mine');
    await writeFile(join(out, 'shard-00000-of-00001.jsonl'), 'looks like a shard');
    const before = await snapshot(root);
    const err = await rejection(prepareOutputDir(out, { overwrite: true, cwd: root }));
    expect(err.code).toBe('E_OUTPUT_FOREIGN');
    expect(err.message).toContain('not a curate output');
    expect(err.message).toContain('notes.txt');
    expect(err.message).not.toContain('\n');
    expect(await snapshot(root)).toEqual(before);
  });

  it('refuses a curate output holding a foreign file (also inside rejected/)', async () => {
    const root = await tmp();
    for (const [i, foreign] of ['analysis.ipynb', 'rejected/mine.txt', 'extra/'].entries()) {
      const out = join(root, `out${i}`);
      await previousOutput(out, root);
      if (foreign.endsWith('/')) await mkdir(join(out, foreign));
      else await writeFile(join(out, foreign), 'mine');
      const before = await snapshot(root);
      const err = await rejection(prepareOutputDir(out, { overwrite: true, cwd: root }));
      expect(err.code, foreign).toBe('E_OUTPUT_FOREIGN');
      expect(err.message, foreign).toContain(`curate did not write: ${foreign}`);
      expect(await snapshot(root)).toEqual(before);
    }
  });

  it('still refuses a non-empty directory without --overwrite (E_OUTPUT_EXISTS) and a file (E_OUTPUT_IS_FILE)', async () => {
    const root = await tmp();
    await previousOutput(join(root, 'out'), root);
    expect((await rejection(prepareOutputDir(join(root, 'out'), { cwd: root }))).code).toBe('E_OUTPUT_EXISTS');
    await writeFile(join(root, 'f'), 'x');
    expect((await rejection(prepareOutputDir(join(root, 'f'), { cwd: root, overwrite: true }))).code).toBe(
      'E_OUTPUT_IS_FILE',
    );
  });
});

describe('what is never replaced', () => {
  it('the working directory, a parent of it, the home directory and /', async () => {
    const root = await tmp();
    const cwd = join(root, 'project');
    await mkdir(cwd);
    process.env.HOME = join(root, 'home');
    await mkdir(process.env.HOME);
    const cases: [string, string][] = [
      ['.', 'it is the working directory'],
      [cwd, 'it is the working directory'],
      ['..', 'it contains the working directory'],
      [process.env.HOME, 'it is the home directory'],
      ['/', 'it is the root directory'],
    ];
    for (const [dir, why] of cases) {
      const err = await rejection(prepareOutputDir(dir, { cwd, overwrite: true }));
      expect(err.code, dir).toBe('E_OUTPUT_PROTECTED');
      expect(err.message, dir).toContain(why);
    }
    // even empty and without --overwrite: renaming over the working directory would strand the shell
    expect((await rejection(prepareOutputDir('.', { cwd }))).code).toBe('E_OUTPUT_PROTECTED');
    expect(await readdir(root)).toEqual(['home', 'project']);
  });

  it('a directory holding (at any depth) an input, an eval set, the recipe or a work dir, or a link to one', async () => {
    const root = await tmp();
    await mkdir(join(root, 'data', 'deep'), { recursive: true });
    await writeFile(join(root, 'data', 'deep', 'in.jsonl'), '{"text":"a"}\n');
    await writeFile(join(root, 'data', 'gsm8k.jsonl'), '{"question":"q"}\n');
    await writeFile(join(root, 'data', 'r.yaml'), 'name: r\n');
    await mkdir(join(root, 'data', 'work'));
    await writeFile(join(root, 'data', 'OUT-marker'), '');
    await writeFile(join(root, 'data', OUTPUT_MARKER), '{}');
    await symlink(join(root, 'data'), join(root, 'link'));
    const cases: [string, { path: string; role: string }, string][] = [
      ['data', { path: 'data/deep/in.jsonl', role: 'input file' }, 'it contains the input file data/deep/in.jsonl'],
      ['data', { path: join(root, 'data', 'gsm8k.jsonl'), role: 'eval set' }, 'it contains the eval set'],
      ['data', { path: 'data/r.yaml', role: 'recipe' }, 'it contains the recipe data/r.yaml'],
      ['data/work', { path: 'data/work', role: 'work dir' }, 'it is the work dir data/work'],
      ['link', { path: 'data/deep/in.jsonl', role: 'input file' }, 'it contains the input file'],
      ['data', { path: 'link/deep/in.jsonl', role: 'input file' }, 'it contains the input file link/deep/in.jsonl'],
    ];
    const before = await snapshot(root);
    for (const [dir, p, why] of cases) {
      // the marker makes `data` look like a curate output: the protection rules still win
      const err = await rejection(prepareOutputDir(dir, { cwd: root, overwrite: true, protect: [p] }));
      expect(err.code, `${dir} ${p.path}`).toBe('E_OUTPUT_PROTECTED');
      expect(err.message, `${dir} ${p.path}`).toContain(why);
    }
    expect(await snapshot(root)).toEqual(before);
    // a plain string is an input file
    const err = await rejection(prepareOutputDir('data', { cwd: root, protect: ['data/deep/in.jsonl'] }));
    expect(err.message).toContain('input file');
  });
});

describe('crash-safe replacement', () => {
  it('puts back an old output a killed run had moved aside, and removes temporaries of dead runs', async () => {
    const root = await tmp();
    const out = join(root, 'out');
    await previousOutput(out, root);
    const old = await snapshot(out);
    const pid = deadPid();
    // killed between "old aside" and "new in": only the old (complete) and the new temp remain
    await import('node:fs/promises').then((fs) => fs.rename(out, join(root, `.out.old-${pid}-aa`)));
    await mkdir(join(root, `.out.tmp-${pid}-aa`));
    await writeFile(join(root, `.out.tmp-${pid}-aa`, 'shard-00000-of-00001.jsonl'), 'new');
    // a live run's temporaries are not touched
    await mkdir(join(root, `.out.tmp-${process.pid}-bb`));
    const r = await recoverOutputDir(out);
    expect(r.restored).toBe(true);
    expect(await snapshot(out)).toEqual(old);
    expect((await readdir(root)).sort()).toEqual([`.out.tmp-${process.pid}-bb`, 'out']);
  });

  it('a killed run after "new in" leaves the new output and an old temp the next run removes', async () => {
    const root = await tmp();
    const out = join(root, 'out');
    await previousOutput(out, root);
    const pid = deadPid();
    await mkdir(join(root, `.out.old-${pid}-cc`));
    const o = await prepareOutputDir(out, { cwd: root, overwrite: true });
    expect(existsSync(join(root, `.out.old-${pid}-cc`))).toBe(false);
    await o.abort();
  });

  it('abortOpenOutputs removes the temporary directories of open outputs (for signal handlers)', async () => {
    const root = await tmp();
    const a = await prepareOutputDir(join(root, 'a'), { cwd: root });
    const b = await prepareOutputDir(join(root, 'b'), { cwd: root });
    await b.commit();
    expect(abortOpenOutputs()).toEqual([a.tmpDir]);
    expect((await readdir(root)).sort()).toEqual(['b']);
  });
});

describe('paths', () => {
  it('finalShards and finalPath move paths from the temporary name to the final directory', async () => {
    const root = await tmp();
    const o = await prepareOutputDir(join(root, 'out'), { cwd: root });
    const shard = { path: join(o.tmpDir, 'shard-00000-of-00001.jsonl'), rows: 1 };
    const rej = { path: join(o.tmpDir, 'rejected', 'shard-00000-of-00001.jsonl'), rows: 2 };
    expect(o.finalShards({ kept: [shard], rejected: [rej] })).toEqual({
      kept: [{ path: join(root, 'out', 'shard-00000-of-00001.jsonl'), rows: 1 }],
      rejected: [{ path: join(root, 'out', 'rejected', 'shard-00000-of-00001.jsonl'), rows: 2 }],
    });
    expect(o.finalPath('/elsewhere/x')).toBe('/elsewhere/x');
    await o.abort();
  });

  it('inputReadingOutput finds the input pattern that would read the output back', async () => {
    const root = await tmp();
    await mkdir(join(root, 'data', 'sub'), { recursive: true });
    await writeFile(join(root, 'data', 'a.jsonl'), '{}\n');
    const cwd = root;
    expect(await inputReadingOutput(['data/**/*.jsonl'], 'data/dedup', '.jsonl', { cwd })).toBe('data/**/*.jsonl');
    expect(await inputReadingOutput(['data/*.jsonl'], 'data/dedup', '.jsonl', { cwd })).toBeUndefined();
    expect(await inputReadingOutput(['data/**/*.parquet'], 'data/dedup', '.jsonl', { cwd })).toBeUndefined();
    expect(await inputReadingOutput(['data/**/*.parquet'], 'data/dedup', ['.jsonl', '.parquet'], { cwd })).toBe(
      'data/**/*.parquet',
    );
    expect(await inputReadingOutput(['data'], 'data/sub/o', '.jsonl', { cwd })).toBe('data');
    expect(await inputReadingOutput(['data/a.jsonl'], 'data/o', '.jsonl', { cwd })).toBeUndefined();
    expect(await inputReadingOutput(['./data/**/*.jsonl'], join(root, 'data', 'o'), '.jsonl', { cwd })).toBe(
      './data/**/*.jsonl',
    );
  });
});
