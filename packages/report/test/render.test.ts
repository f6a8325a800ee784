import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@curate/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ReportManifest, renderReport, writeReport } from '../src/index.js';
import { toYaml } from '../src/yaml.js';
import { FIXTURE, fixtureManifest } from './fixture.js';

const SECTIONS = [
  'summary',
  'warnings',
  'composition',
  'funnel',
  'dedup',
  'quality',
  'diversity',
  'lengths',
  'recipe',
  'checksums',
];

function svgs(html: string): string[] {
  return html.match(/<svg\b[\s\S]*?<\/svg>/g) ?? [];
}

function sectionHtml(html: string, id: string): string {
  const m = html.match(new RegExp(`<section id="${id}"[\\s\\S]*?</section>`));
  if (!m) throw new Error(`no section ${id}`);
  return m[0];
}

const html = renderReport(fixtureManifest());

describe('renderReport on the fixture manifest', () => {
  it('is one HTML document with a language, a title and every section under a heading', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<title>curate report: news-fiction-assistant</title>');
    expect(html.match(/<h1>/g)).toHaveLength(1);
    for (const id of SECTIONS) {
      const s = sectionHtml(html, id);
      expect(s).toMatch(new RegExp(`<h2 id="${id}-h">`));
      expect(s).toContain(`aria-labelledby="${id}-h"`);
      expect(s).not.toContain('class="empty"');
    }
  });

  it('draws every chart as an accessible svg with a data table', () => {
    const charts = svgs(html);
    // composition, 3 funnels, cluster sizes, quality, 11 quality signals, diversity, 2 length charts
    expect(charts).toHaveLength(20);
    for (const svg of charts) {
      const open = svg.slice(0, svg.indexOf('>'));
      expect(open).toContain('role="img"');
      const [, t, d] = open.match(/aria-labelledby="([^" ]+) ([^"]+)"/) ?? [];
      expect(svg).toMatch(new RegExp(`<title id="${t}">[^<]{10,}</title>`));
      expect(svg).toMatch(new RegExp(`<desc id="${d}">[^<]{20,}</desc>`));
      const marks = (svg.match(/<(rect|path|circle)\b/g) ?? []).length;
      expect(marks).toBeGreaterThan(3);
    }
    const figures = html.match(/<figure class="figure">[\s\S]*?<\/figure>/g) ?? [];
    expect(figures).toHaveLength(20);
    for (const f of figures)
      expect(f).toMatch(/<details class="data-details"><summary>Data table: [^<]+<\/summary>[\s\S]*<table/);
  });

  it('shows target vs achieved with the deviation, and the funnel counts of each source', () => {
    const comp = sectionHtml(html, 'composition');
    // assistant-synth: 6,650,340 of 23,000,000 tokens = 28.9% against a 30% target
    expect(comp).toContain('achieved 28.9% (−1.1 pp)');
    expect(comp).toContain('achieved 45.6% (+0.6 pp)');
    expect(comp).toContain('target 70.0%');
    const m = fixtureManifest();
    const funnel = sectionHtml(html, 'funnel');
    for (const s of m.sources ?? []) {
      expect(funnel).toContain(`Funnel of ${s.name}`);
      for (const [reason, n] of Object.entries(s.dropped ?? {})) {
        expect(funnel).toContain(`− ${reason}`);
        expect(funnel).toContain(`−${n.toLocaleString('en-US')}`);
      }
    }
    expect(funnel).not.toContain('do not add up');
    expect(sectionHtml(html, 'summary')).toContain('90,690');
  });

  it('lists every cluster size and every quality reason with its numbers', () => {
    const m = fixtureManifest();
    const dedup = sectionHtml(html, 'dedup');
    for (const [size, n] of Object.entries(m.dedup?.near?.cluster_sizes ?? {})) {
      expect(dedup).toContain(`<th scope="row">${size}</th><td class="num">${n.toLocaleString('en-US')}</td>`);
    }
    const q = sectionHtml(html, 'quality');
    expect(q).toContain('filter:gopher_repetition:top_3gram');
    expect(q).toContain('filter:grounded:unsupported');
    expect(q).not.toContain('− dedup:'); // dedup has its own section
  });

  it('draws each quality signal real vs synthetic with its bounds, and states the same numbers', () => {
    const m = fixtureManifest();
    const q = sectionHtml(html, 'quality');
    const multiples = q.match(/<div class="multiple">[\s\S]*?<\/figure><\/div>/g) ?? [];
    expect(multiples).toHaveLength(11);
    const wc = m.quality_signals?.word_count as { real: number[]; synthetic: number[]; sampled: { real: number } };
    const words = multiples.find((f) => f.includes('<figcaption>words (gopher_quality)</figcaption>')) ?? '';
    // the desc names the bounds and the share of each kind below the minimum (whole bins under 50)
    const below = (wc.real[0] + wc.real[1] + wc.real[2] + wc.real[3] + wc.real[4] + wc.real[5]) / wc.sampled.real;
    expect(below).toBeGreaterThan(0); // Brown has paragraphs under 50 words
    expect(words).toMatch(/<desc [^>]*>[^<]*min 50 and max 100k \(from the recipe\)/);
    expect(words).toContain(`real (${wc.sampled.real.toLocaleString('en-US')} rows)`);
    expect(words).toContain(`${(below * 100).toFixed(1)}% below min`);
    // bounds drawn as labelled lines, synthetic hatched
    expect(words).toContain('>min 50</text>');
    expect(words).toContain('>max 100k</text>');
    expect(words).toMatch(/<path d="[^"]+" fill="url\(#[^)]+hatch-D55E00\)"/);
    // the data table lists the bins with the same rows
    const i50 = 6; // edges 0, 1, 2, 5, 10, 20, 50, 100: bin 6 is [50, 100)
    expect(words).toContain(
      `<th scope="row">50 – 100</th><td class="num">${wc.real[i50].toLocaleString('en-US')}</td><td class="num">${((wc.real[i50] / wc.sampled.real) * 100).toFixed(1)}%</td>`,
    );
  });

  it('flags default bounds, skips malformed signals, and renders without quality_signals', () => {
    const m = fixtureManifest();
    const qs = m.quality_signals as Record<string, Record<string, unknown>>;
    (qs.punct_line_ratio.threshold as Record<string, unknown>).from = 'default';
    qs.word_count.label = '<b>words</b>';
    qs.stop_words.edges = [1, 0]; // not ascending
    qs.dup_line_char_frac.real = [1, 2]; // wrong length
    const out = sectionHtml(renderReport(m), 'quality');
    expect(out.match(/<div class="multiple">/g)).toHaveLength(9);
    expect(out).toContain('min 0.12 (default)</text>');
    expect(out).toContain('the filter default; this filter is not in the recipe');
    expect(out).toContain('&lt;b&gt;words&lt;/b&gt;');
    expect(out).not.toContain('<b>words</b>');
    delete m.quality_signals;
    const without = sectionHtml(renderReport(m), 'quality');
    expect(without).not.toContain('class="multiple"');
    expect(without).toContain('filter:gopher_repetition:top_3gram'); // the drop-share chart stays
  });

  it('highlights the warnings with the fact they rest on, in the list and in the metric cells', () => {
    const w = sectionHtml(html, 'warnings');
    expect(w.match(/<li class="warning"/g)).toHaveLength(2);
    expect(w).toContain('W_JSD_HIGH');
    expect(w).toContain('Rests on:</span> Model collapse shows first as lost diversity');
    const d = sectionHtml(html, 'diversity');
    expect(d).toMatch(/class="warn-cell">[\s\S]*?<a href="#warning-1">W_JSD_HIGH<\/a>/);
    expect(d).toMatch(/class="warn-cell">[\s\S]*?<a href="#warning-2">W_TOP_NGRAMS_HIGH<\/a>/);
    // distinct-2 is 0.84x, above the threshold: not highlighted
    expect(d).not.toContain('W_DISTINCT_LOW');
    for (const label of [
      'distinct-1',
      'distinct-4',
      'MATTR',
      'hapax share',
      'compression ratio',
      'top-100 3-gram share',
      'JSD',
      'Length distance',
    ]) {
      expect(d).toContain(label);
    }
  });

  it('prints the resolved recipe and every checksum', () => {
    const m = fixtureManifest();
    const r = sectionHtml(html, 'recipe');
    expect(r).toContain('- name: news-real');
    expect(r).toContain('  near:');
    const c = sectionHtml(html, 'checksums');
    for (const s of m.sources ?? []) for (const f of s.files ?? []) expect(c).toContain(f.sha256);
    for (const f of m.output?.shards ?? []) {
      expect(c).toContain(f.sha256);
      expect(c).toContain((f.rows ?? 0).toLocaleString('en-US'));
    }
    expect(c).toContain('51,540'); // total rows written
  });

  it('loads nothing: no remote URL, no src, only in-page links, pinned by a CSP that matches its style and script', () => {
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/\ssrc=/i);
    for (const [, href] of html.matchAll(/href="([^"]*)"/g)) expect(href.startsWith('#')).toBe(true);
    for (const [, url] of html.matchAll(/url\(([^)]*)\)/g)) expect(url.startsWith('#')).toBe(true);
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    const style = html.match(/<style>([\s\S]*?)<\/style>/)?.[1] ?? '';
    const script = html.match(/<script>([\s\S]*?)<\/script>/)?.[1] ?? '';
    const hash = (s: string) => createHash('sha256').update(s).digest('base64');
    expect(csp).toContain(`style-src 'sha256-${hash(style)}'`);
    expect(csp).toContain(`script-src 'sha256-${hash(script)}'`);
    expect(html).not.toMatch(/\sstyle="/); // inline style attributes would be blocked by the CSP
  });

  it('uses each element id once', () => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [, refs] of html.matchAll(/aria-labelledby="([^"]+)"/g)) {
      for (const ref of refs.split(' ')) expect(ids).toContain(ref);
    }
  });

  it('is deterministic: the same manifest renders to the same bytes', () => {
    expect(renderReport(fixtureManifest())).toBe(html);
    const shuffledKeys = JSON.parse(JSON.stringify(fixtureManifest()));
    expect(renderReport(shuffledKeys)).toBe(html);
  });
});

