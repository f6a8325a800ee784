/**
 * Conversations in the file-level commands (issue 15): `--conversation [column]` with the recipe's
 * shape, role names and role views, on real data: Dolly as system/user/assistant chats, nanochat's
 * machine-written chats (bare arrays of turns per line), GSM8K test questions planted in chats.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { words } from '@curate/metrics';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

const SYSTEM = 'You are a helpful, careful and honest assistant. Answer the question of the user as well as you can.';
const NANO = HAS_SHARED ? shared('chat', 'synthetic_nanochat_identity_conversations.jsonl') : '';

const jsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

function rowsOf(dir: string): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => jsonl(join(dir, f)));
}

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

/** 1,000 Dolly rows as chats with one shared system prompt, plus 20 of them under another system prompt. */
function dollyChats(dir: string) {
  const dolly = jsonl(shared('instruct_pair', 'human_dolly15k.jsonl')).slice(0, 1000);
  const chats = dolly.map((d, i) => ({
    id: `dolly-${i}`,
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: d.context ? `${d.instruction}\n\n${d.context}` : d.instruction },
      { role: 'assistant', content: d.response },
    ],
  }));
  for (let i = 0; i < 20; i++)
    chats.push({
      id: `persona-${i}`,
      messages: [{ role: 'system', content: `Persona ${i}: a pirate.` }, ...chats[i * 7].messages.slice(1)],
    });
  const path = join(dir, 'dolly_chat.jsonl');
  writeFileSync(path, chats.map((c) => JSON.stringify(c)).join('\n'));
  const norm = (c: (typeof chats)[number]) =>
    c.messages
      .slice(1)
      .map((t) => t.content.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim())
      .join('\n\n');
  const natural = 1000 - new Set(chats.slice(0, 1000).map(norm)).size;
  return { path, chats, natural };
}

