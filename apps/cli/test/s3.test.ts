/**
 * s3:// end to end, against s3rver on 127.0.0.1 behind the fault-injecting proxy (tools/test/s3-server.ts),
 * both started and stopped by this file: `curate mix` from S3 inputs to an S3 output gives the bytes
 * of the same mix on local files (also under injected faults), DuckDB reads the downloaded shards
 * with the manifest's row counts, a run killed mid-upload leaves no manifest.json and the rerun
 * completes it, and `convert`, `filter` and `dedup` read s3:// inputs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { resetS3Client, storageFor } from '@curate/shards';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3, type TestS3 } from '../../../tools/test/s3-server.js';
import { REPO_ROOT } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

const BIN = resolve(import.meta.dirname, '../bin/curate.js');
const FIXTURES = join(REPO_ROOT, 'fixtures');

let s3: TestS3;
const saved = { ...process.env };

beforeAll(async () => {
  s3 = await startTestS3();
  Object.assign(process.env, s3.env, {
    CURATE_S3_PART_BYTES: '65536', // shards above 64 KiB go up as multipart uploads
    CURATE_S3_RETRY_BASE_MS: '2',
    CURATE_S3_RETRY_MAX_MS: '20',
    CURATE_S3_TIMEOUT_MS: '5000',
  });
  resetS3Client();
  // the fixtures, as they are on disk, under s3://test/fx/
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
    );
  for (const f of walk(FIXTURES)) {
    if (!/shards|evals/.test(f)) continue;
    await storageFor('s3://test/').upload(`s3://test/fx/${relative(FIXTURES, f)}`, f);
  }
});

afterAll(async () => {
  process.env = saved;
  resetS3Client();
  await s3.stop();
});

/** The demo recipe with its inputs on S3. */
function s3Recipe(dir: string): string {
  const text = readFileSync(join(FIXTURES, 'recipes/demo.yaml'), 'utf8')
    .replaceAll('../shards/', 's3://test/fx/shards/')
    .replaceAll('../evals/', 's3://test/fx/evals/');
  const path = join(dir, 'demo-s3.yaml');
  writeFileSync(path, text);
  return path;
}

async function download(prefix: string, dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const o of storageFor(prefix).list(`${prefix}/`)) {
    const rel = o.path.slice(prefix.length + 1);
    names.push(rel);
    const bytes = await storageFor(o.path).read(o.path, 0, o.size);
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), bytes);
  }
  return names.sort();
}

function shardFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of ['', 'rejected']) {
    const d = join(dir, sub);
    for (const n of readdirSync(d).sort()) if (/^shard-.*\.parquet$/.test(n)) out.push(sub ? `${sub}/${n}` : n);
  }
  return out;
}

/** The CLI as a child process (asynchronously: the S3 server lives in this process). */
function curateChild(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: 'ignore',
    });
    child.on('exit', (code, signal) => res({ code, signal }));
  });
}

