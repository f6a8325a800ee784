/**
 * Shape of the conversations a run read: turns per conversation and characters per turn by role,
 * as histograms per kind (real vs synthetic), for the manifest's `conversations` and the report.
 * Counted in pass 1 over every row a conversation source read (before any drop), so it describes
 * the inputs; histograms add, so file parts and files merge by addition.
 */
import type { Role, Turn } from '@curate/shards';

/** Bin edges: turns per conversation (the last bin open-ended). */
export const TURN_EDGES = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 64, 1e9];
/** Bin edges: characters per turn. */
export const CHAR_EDGES = [0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 1e12];
const ROLES: readonly Role[] = ['system', 'user', 'assistant', 'tool'];

/** Histograms of one file (or part): `turns[i]` rows in bin i, `chars[role][i]` turns in bin i. */
export interface ChatCounts {
  rows: number;
  turns: number[];
  chars: Record<string, number[]>;
  /** Multimodal content parts that are not text (left out of the text), by part type. */
  nonText: Record<string, number>;
}

function bin(edges: readonly number[], v: number): number {
  let i = 0;
  while (i < edges.length - 2 && v >= edges[i + 1]) i++;
  return i;
}

export function newChatCounts(): ChatCounts {
  const chars: Record<string, number[]> = {};
  for (const r of ROLES) chars[r] = new Array(CHAR_EDGES.length - 1).fill(0);
  return { rows: 0, turns: new Array(TURN_EDGES.length - 1).fill(0), chars, nonText: {} };
}

export function addConversation(c: ChatCounts, turns: readonly Turn[]): void {
  c.rows++;
  c.turns[bin(TURN_EDGES, turns.length)]++;
  for (const t of turns) c.chars[t.role][bin(CHAR_EDGES, t.content.length)]++;
}

export function addCounts(into: ChatCounts, c: ChatCounts): void {
  into.rows += c.rows;
  for (let i = 0; i < c.turns.length; i++) into.turns[i] += c.turns[i];
  for (const r of ROLES) for (let i = 0; i < c.chars[r].length; i++) into.chars[r][i] += c.chars[r][i];
  for (const [k, n] of Object.entries(c.nonText ?? {})) into.nonText[k] = (into.nonText[k] ?? 0) + n;
}

/** One histogram of the manifest: bin edges and counts per kind (the report draws it as the quality signals). */
export interface ChatHistogramRecord {
  label: string;
  edges: number[];
  real: number[];
  synthetic: number[];
  /** Conversations (turn histogram) or turns (length histograms) counted per kind. */
  sampled: { real: number; synthetic: number };
}

/**
 * The manifest's `conversations`: `turns` (turns per conversation) and `chars_<role>` (characters per
 * turn of that role), real vs synthetic; undefined when no source is a conversation.
 */
export function chatHistograms(
  sources: readonly { kind: 'real' | 'synthetic'; counts: readonly (ChatCounts | null | undefined)[] }[],
): Record<string, ChatHistogramRecord> | undefined {
  const byKind = { real: newChatCounts(), synthetic: newChatCounts() };
  let any = false;
  for (const s of sources)
    for (const c of s.counts) {
      if (!c) continue;
      any = true;
      addCounts(byKind[s.kind], c);
    }
  if (!any) return undefined;
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const out: Record<string, ChatHistogramRecord> = {
    turns: {
      label: 'turns per conversation',
      edges: TURN_EDGES,
      real: byKind.real.turns,
      synthetic: byKind.synthetic.turns,
      sampled: { real: byKind.real.rows, synthetic: byKind.synthetic.rows },
    },
  };
  for (const r of ROLES) {
    const real = byKind.real.chars[r];
    const synthetic = byKind.synthetic.chars[r];
    if (sum(real) + sum(synthetic) === 0) continue;
    out[`chars_${r}`] = {
      label: `characters per ${r} turn`,
      edges: CHAR_EDGES,
      real,
      synthetic,
      sampled: { real: sum(real), synthetic: sum(synthetic) },
    };
  }
  return out;
}

/**
 * One `non_text_parts` warning per conversation source whose turns held content parts that are not
 * text (images, audio): their text parts were kept and these left out of the text, counted by type.
 */
export function nonTextWarnings(
  sources: readonly { name: string; counts: readonly (ChatCounts | null | undefined)[] }[],
): { code: string; message: string; sources: string[] }[] {
  const out: { code: string; message: string; sources: string[] }[] = [];
  for (const s of sources) {
    const by: Record<string, number> = {};
    for (const c of s.counts) for (const [k, n] of Object.entries(c?.nonText ?? {})) by[k] = (by[k] ?? 0) + n;
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    const list = Object.entries(by)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    out.push({
      code: 'non_text_parts',
      message: `source "${s.name}": ${total} content parts that are not text were left out of the text (${list}); the text parts of those turns were kept`,
      sources: [s.name],
    });
  }
  return out;
}
