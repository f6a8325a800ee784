/**
 * Conversations as documents: a column holding a list of turns, OpenAI-style `{role, content}` or
 * ShareGPT-style `{from, value}`. A `ConversationTemplate` is a `TextTemplate` (its `render` is the
 * chat-template rendering: what the trainer sees, what tokens are counted on, the output `text`)
 * with `view`s: the turns of chosen roles, content only, one paragraph each, for the steps that
 * should see only those (quality on assistant turns, decontamination on user turns, dedup without
 * the system prompt).
 *
 * Bad input is an InputError naming file and row: a turn that is not an object, a turn without
 * content, a role the mapping does not know, an empty conversation, a file mixing the two shapes.
 * A content list of parts (multimodal) gives its text parts; the other parts are counted
 * (`nonTextParts`), never silently dropped from the count.
 */
import { type Batch, dict, InputError } from '@curate/core';
import type { TextTemplate } from './template.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';
export const ROLES: readonly Role[] = ['system', 'user', 'assistant', 'tool'];
export type ConversationFormat = 'auto' | 'openai' | 'sharegpt';
export type ChatTemplateName = 'chatml' | 'plain';
/** The steps that see a view of the conversation instead of its rendering. */
export type ConversationView = 'quality' | 'decontaminate' | 'dedup';

export interface Turn {
  role: Role;
  content: string;
}

export interface ConversationOptions {
  /** Column holding the turns (default `messages`). */
  column?: string;
  format?: ConversationFormat;
  /** More role names: `{ bot: 'assistant' }`. */
  roles?: Readonly<Record<string, Role>>;
  template?: ChatTemplateName;
  quality?: readonly Role[];
  decontaminate?: readonly Role[];
  dedup?: readonly Role[];
}

/** Role names known without a mapping (OpenAI's, ShareGPT's and a few common aliases). */
export const DEFAULT_ROLE_NAMES: Readonly<Record<string, Role>> = {
  system: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  developer: 'system',
  function: 'tool',
  human: 'user',
  gpt: 'assistant',
  observation: 'tool',
};

/** Render turns with a named chat template. */
export function renderChat(turns: readonly Turn[], template: ChatTemplateName): string {
  let out = '';
  if (template === 'chatml') {
    for (const t of turns) out += `<|im_start|>${t.role}\n${t.content}<|im_end|>\n`;
    return out;
  }
  for (let i = 0; i < turns.length; i++) out += `${i ? '\n' : ''}${turns[i].role}: ${turns[i].content}`;
  return out;
}

/**
 * Character ranges (flat start, end pairs) of the content of the turns whose role is in `roles`, in
 * a ChatML rendering (`renderChat(turns, 'chatml')`, or that text after a transform that kept its
 * markers): each turn is `<|im_start|>ROLE\n` + content up to the `<|im_end|>\n` that ends the text
 * or is followed by the next `<|im_start|>`. Empty when the text is not a ChatML rendering.
 */
export function chatmlRanges(text: string, roles: ReadonlySet<Role>): number[] {
  const START = '<|im_start|>';
  const END = '<|im_end|>\n';
  const out: number[] = [];
  let i = 0;
  while (i < text.length) {
    if (!text.startsWith(START, i)) return [];
    const nl = text.indexOf('\n', i + START.length);
    if (nl < 0) return [];
    const role = text.slice(i + START.length, nl) as Role;
    const from = nl + 1;
    let end = text.indexOf(END + START, from);
    if (end < 0) {
      end = text.length - END.length;
      if (end < from || !text.endsWith(END)) return [];
    }
    if (roles.has(role) && end > from) out.push(from, end);
    i = end + END.length;
  }
  return out;
}

/** The content of the turns whose role is in `roles`, one paragraph each. */
export function roleText(turns: readonly Turn[], roles: ReadonlySet<Role>): string {
  let out = '';
  let first = true;
  for (const t of turns) {
    if (!roles.has(t.role)) continue;
    out += first ? t.content : `\n\n${t.content}`;
    first = false;
  }
  return out;
}

