import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { batchRows, collect } from '@curate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { compileTemplate, inspectShard, readShard, readShards } from '../src/index.js';
import { type Duck, diff, lit, openDuck } from './duck.js';
import { useTmp } from './helpers.js';

/** `records:` per file from MANIFEST.md. */
function manifestCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  let current: string | undefined;
  for (const line of readFileSync(shared('MANIFEST.md'), 'utf8').split('\n')) {
    const h = /^### (\S+)/.exec(line);
    if (h) current = h[1];
    const r = /^- records: ([\d,]+)/.exec(line);
    if (r && current) counts.set(current, Number(r[1].replace(/,/g, '')));
  }
  return counts;
}

const FILES = HAS_SHARED
  ? ['instruct_pair', 'decontam', 'real_text', 'real_text/gutenberg'].flatMap((d) =>
      readdirSync(shared(d))
        .filter((f) => /\.jsonl?$/.test(f))
        .map((f) => `${d}/${f}`),
    )
  : [];

describe.skipIf(!HAS_SHARED)('real JSONL / JSON shards', () => {
  const counts = HAS_SHARED ? manifestCounts() : new Map<string, number>();
  let duck: Duck;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(() => duck?.close());

  it('finds every data file in MANIFEST.md', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(21);
    for (const f of FILES) expect(counts.has(f), f).toBe(true);
  });

  for (const rel of FILES) {
    it(`${rel}: row count = MANIFEST, sampled cells = DuckDB read_json`, async () => {
      const path = shared(rel);
      const batches = await collect(readShard(path, { batchSize: 1000 }));
      const rows = batches.flatMap((b) => batchRows(b));
      expect(rows.length).toBe(counts.get(rel));
      // offsets are dense and in order
      let next = 0;
      for (const b of batches) {
        expect(b.offset).toBe(next);
        next += b.length;
      }
      const format = rel.endsWith('.jsonl') ? 'newline_delimited' : 'array';
      const theirs = await duck.rows(
        `SELECT * FROM read_json(${lit(path)}, format='${format}', sample_size=-1, maximum_object_size=100000000)`,
      );
      expect(theirs.length).toBe(rows.length);
      const step = Math.max(1, Math.floor(rows.length / 200));
      for (let i = 0; i < rows.length; i += step) {
        const d = diff(rows[i], theirs[i], `${rel}[${i}]`);
        expect(d).toBeUndefined();
      }
    });
  }

  it('human_lima.json has 1,029 rows, and readShards over a directory sums the manifest', async () => {
    const info = await inspectShard(shared('instruct_pair', 'human_lima.json'));
    expect(info.rows).toBe(1029);
    expect(info.format).toBe('json');
    expect(info.columns.map((c) => c.name)).toEqual(['instruction', 'input', 'output', 'history']);
    let total = 0;
    const files = new Set<string>();
    for await (const b of readShards([shared('decontam')], { columns: undefined })) {
      total += b.length;
      files.add(b.file!);
    }
    const expected = FILES.filter((f) => f.startsWith('decontam/')).reduce((a, f) => a + counts.get(f)!, 0);
    expect(total).toBe(expected);
    expect([...files]).toEqual([...files].sort());
  });
});

describe.skipIf(!HAS_SHARED)('real Parquet through the shared entry points', () => {
  let duck: Duck;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(() => duck?.close());

  it('inspectShard gives DuckDB row count and column names, plus a sample', async () => {
    const path = shared('parquet', 'LS_Intro_to_ML_NLP__train-00000-of-00001.parquet');
    const info = await inspectShard(path, { sample: 3 });
    const [{ n }] = await duck.rows(`SELECT count(*) AS n FROM read_parquet(${lit(path)})`);
    expect(info.rows).toBe(Number(n));
    const cols = await duck.rows(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`);
    expect(info.columns.map((c) => c.name)).toEqual(cols.map((c) => c.column_name));
    expect(info.parquet?.rowGroups.length).toBeGreaterThan(0);
    expect(info.sample.length).toBe(3);
    const first = await duck.rows(`SELECT * FROM read_parquet(${lit(path)}) LIMIT 3`);
    for (let i = 0; i < 3; i++) expect(diff(info.sample[i], first[i], `sample ${i}`)).toBeUndefined();
  });

  it('readShards over a glob of Parquet and JSONL files with a projected template column', async () => {
    const glob = shared('parquet', 'LS_Intro_to_ML_NLP__*.parquet');
    const info = await inspectShard(shared('parquet', 'LS_Intro_to_ML_NLP__train-00000-of-00001.parquet'), {
      sample: 0,
    });
    const textCol = info.columns.find((c) => /string|utf8|byte_array/i.test(c.type))!.name;
    const t = compileTemplate(`{${textCol}}`);
    let rows = 0;
    let chars = 0;
    const files: string[] = [];
    for await (const b of readShards([glob], { columns: [textCol], batchSize: 100 })) {
      t.check(b);
      expect(Object.keys(b.columns)).toEqual([textCol]);
      if (files.at(-1) !== b.file) files.push(b.file!);
      for (let i = 0; i < b.length; i++) chars += t.render(b, i).length;
      rows += b.length;
    }
    const [{ n, c }] = await duck.rows(
      `SELECT count(*) AS n, sum(length(coalesce(CAST("${textCol}" AS VARCHAR), ''))) AS c FROM read_parquet(${lit(glob)})`,
    );
    expect(rows).toBe(Number(n));
    expect(chars).toBe(Number(c));
    expect(files).toEqual([...files].sort());
    expect(files.length).toBe(2);
  });
});

describe.skipIf(!HAS_SHARED)('compressed copies of real JSONL read identically', () => {
  const tmp = useTmp();

  it('gutenberg (25 MB, ~400 KB lines) as .gz, .zst via CLI and via fzstd', async () => {
    const src = shared('real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl');
    const d = await tmp();
    const raw = readFileSync(src);
    writeFileSync(join(d, 'g.jsonl.gz'), gzipSync(raw, { level: 1 }));
    let zstd = true;
    try {
      execFileSync('zstd', ['-q', '-1', src, '-o', join(d, 'g.jsonl.zst')]);
    } catch {
      zstd = false;
    }
    const digest = async (p: string) => {
      const h = createHash('sha256');
      let n = 0;
      for await (const b of readShard(p, { batchSize: 16 })) {
        for (const [k, v] of Object.entries(b.columns)) h.update(k + JSON.stringify(v));
        n += b.length;
      }
      return `${n}:${h.digest('hex')}`;
    };
    const want = await digest(src);
    expect(want.startsWith('61:')).toBe(true);
    expect(await digest(join(d, 'g.jsonl.gz'))).toBe(want);
    if (!zstd) return;
    const before = process.env.CURATE_ZSTD;
    try {
      for (const mode of ['auto', 'js']) {
        process.env.CURATE_ZSTD = mode;
        expect(await digest(join(d, 'g.jsonl.zst')), mode).toBe(want);
      }
    } finally {
      if (before === undefined) delete process.env.CURATE_ZSTD;
      else process.env.CURATE_ZSTD = before;
    }
  });
});