describe.skipIf(!HAS_SHARED)('conversations in dedup, filter, decontam and stats', () => {
  it('dedup --conversation: a shared system prompt makes no duplicates, the same chat under another system prompt is one; turns kept nested', async () => {
    const dir = tempDir();
    const { path, chats, natural } = dollyChats(dir);
    const out = join(dir, 'out');
    const r = await curate(['dedup', path, '--conversation', '--out', out, '--format', 'jsonl', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.removed['dedup:exact']).toBe(20 + natural);
    expect(s.removed['dedup:near'] ?? 0).toBeLessThan(15);
    // the kept rows are the input rows, turns as they were
    const byId = new Map(chats.map((c) => [c.id, c]));
    const kept = rowsOf(out);
    expect(kept.length).toBe(s.kept);
    for (const k of kept) expect(k.messages).toEqual(byId.get(k.id as string)?.messages);
    // system turns compared too: the 20 persona chats are no longer exact duplicates
    const r2 = await curate([
      'dedup',
      path,
      '--conversation',
      '--roles',
      'system,user,assistant',
      '--no-near',
      '--out',
      join(dir, 'out2'),
      '--json',
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout).removed['dedup:exact'] ?? 0).toBe(natural);
  }, 120_000);

  it('dedup on Parquet written by DuckDB (ShareGPT turns): DuckDB reads the kept column back as STRUCT(from, value)[] with the same turns', async () => {
    const dir = tempDir();
    const { chats } = dollyChats(dir);
    const src = join(dir, 'sharegpt.jsonl');
    writeFileSync(
      src,
      chats
        .map((c) =>
          JSON.stringify({
            id: c.id,
            conversations: c.messages.map((t) => ({
              from: t.role === 'user' ? 'human' : t.role === 'assistant' ? 'gpt' : 'system',
              value: t.content,
            })),
          }),
        )
        .join('\n'),
    );
    const pq = join(dir, 'in.parquet');
    await duck(`COPY (SELECT * FROM read_json('${src}')) TO '${pq}' (FORMAT parquet)`);
    const out = join(dir, 'out');
    const r = await curate(['dedup', pq, '--conversation', 'conversations', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.removed['dedup:exact']).toBeGreaterThanOrEqual(20);
    const glob = join(out, '*.parquet');
    const [type] = await duck(`SELECT column_type FROM (DESCRIBE SELECT conversations FROM read_parquet('${glob}'))`);
    expect(type.column_type).toBe('STRUCT("from" VARCHAR, "value" VARCHAR)[]');
    const orig = new Map(
      (await duck(`SELECT id, conversations FROM read_parquet('${pq}')`)).map((x) => [x.id, x.conversations]),
    );
    const rows = await duck(`SELECT id, conversations FROM read_parquet('${glob}')`);
    expect(rows.length).toBe(s.kept);
    for (const x of rows) expect(x.conversations).toEqual(orig.get(x.id));
  }, 120_000);

  it('decontam --conversation: GSM8K questions in user turns are all caught; in assistant turns with --roles user,assistant', async () => {
    const dir = tempDir();
    const gsm = jsonl(shared('decontam', 'gsm8k_test.jsonl')).slice(0, 100);
    const planted = gsm.map((g, i) => ({
      chat:
        i < 50
          ? [
              { from: 'human', value: g.question },
              { from: 'gpt', value: 'Let us work through it step by step and check the arithmetic twice.' },
            ]
          : [
              { from: 'human', value: 'Can you give me a word problem to practise with, please?' },
              { from: 'gpt', value: `Sure, here is one: ${g.question}` },
            ],
    }));
    const path = join(dir, 'planted.jsonl');
    writeFileSync(path, planted.map((p) => JSON.stringify(p)).join('\n'));
    const against = shared('decontam', 'gsm8k_test.jsonl');
    const args = ['decontam', path, '--against', against, '--against-text', 'question', '--conversation', 'chat'];
    const r = await curate([...args, '--out', join(dir, 'a'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).removed['decontam:gsm8k_test']).toBe(50);
    const r2 = await curate([...args, '--roles', 'user,assistant', '--out', join(dir, 'b'), '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout).removed['decontam:gsm8k_test']).toBe(100);
    // what was kept and rejected is the input, turns as they were (ShareGPT shape)
    const kept = rowsOf(join(dir, 'a'));
    const rejected = rowsOf(join(dir, 'a', 'rejected'));
    expect(kept.length + rejected.length).toBe(100);
    expect(rejected.map((x) => x.chat)).toEqual(planted.slice(0, 50).map((p) => p.chat));
  }, 120_000);

  it("filter --conversation on nanochat's bare arrays: filters judge assistant turns, c4 drops instead of cleaning, turns kept", async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const r = await curate([
      'filter',
      NANO,
      '--conversation',
      '--filters',
      'c4,gopher_repetition',
      '--out',
      out,
      '--format',
      'jsonl',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.documents_in).toBe(1000);
    const dropped = Object.values(s.dropped as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(s.kept + dropped).toBe(1000);
    expect(s.cleaned).toBe(0);
    const input = jsonl(NANO);
    const kept = rowsOf(out);
    const rejected = rowsOf(join(out, 'rejected'));
    expect(kept.length).toBe(s.kept);
    expect([...kept, ...rejected].map((x) => JSON.stringify(x.messages)).sort()).toEqual(
      input.map((x) => JSON.stringify(x)).sort(),
    );
    // a user-turn-only filter view differs from the assistant view: the drop counts change
    const r2 = await curate([
      'filter',
      NANO,
      '--conversation',
      '--roles',
      'user',
      '--filters',
      'c4',
      '--out',
      join(dir, 'user'),
      '--json',
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout).kept).not.toBe(s.kept);
  }, 120_000);

  it('stats --conversation: metrics per role match an independent count of the turns', async () => {
    const r = await curate(['stats', NANO, '--conversation', '--filters', 'none', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.groups.all.documents).toBe(1000);
    const want: Record<string, { documents: number; words: number }> = {};
    for (const c of jsonl(NANO))
      for (const t of c as { role: string; content: string }[]) {
        const e = (want[t.role] ??= { documents: 0, words: 0 });
        e.documents++;
        e.words += words(t.content).length;
      }
    expect(Object.keys(s.roles.all)).toEqual(['user', 'assistant']);
    for (const role of ['user', 'assistant'])
      expect({ documents: s.roles.all[role].documents, words: s.roles.all[role].words }).toEqual(want[role]);
    const text = await curate(['stats', NANO, '--conversation', '--filters', 'none']);
    expect(text.stdout).toContain('per role (each turn a document):');
  }, 120_000);

  it('bad conversation input and flags: one line, exit 2', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      [
        JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
        JSON.stringify({ messages: [{ role: 'narrator', content: 'once upon a time' }] }),
      ].join('\n'),
    );
    const cases: [string[], RegExp][] = [
      [
        ['dedup', bad, '--conversation', '--out', join(dir, 'o1')],
        /bad\.jsonl.*row 2|row 2.*bad\.jsonl|unknown role "narrator"/,
      ],
      [['stats', bad, '--conversation', '--text', 'x'], /give --text or --conversation, not both/],
      [
        ['filter', bad, '--conversation', '--roles', 'bot', '--filters', 'c4', '--out', join(dir, 'o2')],
        /--roles: unknown role "bot"/,
      ],
      [
        ['decontam', bad, '--against', bad, '--roles', 'user', '--out', join(dir, 'o3')],
        /--roles needs --conversation/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = await curate(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    // mapped, the role is known
    const r = await curate(['stats', bad, '--conversation', '--role-map', 'narrator=system', '--filters', 'none']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
});
