/**
 * `curate inspect` and `curate convert` treat every file in shared/data/parquet as DuckDB
 * does (same rows, same string values), and bad input exits 2 with one line naming the file.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

let duck: { rows(sql: string): Promise<Record<string, unknown>[]>; close(): void };
beforeAll(async () => {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  duck = {
    rows: async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
    close: () => {
      con.closeSync();
      instance.closeSync();
    },
  };
});
afterAll(() => duck.close());

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** DuckDB's row count, or null when DuckDB cannot read the file. */
async function duckCount(path: string): Promise<number | null> {
  try {
    const [{ n }] = await duck.rows(`SELECT count(*)::BIGINT AS n FROM read_parquet(${lit(path)})`);
    await duck.rows(`SELECT * FROM read_parquet(${lit(path)}) LIMIT 1000000`);
    return Number(n);
  } catch {
    return null;
  }
}
const LFS = 'truth-lens-media-bias__data_test-00000-of-00001.parquet';

describe.skipIf(!HAS_SHARED)('every real-world Parquet file, as DuckDB reads it', () => {
  const dir = shared('parquet');
  const files = HAS_SHARED ? readdirSync(dir).filter((f) => f.endsWith('.parquet')) : [];

  it('inspect: rows match DuckDB; the Git LFS pointer is refused with one line', async () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) {
      const path = join(dir, f);
      const r = await curate(['inspect', path, '--json']);
      if (f === LFS) {
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(path);
        expect(r.stderr).toMatch(/not a Parquet file.*Git LFS pointer/);
        continue;
      }
      const ref = await duckCount(path);
      if (ref === null) {
        // DuckDB cannot read it (hadoop LZ4, a 2 GB string map): read it, or fail cleanly naming the file.
        if (r.code !== 0) {
          expect(r.code, f).toBe(2);
          expect(r.stderr.trim().split('\n'), f).toHaveLength(1);
          expect(r.stderr, f).toContain(path);
        }
        continue;
      }
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      const info = JSON.parse(r.stdout).files[0];
      expect(info.rows, f).toBe(ref);
    }
  });

  it('convert to JSONL and to Parquet: DuckDB reads the same rows and string values back', async () => {
    for (const f of files) {
      const path = join(dir, f);
      if (f === LFS || (await duckCount(path)) === null) continue;
      const cols = await duck.rows(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`);
      const strings = cols.filter((c) => c.column_type === 'VARCHAR').map((c) => String(c.column_name));
      const orig = await duck.rows(
        `SELECT ${strings.length ? strings.map((c) => `"${c}"`).join(', ') : '1 AS one'} FROM read_parquet(${lit(path)})`,
      );
      for (const format of ['jsonl', 'parquet'] as const) {
        const out = join(tempDir(), 'c');
        const r = await curate(['convert', path, '--out', out, '--format', format]);
        expect(r.code, `${f} -> ${format}: ${r.stderr}`).toBe(0);
        const reader = format === 'jsonl' ? 'read_json' : 'read_parquet';
        const opts = format === 'jsonl' ? ", format='newline_delimited', maximum_object_size=104857600" : '';
        const back = await duck.rows(
          `SELECT ${strings.length ? strings.map((c) => `"${c}"::VARCHAR AS "${c}"`).join(', ') : '1 AS one'} FROM ${reader}(${lit(join(out, `*.${format}`))}${opts})`,
        );
        expect(back.length, `${f} -> ${format}`).toBe(orig.length);
        for (let i = 0; i < orig.length; i++) {
          for (const c of strings) expect(back[i][c], `${f} -> ${format} row ${i} ${c}`).toBe(orig[i][c]);
        }
      }
    }
  });
});

describe('bad input: exit 2, one line naming the file, row or recipe path, nothing that looks complete', () => {
  it('a broken JSONL line names the file and row', async () => {
    const d = tempDir();
    const p = join(d, 'broken.jsonl');
    writeFileSync(p, '{"text":"ok"}\n{"text": "oops"\n{"text":"fine"}\n');
    const out = join(d, 'out');
    const r = await curate(['convert', p, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: row 2: `));
    expect(readdirSync(d)).toEqual(['broken.jsonl']);
  });

  it('a line over the line limit, a FIFO, a link to /dev/zero and a corrupt .zst: one line naming the file, nothing left', async () => {
    const d = tempDir();
    const p = join(d, 'long.jsonl');
    writeFileSync(p, `{"text":"ok"}\n{"text":"${'x'.repeat(5000)}"}\n`);
    vi.stubEnv('CURATE_MAX_LINE_BYTES', '1000');
    try {
      const r = await curate(['convert', p, '--out', join(d, 'out')]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(
        `${p}: row 2: line 2 (starting at byte 14) is longer than the line limit of 1000 bytes`,
      );
    } finally {
      vi.unstubAllEnvs();
    }
    execFileSync('mkfifo', [join(d, 'pipe.jsonl')]);
    symlinkSync('/dev/zero', join(d, 'zero.jsonl'));
    writeFileSync(join(d, 'bad.jsonl.zst'), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x05, 0x29, 0, 0]));
    for (const [name, says] of [
      ['pipe.jsonl', 'is a FIFO (named pipe), not a regular file'],
      ['zero.jsonl', 'is a character device, not a regular file'],
      ['bad.jsonl.zst', 'cannot read: zstd'],
    ]) {
      const r = await curate(['convert', join(d, name), '--out', join(d, 'out')]);
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).toContain(`${join(d, name)}: ${says}`);
    }
    expect(readdirSync(d).sort()).toEqual(['bad.jsonl.zst', 'long.jsonl', 'pipe.jsonl', 'zero.jsonl']);
  });

  it('a glob that matches nothing, an output path that is a file, a truncated Parquet file', async () => {
    const d = tempDir();
    const nomatch = await curate(['inspect', join(d, 'nothing-*.parquet')]);
    expect(nomatch.code).toBe(2);
    expect(nomatch.stderr).toContain('nothing-*.parquet');
    const p = join(d, 'a.jsonl');
    writeFileSync(p, '{"text":"a"}\n');
    const file = join(d, 'file');
    writeFileSync(file, 'x');
    const isFile = await curate(['convert', p, '--out', file]);
    expect(isFile.code).toBe(2);
    expect(isFile.stderr).toMatch(/is a file/);
    if (HAS_SHARED) {
      const bytes = readFileSync(shared('parquet', 'LS_Intro_to_ML_NLP__train-00000-of-00001.parquet'));
      const t = join(d, 'truncated.parquet');
      writeFileSync(t, bytes.subarray(0, bytes.length - 100));
      const r = await curate(['inspect', t]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(t);
    }
  });

  it('recipes: unreadable, invalid (names the recipe path), and a template naming a missing column', async () => {
    const d = tempDir();
    const missing = await curate(['validate', join(d, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    const data = join(d, 'data.jsonl');
    writeFileSync(
      data,
      `${JSON.stringify({ text: 'one two three four five six seven eight nine ten. '.repeat(10) })}\n`,
    );
    const bad = join(d, 'bad.yaml');
    writeFileSync(
      bad,
      `name: x\nsources:\n  - { name: a, kind: real, paths: [data.jsonl], text: text, max_epochs: 0 }\noutput: { dir: out }\n`,
    );
    const v = await curate(['validate', bad]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('sources[0].max_epochs');
    const m = await curate(['mix', bad]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('sources[0].max_epochs');
    const tpl = join(d, 'tpl.yaml');
    writeFileSync(
      tpl,
      `name: x\nsources:\n  - { name: a, kind: real, paths: [data.jsonl], text: "{instruction} {response}" }\noutput: { dir: out }\nreport: false\n`,
    );
    const t = await curate(['mix', tpl]);
    expect(t.code).toBe(2);
    expect(t.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.stderr).toContain(data);
    expect(t.stderr).toMatch(/instruction/);
    expect(readdirSync(d).sort()).toEqual(['bad.yaml', 'data.jsonl', 'tpl.yaml']);
    // validate catches it too, from the files' schemas, naming recipe path, line, file and columns
    const vt = await curate(['validate', tpl]);
    expect(vt.code).toBe(2);
    expect(vt.stderr).toContain(
      `sources[0].text: column "instruction" is not in ${data} of source "a" (columns: text)`,
    );
    expect(vt.stderr).toMatch(/response/);
    const flt = join(d, 'flt.yaml');
    writeFileSync(
      flt,
      `name: x
sources:
  - { name: a, kind: real, paths: [data.jsonl], text: text }
quality:
  - where: { column: txet, eq: ok }
output: { dir: out }
`,
    );
    const vf = await curate(['validate', flt]);
    expect(vf.code).toBe(2);
    expect(vf.stderr).toContain('quality[0].where.column: column "txet" is not in');
    expect(vf.stderr).toContain('(did you mean "text"?)');
    expect((await curate(['validate', flt, '--no-check-paths'])).code).toBe(0);
  });

  it("filter --where: the recipe's where conditions on the command line, errors naming --where[i]", async () => {
    const d = tempDir();
    const p = join(d, 'a.jsonl');
    const rows = [
      { text: 'a', status: 'ok', score: 3 },
      { text: 'b', status: 'spam', score: 5 },
      { text: 'c', status: 'ok', score: 1 },
    ];
    writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = join(d, 'out');
    const r = await curate([
      'filter',
      p,
      '--out',
      out,
      '--where',
      '{column: status, eq: ok}',
      '--where',
      '{column: score, gte: 2}',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.kept).toBe(1);
    expect(summary.dropped).toEqual({ 'filter:where:status': 1, 'filter:where:score': 1 });
    const bad = await curate(['filter', p, '--out', join(d, 'x'), '--where', '{column: score, gtee: 2}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--where[0].gtee: unknown parameter "gtee" (did you mean "gte"?)');
    const none = await curate(['filter', p, '--out', join(d, 'y')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give --filters NAMES, --where CONDITION, or both');
    expect(readdirSync(d).sort()).toEqual(['a.jsonl', 'out']);
  });

  it('a codec the output format does not take is bad usage; one it takes works', async () => {
    const d = tempDir();
    const p = join(d, 'a.jsonl');
    writeFileSync(p, '{"text":"a"}\n{"text":"b"}\n');
    const bad = await curate(['convert', p, '--out', join(d, 'x'), '--format', 'arrow', '--compression', 'gzip']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('error: --compression gzip is not supported for arrow output; use zstd, none');
    const ok = await curate(['convert', p, '--out', join(d, 'y'), '--format', 'arrow', '--compression', 'zstd']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readdirSync(join(d, 'y')).sort()).toEqual(['.curate-output', 'shard-00000-of-00001.arrow']);
  });

  it('honours NO_COLOR and colours errors only on request', async () => {
    const plain = await curate(['inspect', '/nonexistent/file.parquet']);
    expect(plain.stderr).not.toContain('\x1b[');
    const forced = await curate(['inspect', '/nonexistent/file.parquet'], { NO_COLOR: '', FORCE_COLOR: '1' });
    expect(forced.stderr).toContain('\x1b[31m');
  });
});
