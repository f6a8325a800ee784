/**
 * Conversations as documents (issue 15) on real data: Dolly as user/assistant chats with one system
 * prompt shared by every row (JSONL, OpenAI turns), alpaca-libre as ShareGPT chats in Parquet
 * written by DuckDB (LIST<STRUCT<from, value>>), nanochat's machine-written multi-turn chats (bare
 * arrays of turns per line), and synthetic chats with GSM8K test questions planted in user turns
 * and in assistant turns.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { duckRows, tempDir, writeRecipe } from './helpers.js';

const SYSTEM =
  'You are a helpful, careful and honest assistant. Answer the question of the user as well as you can, cite the context when one is given, and say so when you do not know the answer.';

const jsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

function buildData(dir: string) {
  const dolly = jsonl(shared('instruct_pair', 'human_dolly15k.jsonl')).slice(0, 3000);
  const chats = dolly.map((d) => ({
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: d.context ? `${d.instruction}\n\n${d.context}` : d.instruction },
      { role: 'assistant', content: d.response },
    ],
  }));
  // the same conversation under another system prompt: a duplicate once system turns are excluded
  for (let i = 0; i < 20; i++) {
    chats.push({
      messages: [{ role: 'system', content: `Persona ${i}: a pirate.` }, ...chats[i * 7].messages.slice(1)],
    });
  }
  writeFileSync(join(dir, 'dolly_chat.jsonl'), chats.map((c) => JSON.stringify(c)).join('\n'));
  const libre = jsonl(shared('instruct_pair', 'synthetic_alpaca_libre_gpt35.jsonl')).slice(0, 2000);
  writeFileSync(
    join(dir, 'libre_sharegpt.jsonl'),
    libre
      .map((d) =>
        JSON.stringify({
          conversations: [
            { from: 'human', value: d.input ? `${d.instruction}\n\n${d.input}` : d.instruction },
            { from: 'gpt', value: d.output },
          ],
        }),
      )
      .join('\n'),
  );
  const gsm = jsonl(shared('decontam', 'gsm8k_test.jsonl')).slice(0, 100);
  const planted = gsm.map((g, i) =>
    i < 50
      ? [
          { role: 'user', content: g.question },
          { role: 'assistant', content: 'Let us work through it step by step and check the arithmetic twice.' },
        ]
      : [
          { role: 'user', content: 'Can you give me a word problem to practise with, please?' },
          { role: 'assistant', content: `Sure, here is one: ${g.question}` },
        ],
  );
  // a multimodal user turn: its text part is the question, the image part is counted and said
  (planted[0][0] as { content: unknown }).content = [
    { type: 'text', text: gsm[0].question },
    { type: 'image_url', image_url: { url: 'https://example.invalid/x.png' } },
  ];
  // in a column of its own: its `content` mixes text and lists of parts, so that column's content is JSON
  writeFileSync(join(dir, 'planted.jsonl'), planted.map((c) => JSON.stringify({ chat: c })).join('\n'));
  return { chats };
}

describe.skipIf(!HAS_SHARED)('conversations as documents', () => {
  it('mixes chat sources: nested turns kept exactly, role-aware dedup and decontamination, ChatML token counts, lineage', async () => {
    const dir = tempDir();
    const { chats } = buildData(dir);
    // ShareGPT chats in Parquet written by DuckDB: LIST<STRUCT<from, value>>
    await duckRows(
      `COPY (SELECT * FROM read_json('${join(dir, 'libre_sharegpt.jsonl')}')) TO '${join(dir, 'libre.parquet')}' (FORMAT parquet)`,
    );
    const recipe = (name: string, decontamRoles: string, out: string) =>
      writeRecipe(
        dir,
        name,
        `
name: chat-mix
seed: 3
tokenizer: cl100k_base
target: { tokens: 400000, ratio: { real: 0.6, synthetic: 0.4 } }
sources:
  - name: dolly-chat
    kind: real
    paths: [dolly_chat.jsonl]
    conversation: { template: chatml }
  - name: libre-chat
    kind: synthetic
    generator: gpt-3.5-turbo
    paths: [libre.parquet]
    conversation: { column: conversations, format: sharegpt }
  - name: nanochat
    kind: synthetic
    generator: gemini-3-flash-preview
    generation: 1
    paths: [${shared('chat', 'synthetic_nanochat_identity_conversations.jsonl')}]
    conversation: {}
  - name: planted
    kind: synthetic
    generator: test
    generation: 2
    paths: [planted.jsonl]
    conversation: { column: chat, decontaminate: ${decontamRoles} }
quality:
  - length: { min: 1 }
dedup:
  exact: {}
  near: { threshold: 0.8 }
  decontaminate:
    - { name: gsm8k_test, paths: [${shared('decontam', 'gsm8k_test.jsonl')}], text: question }
guards: { max_recursive_share: 0.0001 }
output: { dir: ${out}, format: parquet, shard_rows: 5000 }
report: false
`,
      );
    const out = join(dir, 'out');
    const { manifest: m } = await runRecipeFile(recipe('chat.yaml', '[user]', 'out'), { out, workers: 2 });
    const src = (n: string) => m.sources.find((s) => s.name === n)!;

    // A system prompt shared by every Dolly row makes no near-duplicates; the same conversation under
    // another system prompt is an exact duplicate (system turns are not compared).
    expect(src('dolly-chat').rows_read).toBe(3020);
    const norm = (c: { messages: { content: string }[] }) =>
      c.messages
        .slice(1)
        .map((t) => t.content.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim())
        .join('\n\n');
    const natural = 3000 - new Set(chats.slice(0, 3000).map(norm)).size;
    expect(src('dolly-chat').dropped['dedup:exact']).toBe(20 + natural);
    expect(src('dolly-chat').dropped['dedup:near'] ?? 0).toBeLessThan(30);
    // GSM8K questions planted in user turns are all caught; in assistant turns only when asked
    expect(src('planted').dropped['decontam:gsm8k_test']).toBe(50);
    const { manifest: m2 } = await runRecipeFile(recipe('chat2.yaml', '[user, assistant]', 'out2'), {
      out: join(dir, 'out2'),
      workers: 2,
    });
    expect(m2.sources.find((s) => s.name === 'planted')?.dropped['decontam:gsm8k_test']).toBe(100);
    expect(src('nanochat').rows_read).toBe(1000);

    // DuckDB reads the conversation columns as nested types with the original turns exactly
    const glob = join(out, 'shard-*.parquet');
    const types = await duckRows(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${glob}'))`,
    );
    const typeOf = Object.fromEntries(types.map((r) => [r.column_name, r.column_type]));
    expect(typeOf.messages).toBe('STRUCT("role" VARCHAR, "content" VARCHAR)[]');
    expect(typeOf.conversations).toBe('STRUCT("from" VARCHAR, "value" VARCHAR)[]');
    expect(typeOf.generation).toBe('BIGINT');
    expect(typeOf.chat).toBe('STRUCT("role" VARCHAR, "content" JSON)[]');
    const rows = await duckRows(
      `SELECT source, source_row, generation, text, messages, conversations FROM read_parquet('${glob}')`,
    );
    expect(rows.length).toBe(m.totals.rows_written);
    const nano = readFileSync(shared('chat', 'synthetic_nanochat_identity_conversations.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
    let checked = 0;
    for (const r of rows) {
      if (r.source === 'dolly-chat') expect(r.messages).toEqual(chats[Number(r.source_row)].messages);
      else if (r.source === 'nanochat') expect(r.messages).toEqual(nano[Number(r.source_row)]);
      else continue;
      expect(String(r.text).startsWith('<|im_start|>')).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
    expect(new Set(rows.filter((r) => r.source === 'nanochat').map((r) => r.generation))).toEqual(new Set([1n]));

    // Token counts of the ChatML rendering match js-tiktoken; the ratio within one document per source
    const enc = getEncoding('cl100k_base');
    const per: Record<string, { tokens: number; max: number }> = {};
    for (const r of rows) {
      const n = enc.encode(String(r.text), [], []).length;
      const e = (per[String(r.source)] ??= { tokens: 0, max: 0 });
      e.tokens += n;
      e.max = Math.max(e.max, n);
    }
    let total = 0;
    let real = 0;
    let slack = 0;
    for (const s of m.sources) {
      if (s.rows_sampled === 0) continue;
      expect(per[s.name].tokens).toBe(s.tokens_sampled);
      total += per[s.name].tokens;
      if (s.kind === 'real') real += per[s.name].tokens;
      slack += per[s.name].max;
    }
    expect(Math.abs(real / total - 0.6)).toBeLessThanOrEqual(slack / total);

    // Lineage: token shares by depth and generator; generation >= 2 above the stated share warns
    expect(Object.keys(m.lineage!.by_generation).sort()).toEqual(['0', '1', '2']);
    expect(m.lineage!.by_generator.human.tokens).toBe(src('dolly-chat').tokens_sampled);
    expect(m.warnings.find((w) => w.code === 'recursive_generations')?.sources).toEqual(['planted']);
    expect(m.warnings.find((w) => w.code === 'non_text_parts')?.message).toBe(
      'source "planted": 1 content parts that are not text were left out of the text (image_url 1); the text parts of those turns were kept',
    );

    // Conversation shape over the rows read: turns per conversation and lengths per role, real vs synthetic
    const c = m.conversations!;
    expect(c.turns.sampled).toEqual({ real: 3020, synthetic: 2000 + 1000 + 100 });
    expect(c.turns.real[c.turns.edges.indexOf(3)]).toBe(3020); // system + user + assistant
    expect(c.chars_system.sampled.synthetic).toBe(0);
    expect(c.chars_user.sampled.real).toBe(3020);
    expect(c.chars_assistant.sampled.synthetic).toBeGreaterThan(3100);
  });
});
