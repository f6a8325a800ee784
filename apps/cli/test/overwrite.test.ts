/**
 * Data safety of output directories, as a user meets it: `--overwrite` never deletes
 * what curate did not write (inputs, recipe, eval sets, unrelated files, the working
 * directory), replacement survives SIGKILL at every step, refused or interrupted
 * commands leave nothing behind, summaries name final paths. The CLI runs as a real
 * process in a temporary project folder (its working directory matters here).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dedupFiles } from '@curate/dedup';
import { runRecipeFile } from '@curate/pipeline';
import { filterFiles } from '@curate/quality';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const BIN = resolve(import.meta.dirname, '../bin/curate.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function curateIn(cwd: string, args: string[], env: Record<string, string> = {}): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir` (relative path -> bytes as base64), to prove nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = join(sub, e.name);
      if (e.isDirectory()) walk(rel);
      else out[rel] = readFileSync(join(dir, rel), 'base64');
    }
  };
  walk('');
  return out;
}

const ROWS = ['the quick brown fox jumps over the lazy dog', 'a second row of ordinary english text here'];

/**
 * A project tree: an unrelated file, `data/in.jsonl` (input), `evals/ev.jsonl` (eval set),
 * `sub/r.yaml` (recipe reading the input, decontaminating against the eval set).
 */
function project(): string {
  const root = tempDir();
  const p = join(root, 'proj');
  mkdirSync(join(p, 'data'), { recursive: true });
  mkdirSync(join(p, 'evals'));
  mkdirSync(join(p, 'sub'));
  writeFileSync(join(p, 'unrelated.txt'), 'my notes\n');
  writeFileSync(join(p, 'data', 'in.jsonl'), ROWS.map((t) => `${JSON.stringify({ text: t })}\n`).join(''));
  writeFileSync(join(p, 'evals', 'ev.jsonl'), `${JSON.stringify({ question: 'what is the capital of peru' })}\n`);
  writeFileSync(
    join(p, 'sub', 'r.yaml'),
    [
      'name: t',
      'seed: 1',
      'tokenizer: words',
      'sources:',
      '  - { name: a, kind: real, paths: [../data/in.jsonl], text: text }',
      'dedup:',
      '  decontaminate: [{ name: ev, paths: [../evals/ev.jsonl], text: question }]',
      'output: { dir: ../out, format: jsonl }',
      '',
    ].join('\n'),
  );
  return p;
}

