import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma'.split(
  ' ',
);

/** 60 long rows (kept by the length filter) then 60 short ones (dropped): reversed, the same bytes in another order. */
function rows(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 60; i++)
    out.push(JSON.stringify({ text: `row ${i} ${WORDS.map((_w, j) => WORDS[(i + j) % WORDS.length]).join(' ')}.` }));
  for (let i = 0; i < 60; i++) out.push(JSON.stringify({ text: `short ${i}` }));
  return out;
}

const MTIME = new Date('2026-01-02T03:04:05Z'); // whole seconds: restorable exactly

function setup(writeRejected: boolean) {
  const dir = tempDir();
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${rows().join('\n')}\n`);
  utimesSync(input, MTIME, MTIME);
  const recipe = writeRecipe(
    dir,
    'r.yaml',
    `name: changed
seed: 1
tokenizer: words
sources:
  - { name: data, kind: real, paths: ["${input}"], text: text }
quality:
  - length: { min: 10 }
output: { dir: out, format: jsonl, write_rejected: ${writeRejected} }
report: false
`,
  );
  return { dir, input, recipe };
}

/** Rewrite `input` (same size, lines reversed) once pass 1 has read every byte; `keepMtime` puts the old mtime back. */
function rewriteAfterPass1(input: string, keepMtime: boolean) {
  let done = false;
  return (e: { phase: string; bytes?: number; totalBytes?: number }) => {
    if (done || e.phase !== 'scan' || !e.totalBytes || e.bytes !== e.totalBytes) return;
    done = true;
    const before = readFileSync(input);
    writeFileSync(input, `${rows().reverse().join('\n')}\n`);
    expect(readFileSync(input).length).toBe(before.length);
    if (keepMtime) utimesSync(input, MTIME, MTIME);
  };
}

describe('an input rewritten between pass 1 and pass 2', () => {
  for (const writeRejected of [false, true]) {
    for (const workers of [1, 2]) {
      it(`same size and mtime: the row hash fails naming file and row (workers ${workers}, write_rejected ${writeRejected})`, async () => {
        const { dir, input, recipe } = setup(writeRejected);
        const ok = await runRecipeFile(recipe, { out: join(dir, 'ok'), workers });
        expect(ok.manifest.sources[0].rows_available).toBe(60);
        const out = join(dir, 'out');
        const err = await runRecipeFile(recipe, {
          out,
          workers,
          onProgress: rewriteAfterPass1(input, true),
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
        expect(readdirSync(dir).filter((f) => f.startsWith('.out.'))).toEqual([]);
      });
    }
  }

  it('a new mtime fails before any row is read, naming the file', async () => {
    const { dir, input, recipe } = setup(false);
    for (const workers of [1, 2]) {
      const out = join(dir, `out${workers}`);
      utimesSync(input, MTIME, MTIME);
      writeFileSync(input, `${rows().join('\n')}\n`);
      utimesSync(input, MTIME, MTIME);
      const err = await runRecipeFile(recipe, {
        out,
        workers,
        onProgress: rewriteAfterPass1(input, false),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_INPUT_CHANGED',
        file: input,
        message: expect.stringMatching(/modified at .* after pass 1 read it/),
      });
      expect((err as { row?: number }).row).toBeUndefined();
      expect(existsSync(out)).toBe(false);
    }
  });
});