describe('curate mix on s3://', () => {
  let localOut: string;
  let localShards: string[];

  let keep: string;
  beforeAll(async () => {
    // not tempDir(): that one is removed after each test
    keep = mkdtempSync(join(tmpdir(), 'curate-cli-s3-'));
    localOut = join(keep, 'local');
    const r = await curate(['mix', join(FIXTURES, 'recipes/demo.yaml'), '--out', localOut, '--no-progress']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    localShards = shardFiles(localOut);
    expect(localShards.length).toBeGreaterThan(1);
  });

  afterAll(() => rmSync(keep, { recursive: true, force: true }));

  const sameShards = async (prefix: string) => {
    const got = tempDir();
    const names = await download(prefix, got);
    expect(names).toContain('manifest.json');
    expect(names.filter((n) => /(^|\/)\.tmp-/.test(n))).toEqual([]); // no temporary keys left
    expect(shardFiles(got)).toEqual(localShards);
    for (const s of localShards) {
      expect(Buffer.compare(readFileSync(join(got, s)), readFileSync(join(localOut, s))), s).toBe(0);
    }
    return got;
  };

  it('S3 inputs to an S3 output: the bytes of the local run; DuckDB reads the manifest row counts', async () => {
    const dir = tempDir();
    const r = await curate([
      'mix',
      s3Recipe(dir),
      '--out',
      's3://test/mix/a',
      '--work',
      join(keep, 'work'),
      '--no-progress',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = await sameShards('s3://test/mix/a');
    const manifest = JSON.parse(readFileSync(join(got, 'manifest.json'), 'utf8'));
    // every S3 input records what reading it cost
    for (const src of manifest.sources as { files: { path: string; fetched?: { bytes: number } }[] }[]) {
      for (const f of src.files) expect(f.fetched?.bytes, f.path).toBeGreaterThan(0);
    }
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const con = await instance.connect();
    try {
      for (const shard of manifest.output.shards as { path: string; rows: number }[]) {
        const rows = (
          await con.runAndReadAll(`select count(*)::int as n from read_parquet('${join(got, shard.path)}')`)
        ).getRowObjectsJS();
        expect(rows[0].n).toBe(shard.rows);
      }
    } finally {
      con.closeSync();
      instance.closeSync();
    }
    expect(await s3.openUploads()).toEqual([]);
  });

  it('under 10% injected 503s and dropped connections: the same bytes, no orphaned multipart uploads', async () => {
    s3.setFaults({ error503: 0.1, drop: 0.1, seed: 11 });
    let faults = new Map<string, number>();
    try {
      const r = await curate([
        'mix',
        s3Recipe(tempDir()),
        '--out',
        's3://test/mix/faults',
        '--work',
        join(keep, 'work'),
        '--no-progress',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      faults = new Map(s3.faultsByKey);
      s3.setFaults({});
    }
    expect(s3.faultsInjected.error503).toBeGreaterThan(0);
    expect(s3.faultsInjected.drop).toBeGreaterThan(0);
    const got = await sameShards('s3://test/mix/faults');
    expect(await s3.openUploads()).toEqual([]);
    // the manifest counts the retries of every input: one per fault injected on its requests
    const manifest = JSON.parse(readFileSync(join(got, 'manifest.json'), 'utf8'));
    for (const src of manifest.sources as { files: { path: string; fetched?: { retries: number } }[] }[]) {
      for (const f of src.files) {
        expect(f.fetched?.retries, f.path).toBe(faults.get(f.path.slice('s3://'.length)) ?? 0);
      }
    }
  });

  it.each([
    ['remote-before-manifest', 'after every shard went up, before manifest.json'],
    ['remote-uploading', 'in the commit, uploading the report'],
  ])(
    'a run killed mid-upload (%s: %s) leaves no manifest.json; the rerun completes it without --overwrite',
    async (step) => {
      const recipe = s3Recipe(tempDir());
      const prefix = `s3://test/mix/killed-${step}`;
      const killed = await curateChild(
        ['mix', recipe, '--out', prefix, '--work', join(keep, `work-killed-${step}`), '--no-progress'],
        {
          CURATE_TEST_CRASH_AT: `commit:${step}`,
        },
      );
      expect(killed.signal).toBe('SIGKILL');
      const names: string[] = [];
      for await (const o of storageFor('s3://test/').list(`${prefix}/`)) names.push(o.path);
      expect(names.length).toBeGreaterThan(0); // something was uploaded ...
      expect(names.some((n) => n.endsWith('/manifest.json'))).toBe(false); // ... and nothing looks complete
      const r = await curate([
        'mix',
        recipe,
        '--out',
        prefix,
        '--work',
        join(keep, `work-killed-${step}`),
        '--no-progress',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      await sameShards(prefix);
      expect(await s3.openUploads()).toEqual([]);
    },
  );
  it('--work s3://: curate tag puts the attributes in the prefix; mixes on fresh machines reuse them', async () => {
    const recipe = s3Recipe(tempDir());
    const before = process.env.CURATE_TMPDIR;
    try {
      process.env.CURATE_TMPDIR = tempDir();
      const t = await curate(['tag', recipe, '--work', 's3://test/work-s3', '--no-progress']);
      expect(t.stderr).toBe('');
      expect(t.code).toBe(0);
      for (const prefix of ['s3://test/mix/w1', 's3://test/mix/w2']) {
        process.env.CURATE_TMPDIR = tempDir(); // a fresh machine: an empty local cache
        const r = await curate(['mix', recipe, '--out', prefix, '--work', 's3://test/work-s3', '--no-progress']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(
          /work dir s3:\/\/test\/work-s3: attributes of (\d+) of \1 input file\(s\) reused, 0 computed/,
        );
        await sameShards(prefix);
      }
      const names: string[] = [];
      for await (const o of storageFor('s3://test/').list('s3://test/work-s3/')) names.push(o.path);
      expect(names).toContain('s3://test/work-s3/curate-work.json');
      expect(names.some((n) => n.startsWith('s3://test/work-s3/attributes/'))).toBe(true);
      expect(names).not.toContain('s3://test/work-s3/lock'); // released
    } finally {
      if (before === undefined) delete process.env.CURATE_TMPDIR;
      else process.env.CURATE_TMPDIR = before;
    }
  });
});

describe('commands read s3:// inputs', () => {
  it('convert, filter, dedup and decontam (--against on S3): the outputs of the same local commands', async () => {
    const inputs = ['s3://test/fx/shards/real/*.jsonl', 's3://test/fx/shards/real/brown-00002.parquet'];
    const local = [
      join(FIXTURES, 'shards/real/brown-00000.jsonl'),
      join(FIXTURES, 'shards/real/brown-00001.jsonl'),
      join(FIXTURES, 'shards/real/brown-00002.parquet'),
    ];
    const cases: [string, string[]][] = [
      ['convert', ['--format', 'jsonl']],
      ['filter', ['--filters', 'gopher_quality,c4']],
      ['dedup', ['--threshold', '0.8']],
      ['decontam', ['--against', 's3://test/fx/evals/brown-bench.jsonl']],
    ];
    for (const [cmd, flags] of cases) {
      const a = join(tempDir(), 'a');
      const localFlags = flags.map((f) => f.replace('s3://test/fx/', `${FIXTURES}/`));
      const ra = await curate([cmd, ...local, '--out', a, ...localFlags, '--no-progress']);
      expect(ra.stderr, cmd).toBe('');
      const rb = await curate([cmd, ...inputs, '--out', `s3://test/cmd/${cmd}`, ...flags, '--no-progress']);
      expect(rb.stderr, cmd).toBe('');
      expect(rb.code, cmd).toBe(0);
      const b = tempDir();
      const names = await download(`s3://test/cmd/${cmd}`, b);
      expect(names, cmd).toContain('manifest.json');
      const want = readdirSync(a)
        .filter((n) => n.startsWith('shard-'))
        .sort();
      expect(
        names.filter((n) => n.startsWith('shard-')),
        cmd,
      ).toEqual(want);
      for (const n of want)
        expect(Buffer.compare(readFileSync(join(a, n)), readFileSync(join(b, n))), `${cmd} ${n}`).toBe(0);
    }
  });
});

describe('refusals on s3://', () => {
  it('a missing object, and an output prefix holding an input, are one-line errors', async () => {
    const m = await curate([
      'convert',
      's3://test/fx/nothing.jsonl',
      '--out',
      join(tempDir(), 'o'),
      '--format',
      'jsonl',
    ]);
    expect(m.code).toBe(2);
    expect(m.stderr.trim()).toMatch(
      /^curate: s3:\/\/test\/fx\/nothing\.jsonl: file or directory not found$|s3:\/\/test\/fx\/nothing\.jsonl: file or directory not found/,
    );
    expect(m.stderr.trim().split('\n')).toHaveLength(1);
    const p = await curate([
      'convert',
      's3://test/fx/shards/real/*.jsonl',
      '--out',
      's3://test/fx/shards',
      '--format',
      'jsonl',
    ]);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(
      /E_OUTPUT_PROTECTED|refusing to replace this output directory: it contains the input file/,
    );
  });
});

describe('inspect and stats on s3://', () => {
  it('read s3:// objects and globs as the local files', async () => {
    const url = 's3://test/fx/shards/real/brown-00002.parquet';
    const file = join(FIXTURES, 'shards/real/brown-00002.parquet');
    const ri = await curate(['inspect', url, '--json']);
    expect(ri.stderr).toBe('');
    const li = await curate(['inspect', file, '--json']);
    expect(ri.stdout.replaceAll(url, 'X')).toBe(li.stdout.replaceAll(file, 'X'));
    const rs = await curate(['stats', 's3://test/fx/shards/real/*.jsonl', '--text', 'text', '--json']);
    expect(rs.stderr).toBe('');
    expect(rs.code).toBe(0);
    const ls = await curate(['stats', join(FIXTURES, 'shards/real/*.jsonl'), '--text', 'text', '--json']);
    const strip = (s: string) => s.replaceAll('s3://test/fx/', '').replaceAll(`${FIXTURES}/`, '');
    expect(strip(rs.stdout)).toBe(strip(ls.stdout));
  });
});
