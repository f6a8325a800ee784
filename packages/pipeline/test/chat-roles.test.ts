/**
 * Metrics per role (issue 15): a mix of conversation sources measures each role's turns apart
 * (each turn a document), per source and kind, and compares synthetic roles with the real ones.
 * Real data: Dolly as system/user/assistant chats (one system prompt shared by every row) and
 * nanochat's machine-written multi-turn chats (bare arrays of turns per line).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { words } from '@curate/metrics';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

const SYSTEM = 'You are a helpful assistant. Answer the question of the user as well as you can.';

const recipe = (out: string, rejected: boolean) => `
name: chat-roles
seed: 5
tokenizer: words
target: { documents: 1200, ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - name: dolly-chat
    kind: real
    paths: [dolly_chat.jsonl]
    conversation: {}
  - name: nanochat
    kind: synthetic
    generator: gemini-3-flash-preview
    paths: [${shared('chat', 'synthetic_nanochat_identity_conversations.jsonl')}]
    conversation: {}
quality:
  - length: { min: 1 }
output: { dir: ${out}, format: parquet, write_rejected: ${rejected} }
report: true
`;

describe.skipIf(!HAS_SHARED)('metrics per role', () => {
  it('measures each role of the written conversations, compares synthetic roles with real ones, the same on both pass-2 paths', async () => {
    const dir = tempDir();
    const dolly = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .slice(0, 1500)
      .map((l) => JSON.parse(l));
    writeFileSync(
      join(dir, 'dolly_chat.jsonl'),
      dolly
        .map((d) =>
          JSON.stringify({
            messages: [
              { role: 'system', content: SYSTEM },
              { role: 'user', content: d.instruction },
              { role: 'assistant', content: d.response },
            ],
          }),
        )
        .join('\n'),
    );
    // threaded pass 2 (no rejected rows) and main-thread pass 2 (rejected rows written)
    const a = await runRecipeFile(writeRecipe(dir, 'a.yaml', recipe(join(dir, 'a'), false)), { workers: 2 });
    const b = await runRecipeFile(writeRecipe(dir, 'b.yaml', recipe(join(dir, 'b'), true)), { workers: 2 });
    const roles = a.manifest.metrics.roles!;
    expect(roles).toBeDefined();
    expect(JSON.stringify(b.manifest.metrics.roles)).toBe(JSON.stringify(roles));

    const src = (n: string) => a.manifest.sources.find((s) => s.name === n)!;
    const dollyRoles = roles.sources['dolly-chat'] as Record<string, { documents: number; words: number }>;
    expect(Object.keys(dollyRoles)).toEqual(['system', 'user', 'assistant']);
    for (const r of ['system', 'user', 'assistant'])
      expect(dollyRoles[r].documents).toBe(src('dolly-chat').rows_sampled);
    expect(Object.keys(roles.sources.nanochat)).toEqual(['user', 'assistant']);
    expect(Object.keys(roles.kinds)).toEqual(['real', 'synthetic']);

    // independent count: the written turns as DuckDB reads them, words as @curate/metrics splits them
    const rows = await duckRows(
      `SELECT source, messages FROM read_parquet('${join(dir, 'a', 'shard-*.parquet')}') WHERE source = 'nanochat'`,
    );
    const want: Record<string, { documents: number; words: number }> = {};
    for (const r of rows)
      for (const t of r.messages as { role: string; content: string }[]) {
        const e = (want[t.role] ??= { documents: 0, words: 0 });
        e.documents++;
        e.words += words(t.content).length;
      }
    const nano = roles.sources.nanochat as Record<string, { documents: number; words: number }>;
    for (const r of ['user', 'assistant']) {
      expect({ documents: nano[r].documents, words: nano[r].words }).toEqual(want[r]);
    }

    // a system prompt repeated on every row is the least diverse "role" there is
    const d2 = (r: string) => (dollyRoles[r] as unknown as { distinct: { 2: number } }).distinct[2];
    expect(d2('system')).toBeLessThan(0.01);
    expect(d2('assistant')).toBeGreaterThan(0.5);
    // synthetic roles against the same real roles; a role the real pool lacks is not compared
    expect(Object.keys(roles.comparisons.nanochat)).toEqual(['user', 'assistant']);
    expect(roles.comparisons.nanochat.assistant.jsd).toBeGreaterThan(0);

    // the report shows them
    const html = readFileSync(join(dir, 'a', 'report.html'), 'utf8');
    expect(html).toContain('id="conversation-roles"');
    expect(html).toContain('assistant');
  }, 240_000);
});
