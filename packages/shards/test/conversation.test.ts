/**
 * Conversations: bare-array JSONL lines, OpenAI and ShareGPT turns, role mapping, renderings and
 * views, and one-line errors naming file and row.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Batch, collect, makeBatch } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { compileConversation, readShard, readShards } from '../src/index.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();
const NANOCHAT = shared('chat', 'synthetic_nanochat_identity_conversations.jsonl');

const batchOf = (messages: unknown[], file = 'chat.jsonl', offset = 10): Batch => ({
  ...makeBatch({ messages }),
  file,
  offset,
});

describe('JSONL lines that are bare arrays of turns', () => {
  it.skipIf(!HAS_SHARED)('read the real nanochat file as the column messages, every turn exact', async () => {
    const batches = await collect(readShards([NANOCHAT]));
    const rows = batches.flatMap((b) => b.columns.messages as { role: string; content: string }[][]);
    expect(rows.length).toBe(1000);
    expect(Object.keys(batches[0].columns)).toEqual(['messages']);
    const turns = rows.reduce((n, r) => n + r.length, 0);
    expect(turns / rows.length).toBeCloseTo(7.4, 1);
    const conv = compileConversation();
    const b = batches[0];
    expect(conv.render(b, 0).startsWith('<|im_start|>user\nHey nanochat!')).toBe(true);
    expect(conv.view('quality', b, 0).startsWith("That's a great question!")).toBe(true);
  });

  it('a file mixing objects and bare arrays is one error naming the line', async () => {
    const p = join(await tmp(), 'mixed.jsonl');
    await writeFile(p, '[{"role":"user","content":"a"}]\n\n{"messages":[]}\n');
    const e = await rejection(collect(readShard(p)));
    expect(e.code).toBe('E_JSONL_MIXED');
    expect(e.row).toBe(2);
    expect(e.message).toContain('line 1 is a bare array');
  });

  it('a .json array of arrays reads each as the column messages', async () => {
    const p = join(await tmp(), 'chats.json');
    await writeFile(p, '[[{"from":"human","value":"hi"}],[{"from":"gpt","value":"yo"}]]');
    const [b] = await collect(readShard(p));
    expect(b.columns.messages).toEqual([[{ from: 'human', value: 'hi' }], [{ from: 'gpt', value: 'yo' }]]);
  });
});

describe('compileConversation', () => {
  const openai = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2+2?' },
    { role: 'assistant', content: '4.' },
  ];
  it('renders ChatML and plain, and views by role', () => {
    const b = batchOf([openai]);
    expect(compileConversation().render(b, 0)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4.<|im_end|>\n',
    );
    const plain = compileConversation({ template: 'plain' });
    expect(plain.render(b, 0)).toBe('system: Be brief.\nuser: What is 2+2?\nassistant: 4.');
    expect(plain.view('quality', b, 0)).toBe('4.');
    expect(plain.view('decontaminate', b, 0)).toBe('What is 2+2?');
    expect(plain.view('dedup', b, 0)).toBe('What is 2+2?\n\n4.');
  });

  it('maps ShareGPT roles (human, gpt, system, tool) and mapped names; multimodal parts give their text and are counted', () => {
    const conv = compileConversation({ roles: { bot: 'assistant' } });
    const b = batchOf([
      [
        { from: 'system', value: 's' },
        { from: 'human', value: 'q' },
        { from: 'gpt', value: 'a' },
        { from: 'tool', value: 't' },
        { from: 'bot', value: 'b' },
      ],
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: '1' }] },
      ],
    ]);
    expect(conv.turns(b, 0).map((t) => t.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    const other = compileConversation();
    expect(other.turns({ ...b, file: 'other.jsonl' }, 1)).toEqual([
      { role: 'user', content: 'look' },
      { role: 'assistant', content: '' },
    ]);
    expect(other.nonTextParts).toEqual({ image_url: 1 });
  });

  it('bad conversations are one-line errors naming file and row', () => {
    const err = (messages: unknown, options = {}) => {
      try {
        compileConversation(options).render(batchOf([messages]), 0);
      } catch (e) {
        const x = e as Error & { code: string; file: string; row: number };
        return `${x.code} ${x.file}:${x.row} ${x.message}`;
      }
      return 'no error';
    };
    expect(err([])).toBe('E_CONVERSATION_EMPTY chat.jsonl:10 column "messages": empty conversation (no turns)');
    expect(err(null)).toBe('E_CONVERSATION_EMPTY chat.jsonl:10 column "messages": empty conversation (no turns)');
    expect(err(['hi'])).toBe('E_CONVERSATION_TURN chat.jsonl:10 column "messages": turn 0 is a string, not an object');
    expect(err([{ role: 'user' }])).toBe('E_CONVERSATION_TURN chat.jsonl:10 column "messages": turn 0 has no content');
    expect(err([{ role: 'user', content: null }])).toBe(
      'E_CONVERSATION_TURN chat.jsonl:10 column "messages": turn 0 has no content',
    );
    expect(err([{ role: 'narrator', content: 'x' }])).toContain(
      'E_CONVERSATION_ROLE chat.jsonl:10 column "messages": turn 0 has the unknown role "narrator" (known: system, user, assistant, tool, developer, function, human, gpt, observation); map it with conversation.roles, e.g. { narrator: assistant } (curate --role-map narrator=assistant)',
    );
    expect(err([{ from: 'human', value: 'x' }], { format: 'openai' })).toBe(
      'E_CONVERSATION_SHAPE chat.jsonl:10 column "messages": turn 0 has from/value (sharegpt) but conversation.format is openai',
    );
    expect(
      err([
        { role: 'user', content: 'a' },
        { from: 'gpt', value: 'b' },
      ]),
    ).toBe(
      'E_CONVERSATION_MIXED chat.jsonl:10 column "messages": turn 1 is sharegpt but row 11 of this file is openai: one file holds one shape of turns',
    );
  });
});
