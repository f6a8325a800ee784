import { existsSync, mkdirSync, readdirSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { BucketSpill, spillIo } from '../dist/spill.js';
import { tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

afterEach(() => {
  spillIo.writeSync = writeSync;
});

/** A writeSync that writes at most `max` bytes per call (as write(2) may), then fails with `code` after `failAfter` bytes. */
function shortWrites(max: number, failAfter = Number.POSITIVE_INFINITY, code = 'ENOSPC') {
  let total = 0;
  spillIo.writeSync = ((fd: number, buf: Buffer, off: number, len: number) => {
    if (total >= failAfter) throw Object.assign(new Error(`${code}: no space left on device, write`), { code });
    const n = Math.min(len, max, failAfter - total);
    total += n;
    return writeSync(fd, buf, off, n);
  }) as typeof writeSync;
}

describe('shuffle spill writes', () => {
  it('short writes are completed: every record reads back (they were lost before, "Unable to deserialize cloned data")', () => {
    const dir = join(tempDir(), 'spill');
    mkdirSync(dir);
    shortWrites(1000);
    const n = 500;
    const spill = new BucketSpill(dir, 3, n);
    for (let i = 0; i < n; i++) spill.add((i * 7) % n, { id: `r${i}`, text: 'x'.repeat(i % 50) });
    const rows = [...spill.drain()].flat();
    expect(rows.length).toBe(n);
    expect(rows[0].id).toBe('r0');
  });

  it('a full disk while spilling in mix is E_DISK_FULL naming the write stage scatter unit; no output is left', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: full
seed: 1
tokenizer: words
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}/*.jsonl"], text: text }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text }
output: { dir: out, format: jsonl }
report: false
`,
    );
    for (const workers of [1, 2]) {
      shortWrites(4096, 20_000);
      const out = join(dir, `out${workers}`);
      const err = await runRecipeFile(recipe, { out, workers }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_DISK_FULL',
        file: expect.stringMatching(/[/\\]write[/\\][0-9a-f]{16}[/\\]scatter[/\\][^/\\]+\.bin$/),
        message: expect.stringMatching(/^no space left on the device while spilling the shuffle \(ENOSPC;/),
      });
      expect((err as { isUserError: boolean }).isUserError).toBe(false); // exit 1
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith(`.out${workers}.`))).toEqual([]);
    }
  });
});