describe('escaping', () => {
  it('escapes source names, paths, recipe text, warnings and titles from the manifest', () => {
    const m = fixtureManifest();
    const evil = '<script>alert(1)</script>';
    const sources = m.sources ?? [];
    sources[2].name = evil;
    (sources[2].files ?? [])[0].path = 'data/<img src=x onerror=alert(2)>.arrow';
    (m.metrics as { sources: Record<string, unknown> }).sources[evil] = (
      m.metrics as { sources: Record<string, unknown> }
    ).sources['assistant-synth'];
    m.recipe = { ...m.recipe, name: 'a"b<c', resolved: { text: '</pre><script>alert(3)</script>' } };
    m.warnings = [{ code: 'W_<b>', message: `${evil} is bad`, sources: [evil], fact: '<i>fact</i>' }];
    m.dedup = { decontaminate: [{ name: '<svg onload=alert(4)>', removed: 1 }] };
    const out = renderReport(m, { title: 'T <script>' });
    expect(out.match(/<script/g)).toHaveLength(1); // ours, at the end
    expect(out).not.toContain('<img');
    expect(out).not.toContain('<svg onload');
    expect(out).not.toContain('<b>');
    expect(out).not.toContain('<i>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('data/&lt;img src=x onerror=alert(2)&gt;.arrow');
    expect(out).toContain('&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;');
    expect(out).toContain('<title>T &lt;script&gt;</title>');
    expect(out).toContain('a&quot;b&lt;c');
  });
});

describe('partial manifests', () => {
  it('renders a dry-run manifest without metrics, dedup, outputs or warnings', () => {
    const m: ReportManifest = {
      manifest_version: 1,
      tool: { name: 'curate', version: '0.1.0' },
      recipe: { name: 'dry', hash: 'abc' },
      unit: 'documents',
      dry_run: true,
      target: { budget: 100, ratio: { real: 0.8, synthetic: 0.2 }, planned_ratio: { real: 0.8, synthetic: 0.2 } },
      sources: [
        { name: 'a', kind: 'real', rows_read: 10, dropped: {}, rows_available: 10, share: 0.8 },
        {
          name: 'b',
          kind: 'synthetic',
          rows_read: 5,
          dropped: { 'filter:c4:javascript': 1 },
          rows_available: 4,
          share: 0.2,
        },
      ],
    };
    const out = renderReport(m);
    for (const id of SECTIONS) expect(out).toContain(`<section id="${id}"`);
    expect(out).toContain('Dry run: nothing was written.');
    expect(sectionHtml(out, 'diversity')).toContain('The manifest has no diversity metrics');
    expect(sectionHtml(out, 'dedup')).toContain('No deduplication');
    expect(sectionHtml(out, 'checksums')).toContain('No output shards were written.');
    for (const svg of svgs(out)) expect(svg).toContain('role="img"');
    expect(renderReport(m)).toBe(out);
  });

  it('renders an empty or malformed manifest without throwing', () => {
    expect(renderReport({})).toContain('<section id="summary"');
    const junk = {
      sources: [null, { name: 1 }, { name: 'x', dropped: { r: 'many' } }],
      warnings: [null, { code: 'W' }],
      metrics: { kinds: { real: 3 }, comparisons: { x: {} } },
    };
    expect(() => renderReport(junk as unknown as ReportManifest)).not.toThrow();
    expect(() => renderReport(null as unknown as ReportManifest)).not.toThrow();
  });
});

describe('toYaml', () => {
  it('prints nested objects and lists, quoting what YAML would misread', () => {
    expect(toYaml({ a: 1, b: { c: [1, 'x y'], d: [] }, e: [{ f: 'yes', g: true }], 'h i': 'a: b', j: '{t}\n' })).toBe(
      'a: 1\nb:\n  c:\n  - 1\n  - x y\n  d: []\ne:\n- f: "yes"\n  g: true\n"h i": "a: b"\nj: "{t}\\n"\n',
    );
  });
});

describe('writeReport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'curate-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes report.html beside the manifest, or to --out, atomically', async () => {
    const manifestPath = join(dir, 'manifest.json');
    writeFileSync(manifestPath, readFileSync(FIXTURE));
    const out = await writeReport(manifestPath);
    expect(out).toBe(join(dir, 'report.html'));
    const written = readFileSync(out, 'utf8');
    expect(written).toBe(renderReport(JSON.parse(readFileSync(FIXTURE, 'utf8'))));
    const custom = await writeReport(manifestPath, join(dir, 'custom.html'));
    expect(readFileSync(custom, 'utf8')).toBe(written);
    expect(readdirSync(dir).sort()).toEqual(['custom.html', 'manifest.json', 'report.html']);
  });

  it('throws InputError naming the file for a missing file, bad JSON, or JSON that is not a manifest', async () => {
    const cases: [string, string | null, string][] = [
      ['missing.json', null, 'E_REPORT_READ'],
      ['bad.json', '{"manifest_version": 1,', 'E_REPORT_JSON'],
      ['other.json', '{"name": "not a manifest"}', 'E_REPORT_NOT_MANIFEST'],
      ['other-tool.json', '{"manifest_version": 1, "tool": {"name": "x"}, "sources": []}', 'E_REPORT_NOT_MANIFEST'],
    ];
    const errDir = mkdtempSync(join(dir, 'errors-'));
    for (const [name, content, code] of cases) {
      const p = join(errDir, name);
      if (content !== null) writeFileSync(p, content);
      const err = await writeReport(p).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).code).toBe(code);
      expect((err as InputError).file).toBe(p);
      expect((err as InputError).toLine()).toContain(p);
    }
    expect(existsSync(join(errDir, 'report.html'))).toBe(false);
  });
});

describe('conversations', () => {
  it('draws turns per conversation and per-role lengths, real vs synthetic, only when the manifest has them', () => {
    const m = fixtureManifest();
    expect(renderReport(m)).not.toContain('id="conversations"');
    m.conversations = {
      turns: {
        label: 'turns per conversation',
        edges: [1, 2, 3, 4, 1e9],
        real: [0, 0, 10, 0],
        synthetic: [0, 2, 3, 5],
        sampled: { real: 10, synthetic: 10 },
      },
      chars_assistant: {
        label: 'characters per assistant turn',
        edges: [0, 100, 1000, 1e12],
        real: [5, 5, 0],
        synthetic: [1, 9, 0],
        sampled: { real: 10, synthetic: 10 },
      },
      broken: { edges: [2, 1], real: [1], synthetic: [1], sampled: { real: 1, synthetic: 1 } },
    };
    const out = sectionHtml(renderReport(m), 'conversations');
    expect(out).toContain('Conversations: real vs synthetic');
    expect(out.match(/<div class="multiple">/g)).toHaveLength(2);
    expect(out).toContain('turns per conversation');
    expect(out).toContain('characters per assistant turn');
  });
});