export interface ConversationTemplate extends TextTemplate {
  readonly options: Required<ConversationOptions>;
  /** The turns of row `row` (parsed once per row; the last row's are cached). */
  turns(batch: Batch, row: number): Turn[];
  /** The turns of the step's roles, content only, one paragraph each. */
  view(step: ConversationView, batch: Batch, row: number): string;
  /** Content parts that were not text (images, audio) seen so far, by part type. */
  readonly nonTextParts: Record<string, number>;
}

type Shape = 'openai' | 'sharegpt';
const KEYS: Record<Shape, { role: string; content: string }> = {
  openai: { role: 'role', content: 'content' },
  sharegpt: { role: 'from', content: 'value' },
};

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

/** Compile conversation options (defaults as in the recipe) into a template. */
export function compileConversation(options: ConversationOptions = {}): ConversationTemplate {
  const o: Required<ConversationOptions> = {
    column: options.column ?? 'messages',
    format: options.format ?? 'auto',
    roles: options.roles ?? {},
    template: options.template ?? 'chatml',
    quality: options.quality ?? ['assistant'],
    decontaminate: options.decontaminate ?? ['user'],
    dedup: options.dedup ?? ['user', 'assistant', 'tool'],
  };
  const roleOf = dict<Role>();
  Object.assign(roleOf, DEFAULT_ROLE_NAMES, o.roles);
  const known = Object.keys(roleOf).join(', ');
  const views: Record<ConversationView, Set<Role>> = {
    quality: new Set(o.quality),
    decontaminate: new Set(o.decontaminate),
    dedup: new Set(o.dedup),
  };
  const nonTextParts = dict<number>();
  /** The shape each file was found in (auto) — a file may not mix them. */
  const fileShape = new Map<string, { shape: Shape; row: number }>();
  let lastBatch: Batch | undefined;
  let lastRow = -1;
  let lastTurns: Turn[] = [];

  const fail = (batch: Batch, row: number, message: string, code = 'E_CONVERSATION') =>
    new InputError(`column "${o.column}": ${message}`, {
      code,
      file: batch.file,
      row: (batch.offset ?? 0) + row,
    });

  const shapeOf = (batch: Batch, row: number, turn: Record<string, unknown>, i: number): Shape => {
    const has = (s: Shape) => Object.hasOwn(turn, KEYS[s].role) || Object.hasOwn(turn, KEYS[s].content);
    let shape: Shape;
    if (o.format !== 'auto') {
      shape = o.format;
      const other: Shape = shape === 'openai' ? 'sharegpt' : 'openai';
      if (!has(shape) && has(other))
        throw fail(
          batch,
          row,
          `turn ${i} has ${KEYS[other].role}/${KEYS[other].content} (${other}) but conversation.format is ${shape}`,
          'E_CONVERSATION_SHAPE',
        );
      return shape;
    }
    if (has('openai')) shape = 'openai';
    else if (has('sharegpt')) shape = 'sharegpt';
    else
      throw fail(
        batch,
        row,
        `turn ${i} has neither role/content (openai) nor from/value (sharegpt): keys ${Object.keys(turn).join(', ') || 'none'}`,
        'E_CONVERSATION_SHAPE',
      );
    const key = batch.file ?? '';
    const seen = fileShape.get(key);
    if (!seen) fileShape.set(key, { shape, row: (batch.offset ?? 0) + row });
    else if (seen.shape !== shape)
      throw fail(
        batch,
        row,
        `turn ${i} is ${shape} but row ${seen.row + 1} of this file is ${seen.shape}: one file holds one shape of turns`,
        'E_CONVERSATION_MIXED',
      );
    return shape;
  };

  const contentOf = (batch: Batch, row: number, turn: Record<string, unknown>, key: string, i: number): string => {
    const c = turn[key];
    if (typeof c === 'string') return c;
    if (Array.isArray(c)) {
      // multimodal parts: the text parts, in order; the others counted by type
      let text = '';
      let texts = 0;
      for (const part of c) {
        if (typeof part === 'string') {
          text += (texts++ ? '\n' : '') + part;
          continue;
        }
        if (part === null || typeof part !== 'object')
          throw fail(batch, row, `turn ${i}: a content part is ${describe(part)}, not an object`);
        const p = part as Record<string, unknown>;
        if ((p.type === 'text' || p.type === undefined) && typeof p.text === 'string') {
          text += (texts++ ? '\n' : '') + p.text;
          continue;
        }
        const type = typeof p.type === 'string' ? p.type : 'unknown';
        nonTextParts[type] = (nonTextParts[type] ?? 0) + 1;
      }
      return text;
    }
    // an OpenAI assistant turn that only calls tools has null content: it says nothing
    if (c === null && Array.isArray(turn.tool_calls)) return '';
    throw fail(
      batch,
      row,
      c === undefined || c === null
        ? `turn ${i} has no ${key}`
        : `turn ${i}: ${key} is ${describe(c)}, not text or a list of parts`,
      'E_CONVERSATION_TURN',
    );
  };

  const parse = (batch: Batch, row: number): Turn[] => {
    const col = Object.hasOwn(batch.columns, o.column) ? batch.columns[o.column] : undefined;
    let v = col?.[row];
    if (typeof v === 'string' && v.charCodeAt(0) === 91 /* [ */) {
      try {
        v = JSON.parse(v);
      } catch {
        throw fail(batch, row, 'is text that is not a JSON list of turns', 'E_CONVERSATION');
      }
    }
    if (v === null || v === undefined || (Array.isArray(v) && v.length === 0))
      throw fail(batch, row, 'empty conversation (no turns)', 'E_CONVERSATION_EMPTY');
    if (!Array.isArray(v)) throw fail(batch, row, `is ${describe(v)}, not a list of turns`);
    const turns: Turn[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const t = v[i];
      if (t === null || typeof t !== 'object' || Array.isArray(t))
        throw fail(batch, row, `turn ${i} is ${describe(t)}, not an object`, 'E_CONVERSATION_TURN');
      const turn = t as Record<string, unknown>;
      const keys = KEYS[shapeOf(batch, row, turn, i)];
      const name = turn[keys.role];
      if (typeof name !== 'string')
        throw fail(batch, row, `turn ${i} has no ${keys.role} (a role name)`, 'E_CONVERSATION_TURN');
      const role = Object.hasOwn(roleOf, name) ? roleOf[name] : roleOf[name.toLowerCase()];
      if (role === undefined)
        throw fail(
          batch,
          row,
          `turn ${i} has the unknown role "${name}" (known: ${known}); map it with conversation.roles, e.g. { ${name}: assistant } (curate --role-map ${name}=assistant)`,
          'E_CONVERSATION_ROLE',
        );
      turns[i] = { role, content: contentOf(batch, row, turn, keys.content, i) };
    }
    return turns;
  };

  const turns = (batch: Batch, row: number): Turn[] => {
    if (batch !== lastBatch || row !== lastRow) {
      lastTurns = parse(batch, row);
      lastBatch = batch;
      lastRow = row;
    }
    return lastTurns;
  };

  return {
    options: o,
    columns: [o.column],
    nonTextParts,
    turns,
    render: (batch, row) => renderChat(turns(batch, row), o.template),
    view: (step, batch, row) => roleText(turns(batch, row), views[step]),
    check(batch) {
      if (!Object.hasOwn(batch.columns, o.column)) {
        throw new InputError(
          `missing conversation column "${o.column}"; columns: ${Object.keys(batch.columns).join(', ') || '(none)'}`,
          { code: 'E_MISSING_COLUMN', file: batch.file },
        );
      }
    },
  };
}

/**
 * A conversation template whose `render` is one step's view (the content of that step's roles, one
 * paragraph each) instead of the chat rendering: what a file-level command that is one step
 * (`curate dedup`, `filter`, `decontam`) compares or judges.
 */
export function conversationView(options: ConversationOptions, step: ConversationView): ConversationTemplate {
  const conv = compileConversation(options);
  return { ...conv, render: (batch, row) => conv.view(step, batch, row) };
}

/** Is `t` a conversation template (not a plain text template)? */
export function isConversation(t: TextTemplate): t is ConversationTemplate {
  return typeof (t as Partial<ConversationTemplate>).view === 'function';
}