function expectRefusal(r: Result, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('--overwrite refuses what curate did not write (exit 2, one line, every file untouched)', () => {
  it('the issue: mix --out . from a project folder, convert into a folder with a foreign file, dedup into its input folder', () => {
    const p = project();
    const before = snapshot(p);
    expectRefusal(curateIn(p, ['mix', 'sub/r.yaml', '--out', '.', '--overwrite']), /it is the working directory/);
    mkdirSync(join(p, 'conv'));
    writeFileSync(join(p, 'conv', 'keep.txt'), 'mine');
    const withConv = snapshot(p);
    expectRefusal(
      curateIn(p, ['convert', 'data/in.jsonl', '--out', 'conv', '--overwrite']),
      /^error: conv: refusing to replace .*not a curate output.*keep\.txt/,
    );
    expectRefusal(
      curateIn(p, ['dedup', 'data/in.jsonl', '--out', 'data', '--overwrite']),
      /^error: data: refusing to replace .*contains the input file/,
    );
    expect(snapshot(p)).toEqual(withConv);
    expect(Object.keys(before).every((k) => withConv[k] === before[k])).toBe(true);
    expect(readdirSync(join(p, '..'))).toEqual(['proj']);
  });

  it('every never-replace rule, through each command that writes', () => {
    const p = project();
    const home = join(p, 'fakehome');
    mkdirSync(home);
    const before = snapshot(p);
    const env = { HOME: home };
    const cases: [string[], RegExp][] = [
      [['mix', 'sub/r.yaml', '--out', 'sub', '--overwrite'], /contains the recipe/],
      [['mix', 'sub/r.yaml', '--out', 'evals', '--overwrite'], /contains the eval set/],
      [['mix', 'sub/r.yaml', '--out', 'data', '--overwrite'], /contains the input file/],
      [['mix', 'sub/r.yaml', '--out', '..', '--overwrite'], /contains the working directory/],
      [['mix', 'sub/r.yaml', '--out', '/', '--overwrite'], /it is the root directory/],
      [['convert', 'data/in.jsonl', '--out', home, '--overwrite'], /it is the home directory/],
      [['decontam', 'data/in.jsonl', '--against', 'evals/ev.jsonl', '--out', 'evals', '--overwrite'], /eval set/],
      [['filter', 'data/in.jsonl', '--filters', 'length', '--out', 'data', '--overwrite'], /input file/],
      [['dedup', 'data/in.jsonl', '--out', '.', '--overwrite'], /working directory/],
    ];
    for (const [args, why] of cases) expectRefusal(curateIn(p, args, env), why);
    expect(snapshot(p)).toEqual(before);
  });

  it('replaces a previous curate output and uses an empty directory; the summary names final paths', () => {
    const p = project();
    mkdirSync(join(p, 'empty'));
    const first = curateIn(p, ['dedup', 'data/in.jsonl', '--out', 'empty', '--json']);
    expect(first.code, first.stderr).toBe(0);
    for (const cmd of [
      ['dedup', 'data/in.jsonl', '--out', 'empty', '--overwrite', '--json'],
      ['filter', 'data/in.jsonl', '--filters', 'length', '--out', 'empty', '--overwrite', '--json'],
      ['decontam', 'data/in.jsonl', '--against', 'evals/ev.jsonl', '--out', 'empty', '--overwrite', '--json'],
      ['convert', 'data/in.jsonl', '--out', 'empty', '--overwrite', '--json'],
    ]) {
      const r = curateIn(p, cmd);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      const shards = summary.shards ?? summary.outputs.kept;
      expect(shards.length, cmd[0]).toBeGreaterThan(0);
      for (const s of shards) {
        expect(s.path.startsWith(join(p, 'empty')), `${cmd[0]}: ${s.path}`).toBe(true);
        expect(existsSync(s.path), `${cmd[0]}: ${s.path}`).toBe(true);
      }
    }
    expect(readdirSync(p).sort()).toEqual(['data', 'empty', 'evals', 'sub', 'unrelated.txt']);
    const m = curateIn(p, ['mix', 'sub/r.yaml']);
    expect(m.code, m.stderr).toBe(0);
    const again = curateIn(p, ['mix', 'sub/r.yaml', '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    // mix keeps its attribute shards in the default work dir beside its output (.curate-work)
    expect(readdirSync(p).sort()).toEqual(['.curate-work', 'data', 'empty', 'evals', 'out', 'sub', 'unrelated.txt']);
  });

  it('the same rules through the library API', async () => {
    const p = project();
    const before = snapshot(p);
    const cwd = process.cwd();
    process.chdir(p);
    try {
      const errs = [
        await dedupFiles({ inputs: ['data/in.jsonl'], out: 'data', overwrite: true }).catch((e) => e),
        await filterFiles({ inputs: ['data/in.jsonl'], out: '.', filters: 'length', overwrite: true }).catch((e) => e),
        await runRecipeFile('sub/r.yaml', { out: 'sub', overwrite: true }).catch((e) => e),
      ];
      expect(errs.map((e) => e.code)).toEqual(['E_OUTPUT_PROTECTED', 'E_OUTPUT_PROTECTED', 'E_OUTPUT_PROTECTED']);
    } finally {
      process.chdir(cwd);
    }
    expect(snapshot(p)).toEqual(before);
  });
});

describe('crash-safe replacement', () => {
  for (const step of ['before-swap', 'old-aside', 'new-in']) {
    it(`SIGKILL at commit step "${step}" leaves the complete old or new output; the next run proceeds`, () => {
      const p = project();
      writeFileSync(join(p, 'data', 'new.jsonl'), `${JSON.stringify({ text: 'a different row altogether' })}\n`);
      expect(curateIn(p, ['convert', 'data/in.jsonl', '--out', 'out', '--format', 'jsonl']).code).toBe(0);
      const old = snapshot(join(p, 'out'));
      const killed = curateIn(p, ['convert', 'data/new.jsonl', '--out', 'out', '--format', 'jsonl', '--overwrite'], {
        CURATE_TEST_CRASH_AT: `commit:${step}`,
      });
      expect(killed.code).toBe(null); // killed by the signal
      const leftovers = readdirSync(p).filter((e) => e.startsWith('.out.'));
      expect(leftovers.length).toBeGreaterThan(0);
      // The old output is complete, either in place or under its `.out.old-*` name.
      const oldHome = existsSync(join(p, 'out')) ? 'out' : leftovers.find((e) => e.startsWith('.out.old-'));
      expect(oldHome).toBeDefined();
      const state = snapshot(join(p, oldHome as string));
      const shard = 'shard-00000-of-00001.jsonl';
      if (step === 'new-in') expect(readFileSync(join(p, 'out', shard), 'utf8')).toContain('different row');
      else expect(state).toEqual(old);
      // The next run (a read-only one would not do: any run writing this output) recovers and proceeds.
      const next = curateIn(p, ['convert', 'data/new.jsonl', '--out', 'out', '--format', 'jsonl', '--overwrite']);
      expect(next.code, next.stderr).toBe(0);
      expect(readFileSync(join(p, 'out', shard), 'utf8')).toContain('different row');
      expect(readdirSync(p).filter((e) => e.startsWith('.out.'))).toEqual([]);
    });
  }
});

describe('nothing left behind', () => {
  it('a refused convert (arrow + snappy) leaves no temporary folder; stale ones of dead runs are removed', () => {
    const p = project();
    const r = curateIn(p, ['convert', 'data/in.jsonl', '--out', 'o', '--format', 'arrow', '--compression', 'snappy']);
    expectRefusal(r, /--compression snappy is not supported for arrow/);
    expect(readdirSync(p).sort()).toEqual(['data', 'evals', 'sub', 'unrelated.txt']);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    mkdirSync(join(p, `.o.tmp-${dead}-0a0b`));
    expect(curateIn(p, ['convert', 'data/in.jsonl', '--out', 'o']).code).toBe(0);
    expect(readdirSync(p).sort()).toEqual(['data', 'evals', 'o', 'sub', 'unrelated.txt']);
  });

  /** Start curate, send `signal` once its temporary output exists, and wait for the exit. */
  async function interrupt(cwd: string, args: string[], signal: NodeJS.Signals): Promise<Result> {
    const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    for (let i = 0; i < 2000; i++) {
      if (readdirSync(cwd).some((e) => e.startsWith('.big.tmp-'))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    child.kill(signal);
    const code = await exited;
    return { code, stdout, stderr };
  }

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)(
    '%s during convert and mix: one line, temporary output removed, exit %i',
    async (signal, code) => {
      const p = project();
      const lines: string[] = [];
      for (let i = 0; i < 400_000; i++) lines.push(JSON.stringify({ text: `row ${i} ${ROWS[i % 2]} ${i * 7919}` }));
      writeFileSync(join(p, 'data', 'big.jsonl'), `${lines.join('\n')}\n`);
      writeFileSync(
        join(p, 'big.yaml'),
        'name: b\nseed: 1\ntokenizer: words\nsources: [{ name: a, kind: real, paths: [data/big.jsonl], text: text }]\noutput: { dir: big }\n',
      );
      for (const args of [
        ['convert', 'data/big.jsonl', '--out', 'big'],
        ['mix', 'big.yaml'],
      ]) {
        const r = await interrupt(p, args, signal);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(code);
        expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
        expect(r.stderr).toMatch(
          new RegExp(`^curate: interrupted by ${signal}; removed temporary output .*\\.big\\.tmp-`),
        );
        expect(readdirSync(p).filter((e) => e.includes('big') && e !== 'big.yaml')).toEqual([]);
      }
    },
    60_000,
  );
});

describe('curate report --out', () => {
  it('never writes over the manifest or a shard of the run; other files only with --overwrite', () => {
    const p = project();
    expect(curateIn(p, ['mix', 'sub/r.yaml']).code).toBe(0);
    const out = join(p, 'out');
    const before = snapshot(out);
    writeFileSync(join(p, 'mine.html'), 'mine');
    const m = join(out, 'manifest.json');
    expectRefusal(curateIn(p, ['report', m, '--out', m, '--overwrite']), /it is the manifest/);
    expectRefusal(
      curateIn(p, ['report', m, '--out', join(out, 'shard-00000-of-00001.jsonl'), '--overwrite']),
      /it is a file of the run/,
    );
    expectRefusal(curateIn(p, ['report', m, '--out', 'data/in.jsonl', '--overwrite']), /it is a file of the run/);
    expectRefusal(curateIn(p, ['report', m, '--out', 'mine.html']), /exists and is not a curate report/);
    expect(snapshot(out)).toEqual(before);
    expect(readFileSync(join(p, 'mine.html'), 'utf8')).toBe('mine');
    expect(curateIn(p, ['report', m, '--out', 'mine.html', '--overwrite']).code).toBe(0);
    expect(readFileSync(join(p, 'mine.html'), 'utf8')).toContain('<meta name="generator" content="curate">');
    // the default report.html beside the manifest is curate's own: regenerated without --overwrite
    expect(curateIn(p, ['report', m]).code).toBe(0);
  });
});

describe('outputs inside an input glob', () => {
  it('warns once with the path when an input pattern would read the output back', () => {
    const p = project();
    const r = curateIn(p, ['dedup', 'data/**/*.jsonl', '--out', 'data/dedup']);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      'warning: --out data/dedup lies where the input "data/**/*.jsonl" reads: a later run over the same inputs would read this output back',
    ]);
    const c = curateIn(p, ['convert', 'data', '--out', 'data/o2', '--format', 'jsonl']);
    expect(c.stderr).toMatch(/warning: --out data\/o2 lies where the input "data" reads/);
    const quiet = curateIn(p, ['convert', 'data/*.jsonl', '--out', 'data/o3']);
    expect(quiet.stderr).toBe('');
  });
});
