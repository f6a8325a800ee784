/**
 * The scan stage leaves stored MinHash signatures undecoded (issue 12's re-mix: the minhash group
 * was a quarter of the attribute load): it verifies the file's sha256 and decodes it only when near
 * dedup runs. The decoded signatures equal the computed ones, a file that does not verify is
 * recomputed at once, and the dedup key does not depend on whether they were decoded.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe } from '@curate/recipe';
import { expandInputs } from '@curate/shards';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { scanStage, scanTasks, TOOL_VERSION, WorkDir } from '../dist/index.js';
import { tempDir, writeRecipe } from './helpers.js';

describe.skipIf(!HAS_SHARED)('stored signatures decoded on demand', () => {
  it('equal the computed ones; a file that does not verify is recomputed in the scan', async () => {
    const dir = tempDir();
    const lines = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(dir, 'dolly.jsonl'), `${lines.slice(0, 1500).join('\n')}\n`);
    const file = writeRecipe(
      dir,
      'r.yaml',
      `name: sigs
seed: 1
tokenizer: cl100k_base
sources:
  - { name: dolly, kind: real, paths: [${join(dir, 'dolly.jsonl')}], text: "{instruction}\\n\\n{response}" }
dedup: { near: { threshold: 0.8 } }
output: { dir: ${join(dir, 'out')} }
report: false
`,
    );
    const { recipe } = await loadRecipe(file);
    const tasks = scanTasks([await expandInputs(recipe.sources[0].paths)]);
    const work = await WorkDir.open(join(dir, 'work'), TOOL_VERSION);
    const scan = () => scanStage(recipe, tasks, { workers: 1, work, tool: TOOL_VERSION });
    try {
      const computed = (await scan()).scans[0];
      expect(computed.sigRows.length).toBeGreaterThan(1400);
      expect(computed.loadSigs).toBeUndefined();

      const { scans, record } = await scan();
      expect(record).toMatchObject({ reused: 1, groups_computed: 0 });
      const loaded = scans[0];
      expect(loaded.sigs.length).toBe(0); // not decoded yet
      expect(loaded.sigGroup).toBe(computed.sigGroup);
      expect(typeof loaded.sigGroup).toBe('string');
      await loaded.loadSigs?.();
      expect(loaded.loadSigs).toBeUndefined();
      expect(Array.from(loaded.sigRows)).toEqual(Array.from(computed.sigRows));
      expect(Buffer.from(loaded.sigs.buffer).equals(Buffer.from(computed.sigs.buffer))).toBe(true);

      // one byte of the stored signatures altered: the scan recomputes that group, not a later decode
      const attrs = join(dir, 'work', 'attributes');
      const inputDir = join(attrs, readdirSync(attrs)[0]);
      const sigFile = join(
        inputDir,
        readdirSync(inputDir).find((f) => f.startsWith('minhash.') && f.endsWith('.parquet')) as string,
      );
      const bytes = readFileSync(sigFile);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(sigFile, bytes);
      const again = await scan();
      expect(again.record).toMatchObject({ groups_computed: 1 });
      const redone = again.scans[0];
      expect(redone.loadSigs).toBeUndefined();
      expect(Buffer.from(redone.sigs.buffer).equals(Buffer.from(computed.sigs.buffer))).toBe(true);
    } finally {
      await work.release();
    }
  }, 60_000);
});
