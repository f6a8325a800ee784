import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { CorpusMetrics, computeStats, ROLE_SAMPLE_TOKENS, RoleMetrics, words } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const chat = (i: number) => [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: `question number ${i} about the weather in city ${i % 7}` },
  { role: 'assistant', content: `the weather in city ${i % 7} is fine today, answer ${i}` },
];

describe('RoleMetrics', () => {
  it('measures each role apart (each turn a document), merges exactly and survives a structured clone', () => {
    const one = new RoleMetrics({ seed: 3 });
    const a = new RoleMetrics({ seed: 3 });
    const b = new RoleMetrics({ seed: 3 });
    const assistant = new CorpusMetrics({ seed: 3, sampleTokens: ROLE_SAMPLE_TOKENS });
    for (let i = 0; i < 300; i++) {
      one.add(chat(i));
      (i % 2 ? a : b).add(chat(i));
      assistant.add(chat(i)[2].content);
    }
    a.merge(RoleMetrics.fromState(structuredClone(b.toState())));
    expect(one.roles()).toEqual(['system', 'user', 'assistant']);
    const r = one.result();
    expect(r.user.documents).toBe(300);
    expect(JSON.stringify(a.result())).toBe(JSON.stringify(r));
    expect(JSON.stringify(r.assistant)).toBe(JSON.stringify(assistant.result()));
    expect(r.system.distinct[2]).toBeLessThan(0.01);
  });
});

describe.skipIf(!HAS_SHARED)('computeStats on conversations', () => {
  it("nanochat's bare arrays of turns: metrics of the ChatML rendering and per role", async () => {
    const path = shared('chat', 'synthetic_nanochat_identity_conversations.jsonl');
    const s = await computeStats({ inputs: [path], conversation: {} });
    expect(s.groups.all.documents).toBe(1000);
    const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim());
    const want: Record<string, { documents: number; words: number }> = {};
    for (const l of lines)
      for (const t of JSON.parse(l) as { role: string; content: string }[]) {
        const e = (want[t.role] ??= { documents: 0, words: 0 });
        e.documents++;
        e.words += words(t.content).length;
      }
    const roles = s.roles?.all ?? {};
    expect(Object.keys(roles)).toEqual(['user', 'assistant']);
    for (const r of ['user', 'assistant'])
      expect({ documents: roles[r].documents, words: roles[r].words }).toEqual(want[r]);
  });

  it('groups by kind and compares each role with the real role', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'curate-roles-'));
    dirs.push(dir);
    const rows = [];
    for (let i = 0; i < 200; i++) {
      rows.push(JSON.stringify({ kind: 'real', messages: chat(i) }));
      rows.push(
        JSON.stringify({
          kind: 'synthetic',
          messages: [
            { role: 'user', content: chat(i)[1].content },
            { role: 'assistant', content: 'as an ai language model i cannot answer that' },
          ],
        }),
      );
    }
    await writeFile(join(dir, 'a.jsonl'), rows.join('\n'));
    const s = await computeStats({ inputs: [join(dir, 'a.jsonl')], groupBy: 'kind', conversation: {} });
    expect(Object.keys(s.roles ?? {})).toEqual(['real', 'synthetic']);
    expect(Object.keys(s.roleComparisons?.synthetic ?? {})).toEqual(['user', 'assistant']);
    expect(s.roleComparisons?.synthetic.user.jsd).toBe(0);
    expect(s.roleComparisons?.synthetic.assistant.distinctRatio).toBeLessThan(0.2);
  });
});
