import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DedupFilesOptions, dedupFiles, runDedupStage } from '../src/index.js';

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma'.split(
  ' ',
);

/** 60 distinct rows, then an exact copy of each: reversed, the same bytes in another order. */
function rows(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 60; i++)
    out.push(
      JSON.stringify({
        id: `r${i}`,
        text: `row ${i} ${WORDS.map((_w, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ')}.`,
      }),
    );
  for (let i = 0; i < 60; i++) out.push(out[i].replace(`"r${i}"`, `"d${i}"`));
  return out;
}

const MTIME = new Date('2026-01-02T03:04:05Z'); // whole seconds: restorable exactly

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'dedup-changed-'));
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${rows().join('\n')}\n`);
  utimesSync(input, MTIME, MTIME);
  return { dir, input };
}

/** Rewrite `input` (same size, lines reversed) once pass 1 has signed every row; `keepMtime` puts the old mtime back. */
function rewriteAfterPass1(input: string, keepMtime: boolean) {
  let done = false;
  return (e: { phase: string; rows?: number }) => {
    if (done || e.phase !== 'signatures' || e.rows !== 120) return;
    done = true;
    const before = readFileSync(input);
    writeFileSync(input, `${rows().reverse().join('\n')}\n`);
    expect(readFileSync(input).length).toBe(before.length);
    if (keepMtime) utimesSync(input, MTIME, MTIME);
  };
}

const paths: Record<string, Partial<DedupFilesOptions>> = {
  'raw-JSONL fast path (both passes)': {},
  'raw-JSONL fast path, 2 signers (byte ranges)': { workers: 2 },
  'generic path (both passes)': { fastJsonl: false },
  'fast pass 1, generic pass 2 (Parquet output)': { format: 'parquet' },
  'generic pass 1 (a template), JSONL output': { text: '{text}!' },
};

describe('dedupFiles: an input rewritten between pass 1 and pass 2', () => {
  for (const [name, extra] of Object.entries(paths)) {
    it(`same size and mtime: the row hash fails naming file and row (${name})`, async () => {
      const { dir, input } = setup();
      const ok = await dedupFiles({ inputs: [input], out: join(dir, 'ok'), workers: 1, ...extra });
      expect(ok.kept).toBe(60);
      utimesSync(input, MTIME, MTIME);
      const out = join(dir, 'out');
      const err = await dedupFiles({
        inputs: [input],
        out,
        workers: 1,
        ...extra,
        progress: rewriteAfterPass1(input, true),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_INPUT_CHANGED',
        category: 'input',
        file: input,
        row: 0,
        message: expect.stringMatching(
          /^input changed between the passes of the run: this row is not the row pass 1 read/,
        ),
      });
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).sort()).toEqual(['in.jsonl', 'ok']);
    });
  }

  it('a new mtime fails before any row is read, naming the file', async () => {
    const { dir, input } = setup();
    const out = join(dir, 'out');
    const err = await dedupFiles({
      inputs: [input],
      out,
      workers: 1,
      progress: rewriteAfterPass1(input, false),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_INPUT_CHANGED',
      file: input,
      message: expect.stringMatching(/modified at .* after pass 1 read it/),
    });
    expect((err as { row?: number }).row).toBeUndefined();
    expect(existsSync(out)).toBe(false);
  });
});

describe('dedupFiles: a Parquet input rewritten between the passes', () => {
  it('same size and mtime: the rendered-text hash fails naming file and row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dedup-changed-pq-'));
    const lines = rows().slice(0, 60);
    // two Parquet files with the same rows in opposite orders (uncompressed: the same size)
    const pq: string[] = [];
    for (const [name, ls] of [
      ['a', lines],
      ['b', [...lines].reverse()],
    ] as const) {
      const src = join(dir, `${name}.jsonl`);
      writeFileSync(src, `${ls.join('\n')}\n`);
      const o = await dedupFiles({
        inputs: [src],
        out: join(dir, name),
        format: 'parquet',
        compression: 'none',
        workers: 1,
      });
      expect(o.kept).toBe(60);
      pq.push(o.outputs.kept[0].path);
    }
    expect(readFileSync(pq[1]).length).toBe(readFileSync(pq[0]).length);
    const input = join(dir, 'in.parquet');
    writeFileSync(input, readFileSync(pq[0]));
    utimesSync(input, MTIME, MTIME);
    let done = false;
    const err = await dedupFiles({
      inputs: [input],
      out: join(dir, 'out'),
      workers: 1,
      progress: (e) => {
        if (done || e.phase !== 'signatures' || e.rows !== 60) return;
        done = true;
        writeFileSync(input, readFileSync(pq[1]));
        utimesSync(input, MTIME, MTIME);
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_INPUT_CHANGED', file: input, row: 0 });
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('dedup stages: an input rewritten after the signatures stage', () => {
  it('same size, new mtime: the remove stage fails naming the file and writes nothing', async () => {
    const { dir, input } = setup();
    const opts = { inputs: [input], workDir: join(dir, 'work'), out: join(dir, 'out') };
    for (const s of ['signatures', 'buckets', 'clusters'] as const) await runDedupStage(s, opts);
    writeFileSync(input, `${rows().reverse().join('\n')}\n`);
    utimesSync(input, new Date('2026-01-03T00:00:00Z'), new Date('2026-01-03T00:00:00Z'));
    const err = await runDedupStage('remove', opts).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_DEDUP_INPUT_CHANGED',
      file: input,
      message: expect.stringMatching(/^input file changed since the signatures stage: modified at/),
    });
    expect(existsSync(opts.out) ? readdirSync(opts.out) : []).toEqual([]);
  });
});
