/**
 * renderReport: one self-contained HTML document from a run manifest. No
 * network, no external assets: inline CSS, hand-written SVG, one tiny inline
 * script (opens the data tables for printing), all pinned by a
 * Content-Security-Policy that forbids every other load. Deterministic: the same
 * manifest renders to the same bytes.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_THRESHOLDS } from '@curate/metrics';
import {
  columnChart,
  fmtCompact,
  type HGroup,
  hbarChart,
  type LengthSeries,
  lengthChart,
  ratioChart,
  type SignalThreshold,
  type Step,
  signalChart,
  waterfallChart,
} from './charts.js';
import { esc, fmtBytes, fmtInt, fmtNum, fmtPct, fmtPp, fmtRatio, isNum } from './format.js';
import {
  asComparison,
  asMetrics,
  asQualitySignal,
  type ReportComparison,
  type ReportManifest,
  type ReportMetrics,
  type ReportQualitySignal,
  type ReportSource,
  type ReportWarning,
} from './manifest.js';
import { CSS } from './style.js';
import { type Column, figure, Ids, MARKERS, OKABE_ITO, REAL_COLOR, SYNTH_COLOR, table } from './svg.js';
import { toYaml } from './yaml.js';

export interface RenderOptions {
  /** Document title (default: "curate report: <recipe name>"). */
  title?: string;
}

const PRINT_SCRIPT =
  "addEventListener('beforeprint',()=>{for(const d of document.querySelectorAll('details'))d.open=true});";

function sha256Base64(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

const isSynthetic = (s: ReportSource) => s.kind === 'synthetic';
const kindLabel = (kind: string | undefined) =>
  kind === 'synthetic' ? 'synthetic' : kind === 'real' ? 'real' : (kind ?? '?');
const kindColor = (kind: string | undefined) => (kind === 'synthetic' ? SYNTH_COLOR : REAL_COLOR);

/** The reason's stage, for ordering and colour. */
function stage(reason: string): { order: number; color: string; name: string } {
  if (reason.startsWith('filter:')) return { order: 0, color: OKABE_ITO.orange, name: 'quality filter' };
  if (reason.startsWith('decontam')) return { order: 1, color: OKABE_ITO.purple, name: 'decontamination' };
  if (reason.startsWith('dedup')) return { order: 2, color: OKABE_ITO.sky, name: 'deduplication' };
  return { order: 3, color: '#8c8c8c', name: 'other' };
}

function sortReasons(reasons: string[]): string[] {
  return reasons
    .map((r, i) => ({ r, i, o: stage(r).order }))
    .sort((a, b) => a.o - b.o || a.i - b.i)
    .map((x) => x.r);
}

function sum(xs: Iterable<number>): number {
  let s = 0;
  for (const x of xs) if (isNum(x)) s += x;
  return s;
}

function section(id: string, title: string, body: string, lead?: string): string {
  const l = lead ? `<p class="lead">${lead}</p>` : '';
  return `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2>${l}${body}</section>`;
}

function empty(text: string): string {
  return `<p class="empty">${esc(text)}</p>`;
}

function code(s: unknown): string {
  return `<code>${esc(s)}</code>`;
}

/** Warnings name their groups as `sources` (manifest) or `source` (@curate/metrics). */
function warningSources(w: ReportWarning): string[] {
  if (Array.isArray(w.sources)) return w.sources.map(String);
  return typeof w.source === 'string' ? [w.source] : [];
}

interface Ctx {
  m: ReportManifest;
  ids: Ids;
  unit: string;
  sources: ReportSource[];
  warnings: ReportWarning[];
}

// ---------------------------------------------------------------- header and summary

function renderHeader(ctx: Ctx, title: string): string {
  const { m } = ctx;
  const meta: [string, string][] = [];
  const add = (k: string, v: unknown, asCode = false) => {
    if (v === undefined || v === null || v === '') return;
    meta.push([k, asCode ? code(v) : esc(v)]);
  };
  add('Recipe', m.recipe?.name);
  add('Recipe file', m.recipe?.file, true);
  add('Recipe hash', m.recipe?.hash, true);
  add('Tool', m.tool ? `${m.tool.name}${m.tool.version ? ` ${m.tool.version}` : ''}` : undefined);
  add('Seed', isNum(m.seed) ? fmtInt(m.seed) : undefined);
  add('Tokenizer', m.tokenizer);
  add('Budget unit', m.unit);
  add('Started', m.started_at);
  add('Finished', m.finished_at);
  const t0 = Date.parse(m.started_at ?? '');
  const t1 = Date.parse(m.finished_at ?? '');
  if (Number.isFinite(t0) && Number.isFinite(t1) && t1 >= t0) add('Duration', `${fmtNum((t1 - t0) / 1000, 1)} s`);
  add('Output', m.output?.dir, true);
  const fmt = [m.output?.format, m.output?.compression].filter(Boolean).join(', ');
  add('Output format', fmt);
  const dl = meta.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join('');
  const dry = m.dry_run ? '<p class="badge">Dry run: nothing was written.</p>' : '';
  return `<header class="page-header"><p class="kicker">curate run report</p><h1>${esc(title)}</h1>${dry}<dl class="meta">${dl}</dl></header>`;
}

const NAV: [string, string][] = [
  ['summary', 'Summary'],
  ['warnings', 'Warnings'],
  ['composition', 'Composition'],
  ['funnel', 'Funnel'],
  ['dedup', 'Deduplication'],
  ['quality', 'Quality signals'],
  ['diversity', 'Diversity'],
  ['lengths', 'Lengths'],
  ['recipe', 'Recipe'],
  ['checksums', 'Checksums'],
];

function renderNav(): string {
  return `<nav aria-label="Sections"><ol>${NAV.map(([id, t]) => `<li><a href="#${id}">${esc(t)}</a></li>`).join('')}</ol></nav>`;
}

function renderSummary(ctx: Ctx): string {
  const { m, sources } = ctx;
  const t = m.totals ?? {};
  const read = t.rows_read ?? sum(sources.map((s) => s.rows_read ?? 0));
  const dropped = t.rows_dropped ?? sum(sources.flatMap((s) => Object.values(s.dropped ?? {})));
  const cards: [string, string, string?][] = [
    ['Rows read', fmtInt(read)],
    ['Rows dropped', fmtInt(dropped), read > 0 ? `${fmtPct(dropped / read)} of rows read` : undefined],
    ['Rows available', fmtInt(t.rows_available ?? sum(sources.map((s) => s.rows_available ?? 0)))],
    [
      'Rows written',
      fmtInt(t.rows_written),
      t.rows_rejected_written ? `${fmtInt(t.rows_rejected_written)} rejected rows written` : undefined,
    ],
    ['Tokens written', fmtInt(t.tokens_written)],
  ];
  const target = m.target?.ratio?.synthetic;
  const achieved = (ctx.unit === 'documents' ? m.target?.achieved_ratio?.documents : m.target?.achieved_ratio?.tokens)
    ?.synthetic;
  if (isNum(target) || isNum(achieved)) {
    cards.push(['Synthetic share', fmtPct(achieved), `target ${fmtPct(target)} (${fmtPp(achieved, target)})`]);
  }
  cards.push(['Warnings', fmtInt(ctx.warnings.length), ctx.warnings.length ? 'see below' : 'none raised']);
  const html = cards
    .map(
      ([k, v, sub]) =>
        `<div class="card${k === 'Warnings' && ctx.warnings.length ? ' card-warn' : ''}"><p class="card-k">${esc(k)}</p><p class="card-v">${v}</p>${
          sub ? `<p class="card-s">${sub}</p>` : ''
        }</div>`,
    )
    .join('');
  let short = '';
  const sf = m.target?.shortfall;
  if (sf) {
    short = `<p class="callout">Budget shortfall: source ${code(sf.limiting_source)} limits the mix; the largest feasible budget is ${fmtInt(
      sf.largest_feasible_budget,
    )} ${esc(ctx.unit)}${isNum(m.target?.requested_budget) ? ` (requested ${fmtInt(m.target?.requested_budget)})` : ''}.</p>`;
  }
  return section('summary', 'Summary', `<div class="cards">${html}</div>${short}`);
}

function renderWarnings(ctx: Ctx): string {
  if (!ctx.warnings.length) return section('warnings', 'Warnings', empty('No warnings were raised for this run.'));
  const items = ctx.warnings
    .map((w, i) => {
      const src = warningSources(w);
      const srcHtml = src.length ? `<p class="w-src">Sources: ${src.map(code).join(', ')}</p>` : '';
      const fact = w.fact ? `<p class="w-fact"><span class="w-fact-k">Rests on:</span> ${esc(w.fact)}</p>` : '';
      return `<li class="warning" id="warning-${i + 1}"><p class="w-head"><span class="w-icon" aria-hidden="true">⚠</span> <span class="w-code">${esc(
        w.code,
      )}</span></p><p class="w-msg">${esc(w.message)}</p>${srcHtml}${fact}</li>`;
    })
    .join('');
  return section('warnings', 'Warnings', `<ul class="warnings">${items}</ul>`);
}

// ---------------------------------------------------------------- composition

function renderComposition(ctx: Ctx): string {
  const { m, sources, unit } = ctx;
  const parts: string[] = [];
  const target = m.target ?? {};
  const achieved = unit === 'documents' ? target.achieved_ratio?.documents : target.achieved_ratio?.tokens;
  const value = (s: ReportSource) => (unit === 'documents' ? s.rows_sampled : s.tokens_sampled) ?? 0;
  const total = sum(sources.map(value));
  const groups: HGroup[] = [];
  const kinds: ('real' | 'synthetic')[] = ['real', 'synthetic'];
  for (const k of kinds) {
    const tv = target.ratio?.[k];
    const av = achieved?.[k];
    if (!isNum(tv) && !isNum(av)) continue;
    groups.push({
      label: `All ${k}`,
      bars: [
        { name: 'target', value: tv ?? 0, color: kindColor(k), outline: true, text: `target ${fmtPct(tv)}` },
        {
          name: 'achieved',
          value: av ?? 0,
          color: kindColor(k),
          hatched: k === 'synthetic',
          text: `achieved ${fmtPct(av)} (${fmtPp(av, tv)})`,
        },
      ],
    });
  }
  for (const s of sources) {
    const av = total > 0 ? value(s) / total : undefined;
    groups.push({
      label: `${s.name} (${kindLabel(s.kind)})`,
      bars: [
        {
          name: 'target',
          value: s.share ?? 0,
          color: kindColor(s.kind),
          outline: true,
          text: `target ${fmtPct(s.share)}`,
        },
        {
          name: 'achieved',
          value: av ?? 0,
          color: kindColor(s.kind),
          hatched: isSynthetic(s),
          text: `achieved ${fmtPct(av)} (${fmtPp(av, s.share)})`,
        },
      ],
    });
  }
  if (!groups.length)
    return section('composition', 'Composition: target vs achieved', empty('The manifest has no target or sources.'));

  const title = `Target vs achieved share of the mix (by ${unit})`;
  const desc = groups.map((g) => `${g.label}: ${g.bars.map((b) => b.text).join(', ')}`).join('; ');
  const svg = hbarChart(ctx.ids.next('chart-composition'), {
    groups,
    legend: [
      { label: 'target', color: '#4d4d4d', outline: true },
      { label: 'achieved, real', color: REAL_COLOR },
      { label: 'achieved, synthetic (hatched)', color: SYNTH_COLOR, hatched: true },
    ],
    tickFormat: (v) => fmtPct(v, 0),
    axisLabel: `share of the mix (${unit})`,
  });
  const cols: Column[] = [
    { label: 'Group' },
    { label: 'Kind' },
    { label: 'Target', numeric: true },
    { label: 'Achieved', numeric: true },
    { label: 'Deviation', numeric: true },
  ];
  const rows: string[][] = [];
  for (const k of kinds) {
    const tv = target.ratio?.[k];
    if (!isNum(tv) && !isNum(achieved?.[k])) continue;
    rows.push([esc(`All ${k}`), esc(k), fmtPct(tv), fmtPct(achieved?.[k]), fmtPp(achieved?.[k], tv)]);
  }
  for (const s of sources) {
    const av = total > 0 ? value(s) / total : undefined;
    rows.push([esc(s.name), esc(kindLabel(s.kind)), fmtPct(s.share), fmtPct(av), fmtPp(av, s.share)]);
  }
  parts.push(figure(svg, title, desc, table(cols, rows)));

  // Kind ratio in both units, and the plan per source.
  const ratioRows: string[][] = [];
  for (const k of kinds) {
    const r = [
      target.ratio?.[k],
      target.planned_ratio?.[k],
      target.achieved_ratio?.tokens?.[k],
      target.achieved_ratio?.documents?.[k],
    ];
    if (r.every((x) => !isNum(x))) continue;
    ratioRows.push([esc(k), ...r.map((x) => fmtPct(x)), fmtPp(achieved?.[k], target.ratio?.[k])]);
  }
  if (ratioRows.length) {
    parts.push('<h3>Real vs synthetic ratio</h3>');
    parts.push(
      table(
        [
          { label: 'Kind' },
          { label: 'Target', numeric: true },
          { label: 'Planned', numeric: true },
          { label: 'Achieved (tokens)', numeric: true },
          { label: 'Achieved (documents)', numeric: true },
          { label: `Deviation (${unit})`, numeric: true },
        ],
        ratioRows,
      ),
    );
  }
  const budget: string[] = [];
  if (target.requested_budget !== undefined)
    budget.push(`requested budget ${fmtInt(target.requested_budget ?? undefined)}`);
  if (target.budget !== undefined) budget.push(`budget ${fmtInt(target.budget ?? undefined)}`);
  if (isNum(target.max_budget)) budget.push(`largest budget the sources allow ${fmtInt(target.max_budget)}`);
  if (budget.length) parts.push(`<p class="note">In ${esc(unit)}: ${budget.join('; ')}.</p>`);

  if (sources.length) {
    parts.push('<h3>Plan per source</h3>');
    parts.push(
      table(
        [
          { label: 'Source' },
          { label: 'Kind' },
          { label: 'Quota', numeric: true },
          { label: 'Rows sampled', numeric: true },
          { label: 'Tokens sampled', numeric: true },
          { label: 'Tokens available', numeric: true },
          { label: 'Epochs', numeric: true },
          { label: 'Max epochs', numeric: true },
          { label: 'Limiting' },
        ],
        sources.map((s) => [
          `${esc(s.name)}${s.generator ? `<br><span class="sub">generator: ${esc(s.generator)}</span>` : ''}`,
          esc(kindLabel(s.kind)),
          fmtInt(s.quota),
          fmtInt(s.rows_sampled),
          fmtInt(s.tokens_sampled),
          fmtInt(s.tokens_available),
          fmtNum(s.epochs, 2),
          fmtNum(s.max_epochs, Number.isInteger(s.max_epochs) ? 0 : 2),
          s.limiting ? '<strong>yes</strong>' : 'no',
        ]),
      ),
    );
  }
  return section(
    'composition',
    'Composition: target vs achieved',
    parts.join(''),
    `Share of the written mix per kind and per source, in the plan's unit (${esc(unit)}). Targets are dashed outlines, achieved shares filled bars; the deviation is in percentage points.`,
  );
}

// ---------------------------------------------------------------- funnel

function renderFunnel(ctx: Ctx): string {
  const { sources } = ctx;
  if (!sources.length)
    return section('funnel', 'Funnel: rows read to rows sampled', empty('The manifest lists no sources.'));
  const parts: string[] = [];
  const overview: string[][] = [];
  for (const s of sources) {
    const read = s.rows_read ?? 0;
    const dropped = s.dropped ?? {};
    const reasons = sortReasons(Object.keys(dropped).filter((r) => isNum(dropped[r]) && dropped[r] > 0));
    const totalDropped = sum(reasons.map((r) => dropped[r]));
    const available = s.rows_available ?? read - totalDropped;
    const pct = (n: number) => (read > 0 ? ` (${fmtPct(n / read)})` : '');
    const steps: Step[] = [{ label: 'rows read', from: 0, to: read, color: '#4d4d4d', text: fmtInt(read) }];
    let remaining = read;
    for (const r of reasons) {
      const n = dropped[r];
      steps.push({
        label: `− ${r}`,
        from: Math.max(0, remaining - n),
        to: remaining,
        color: stage(r).color,
        text: `−${fmtInt(n)}${pct(n)}`,
      });
      remaining -= n;
    }
    steps.push({
      label: 'available',
      from: 0,
      to: available,
      color: OKABE_ITO.green,
      text: `${fmtInt(available)}${pct(available)}`,
    });
    if (isNum(s.rows_sampled)) {
      const ep = isNum(s.epochs) ? `, ${fmtNum(s.epochs, 2)} epochs` : '';
      steps.push({
        label: 'sampled',
        from: 0,
        to: s.rows_sampled,
        color: kindColor(s.kind),
        hatched: isSynthetic(s),
        text: `${fmtInt(s.rows_sampled)}${ep}`,
      });
    }
    const stagesUsed = [...new Map(reasons.map((r) => [stage(r).name, stage(r)])).values()];
    const legendItems = [
      ...stagesUsed.map((st) => ({ label: `dropped by ${st.name}`, color: st.color })),
      { label: `sampled (${kindLabel(s.kind)})`, color: kindColor(s.kind), hatched: isSynthetic(s) },
    ];
    const title = `Funnel of ${s.name} (${kindLabel(s.kind)})`;
    const desc = steps.map((st) => `${st.label.replace(/^− /, 'dropped by ')}: ${st.text}`).join('; ');
    const svg = waterfallChart(ctx.ids.next('chart-funnel'), steps, legendItems);
    const rows = steps.map((st) => {
      const n = st.to - st.from;
      return [esc(st.label), fmtInt(n), read > 0 ? fmtPct(n / read) : '–'];
    });
    const ok = read === totalDropped + available;
    const note = ok
      ? undefined
      : `Counts do not add up: rows read ${fmtInt(read)} ≠ dropped ${fmtInt(totalDropped)} + available ${fmtInt(available)}.`;
    parts.push(
      `<h3>${esc(s.name)} <span class="tag tag-${isSynthetic(s) ? 'synthetic' : 'real'}">${esc(kindLabel(s.kind))}</span></h3>`,
    );
    parts.push(
      figure(
        svg,
        title,
        desc,
        table([{ label: 'Step' }, { label: 'Rows', numeric: true }, { label: '% of read', numeric: true }], rows),
        note,
      ),
    );
    overview.push([
      esc(s.name),
      esc(kindLabel(s.kind)),
      fmtInt(read),
      fmtInt(totalDropped),
      fmtInt(available),
      fmtInt(s.rows_sampled),
      ok ? 'yes' : '<strong class="bad">no</strong>',
    ]);
  }
  const summary = table(
    [
      { label: 'Source' },
      { label: 'Kind' },
      { label: 'Read', numeric: true },
      { label: 'Dropped', numeric: true },
      { label: 'Available', numeric: true },
      { label: 'Sampled', numeric: true },
      { label: 'read = dropped + available' },
    ],
    overview,
  );
  return section(
    'funnel',
    'Funnel: rows read to rows sampled',
    summary + parts.join(''),
    'Per source: rows read, each drop reason in pipeline order (quality filters, decontamination, deduplication), the rows left available, and the rows sampled into the mix (more than available when a source is repeated).',
  );
}

// ---------------------------------------------------------------- dedup

/** Cluster sizes 2..8 exactly, then power-of-two bins. */
function clusterBins(sizes: Record<string, number>): { label: string; count: number }[] {
  const entries = Object.entries(sizes)
    .map(([k, v]) => [Number(k), v] as const)
    .filter(([k, v]) => Number.isInteger(k) && k >= 1 && isNum(v));
  const bins = new Map<string, { lo: number; count: number }>();
  for (const [size, n] of entries) {
    let label: string;
    let lo: number;
    if (size <= 8) {
      label = String(size);
      lo = size;
    } else {
      const p = Math.ceil(Math.log2(size));
      lo = 2 ** (p - 1) + 1;
      label = `${fmtInt(lo)}–${fmtInt(2 ** p)}`;
    }
    const b = bins.get(label) ?? { lo, count: 0 };
    b.count += n;
    bins.set(label, b);
  }
  return [...bins.entries()].sort((a, b) => a[1].lo - b[1].lo).map(([label, b]) => ({ label, count: b.count }));
}

function renderDedup(ctx: Ctx): string {
  const d = ctx.m.dedup;
  if (!d || (!d.exact && !d.near && !d.decontaminate?.length)) {
    return section(
      'dedup',
      'Deduplication and decontamination',
      empty('No deduplication or decontamination ran in this mix.'),
    );
  }
  const parts: string[] = [];
  const rows: string[][] = [];
  if (d.exact)
    rows.push([
      'exact (hash of normalised text)',
      fmtInt(d.exact.removed),
      `${fmtInt(d.exact.groups)} duplicate groups`,
    ]);
  if (d.near) {
    const n = d.near;
    const params = [
      isNum(n.threshold) ? `Jaccard ≥ ${fmtNum(n.threshold, 2)}` : '',
      isNum(n.num_perm) ? `${fmtInt(n.num_perm)} permutations` : '',
      isNum(n.bands) ? `${fmtInt(n.bands)} bands` : '',
      isNum(n.rows) ? `${fmtInt(n.rows)} rows per band` : '',
    ].filter(Boolean);
    rows.push([
      `near (MinHash LSH${params.length ? `: ${esc(params.join(', '))}` : ''})`,
      fmtInt(n.removed),
      `${fmtInt(n.clusters)} clusters`,
    ]);
  }
  for (const x of d.decontaminate ?? []) {
    const det = [
      isNum(x.rows) ? `${fmtInt(x.rows)} benchmark rows` : '',
      isNum(x.ngrams) ? `${fmtInt(x.ngrams)} n-grams` : '',
    ]
      .filter(Boolean)
      .join(', ');
    rows.push([`decontamination against ${code(x.name)}`, fmtInt(x.removed), esc(det || '–')]);
  }
  parts.push(table([{ label: 'Step' }, { label: 'Rows removed', numeric: true }, { label: 'Detail' }], rows));
  if (d.by_kind && Object.keys(d.by_kind).length) {
    const kindRows = Object.entries(d.by_kind)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => [
        esc(kindLabel(k)),
        fmtInt(v.candidates ?? 0),
        fmtInt(v.exact ?? 0),
        fmtInt(v.near ?? 0),
        fmtPct(v.duplicate_rate ?? 0, 2),
      ]);
    parts.push('<h3>Redundancy within each kind</h3>');
    parts.push(
      table(
        [
          { label: 'Kind' },
          { label: 'Rows reaching dedup', numeric: true },
          { label: 'Exact duplicates', numeric: true },
          { label: 'Near duplicates', numeric: true },
          { label: 'Duplicate rate', numeric: true },
        ],
        kindRows,
      ),
    );
  }
  const cp = d.copies;
  if (cp) {
    parts.push(
      `<p class="note">Who copied whom (each removed duplicate by its kind and the kind of the row kept in its place): <strong>${fmtInt(cp.synthetic_of_real ?? 0)}</strong> synthetic copies of real rows (regurgitation), ${fmtInt(cp.synthetic_of_synthetic ?? 0)} synthetic of synthetic, ${fmtInt(cp.real_of_real ?? 0)} real of real, ${fmtInt(cp.real_of_synthetic ?? 0)} real of synthetic.</p>`,
    );
  }
  const sizes = d.near?.cluster_sizes;
  if (sizes && Object.keys(sizes).length) {
    const bins = clusterBins(sizes);
    const { svg, log } = columnChart(ctx.ids.next('chart-clusters'), bins, {
      color: OKABE_ITO.sky,
      xLabel: 'cluster size (documents per near-duplicate cluster)',
      yLabel: 'clusters',
    });
    const title = 'Near-duplicate cluster sizes';
    const desc = `Number of clusters by size${log ? ' (log count axis)' : ''}: ${bins.map((b) => `size ${b.label}: ${fmtInt(b.count)}`).join('; ')}`;
    const exact = Object.entries(sizes)
      .map(([k, v]) => [Number(k), v] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([k, v]) => [fmtInt(k), fmtInt(v), fmtInt(k * v)]);
    parts.push(
      figure(
        svg,
        title,
        desc,
        table(
          [{ label: 'Cluster size' }, { label: 'Clusters', numeric: true }, { label: 'Documents', numeric: true }],
          exact,
        ),
        'Each cluster keeps one document; the rest are removed as near duplicates.',
      ),
    );
  } else if (d.near) parts.push(empty('The manifest has no cluster sizes for near deduplication.'));
  return section('dedup', 'Deduplication and decontamination', parts.join(''));
}

// ---------------------------------------------------------------- quality signals

function renderQuality(ctx: Ctx): string {
  const { sources } = ctx;
  const all = new Set<string>();
  for (const s of sources) for (const [r, n] of Object.entries(s.dropped ?? {})) if (isNum(n) && n > 0) all.add(r);
  const quality = sortReasons([...all].filter((r) => !r.startsWith('dedup')));
  const signals = renderSignals(ctx);
  if (!quality.length) {
    return section(
      'quality',
      'Quality signals: real vs synthetic',
      empty('No rows were dropped by quality filters or decontamination.') + signals,
    );
  }
  const kinds = ['real', 'synthetic'].filter((k) => sources.some((s) => (s.kind ?? 'real') === k));
  const readBy = (k: string) => sum(sources.filter((s) => (s.kind ?? 'real') === k).map((s) => s.rows_read ?? 0));
  const dropBy = (k: string, r: string) =>
    sum(sources.filter((s) => (s.kind ?? 'real') === k).map((s) => s.dropped?.[r] ?? 0));
  const groups: HGroup[] = quality.map((r) => ({
    label: r,
    bars: kinds.map((k) => {
      const read = readBy(k);
      const n = dropBy(k, r);
      const v = read > 0 ? n / read : 0;
      return {
        name: k,
        value: v,
        color: kindColor(k),
        hatched: k === 'synthetic',
        text: n > 0 ? `${fmtPct(v, 2)} (${fmtInt(n)})` : '0',
      };
    }),
  }));
  const svg = hbarChart(ctx.ids.next('chart-quality'), {
    groups,
    legend: kinds.map((k) => ({
      label: k === 'synthetic' ? 'synthetic (hatched)' : 'real',
      color: kindColor(k),
      hatched: k === 'synthetic',
    })),
    tickFormat: (v) => fmtPct(v, v > 0 && v < 0.1 ? 1 : 0),
    axisLabel: 'share of rows read dropped by this reason',
  });
  const title = 'Rows dropped by each quality reason, real vs synthetic';
  const desc = groups.map((g) => `${g.label}: ${g.bars.map((b) => `${b.name} ${b.text}`).join(', ')}`).join('; ');
  const cols: Column[] = [{ label: 'Reason' }];
  for (const k of kinds) cols.push({ label: `${k} %`, numeric: true });
  for (const s of sources) cols.push({ label: `${s.name} (${kindLabel(s.kind)})`, numeric: true });
  const rows = quality.map((r) => [
    code(r),
    ...kinds.map((k) => (readBy(k) > 0 ? fmtPct(dropBy(k, r) / readBy(k), 2) : '–')),
    ...sources.map((s) => {
      const n = s.dropped?.[r] ?? 0;
      return `${fmtInt(n)}${s.rows_read ? ` <span class="sub">(${fmtPct(n / s.rows_read, 2)})</span>` : ''}`;
    }),
  ]);
  // Per filter (the reason's second part), real vs synthetic.
  const filters = new Map<string, string[]>();
  for (const r of quality) {
    const name = r.split(':').slice(0, 2).join(':');
    filters.set(name, [...(filters.get(name) ?? []), r]);
  }
  const filterRows = [...filters.entries()].map(([f, rs]) => [
    code(f),
    ...kinds.map((k) => {
      const n = sum(rs.map((r) => dropBy(k, r)));
      return `${fmtInt(n)} <span class="sub">(${readBy(k) > 0 ? fmtPct(n / readBy(k), 2) : '–'})</span>`;
    }),
  ]);
  const body =
    figure(svg, title, desc, table(cols, rows)) +
    '<h3>By filter</h3>' +
    table(
      [{ label: 'Filter' }, ...kinds.map((k) => ({ label: `${k}: rows dropped (% of read)`, numeric: true }))],
      filterRows,
    ) +
    signals;
  return section(
    'quality',
    'Quality signals: real vs synthetic',
    body,
    'What each quality filter and decontamination set removed, as a share of the rows read of each kind. A filter that removes far more of one kind than the other shows where the kinds differ.',
  );
}

/** Bin label: "[lo, hi)", the last bin open-ended. */
function binLabel(edges: number[], i: number): string {
  return i === edges.length - 2 ? `≥ ${fmtCompact(edges[i])}` : `${fmtCompact(edges[i])} – ${fmtCompact(edges[i + 1])}`;
}

/** Rows wholly beyond a bound: bins entirely below `min`, or entirely above `max`. */
function beyond(q: ReportQualitySignal, counts: number[], bound: 'min' | 'max', t: number): number {
  let n = 0;
  counts.forEach((k, i) => {
    if (bound === 'min' ? q.edges[i + 1] <= t : q.edges[i] > t) n += k;
  });
  return n;
}

/** Small multiples: each quality signal's distribution, real vs synthetic, with the filter's bounds. */
function renderSignals(
  ctx: Ctx,
  raw: unknown = ctx.m.quality_signals,
  head?: { id: string; title: string; lead: string },
): string {
  if (raw === undefined || raw === null || typeof raw !== 'object') return '';
  const entries = Object.entries(raw)
    .map(([k, v]) => [k, asQualitySignal(v)] as const)
    .filter((e): e is readonly [string, ReportQualitySignal] => e[1] !== undefined);
  if (!entries.length) return '';
  const kinds = (['real', 'synthetic'] as const).filter((k) => entries.some(([, q]) => q.sampled[k] > 0));
  const label = (k: string) => (k === 'synthetic' ? 'synthetic (hatched)' : k);
  const sampled = entries[0][1].sampled;
  const figures: string[] = [];
  for (const [name, q] of entries) {
    const n = q.edges.length - 1;
    const shares = (k: 'real' | 'synthetic') => q[k].map((v) => (q.sampled[k] > 0 ? v / q.sampled[k] : 0));
    const t = q.threshold;
    const threshold: SignalThreshold | undefined =
      t && (t.min !== undefined || t.max !== undefined)
        ? { min: t.min, max: t.max, applied: t.from !== 'default' }
        : undefined;
    // Visible bins: the occupied ones and the bounds, one bin of margin, at least 6 bins.
    let lo = n;
    let hi = 0;
    for (const k of kinds)
      q[k].forEach((v, i) => {
        if (v > 0) {
          lo = Math.min(lo, i);
          hi = Math.max(hi, i + 1);
        }
      });
    for (const b of [threshold?.min, threshold?.max]) {
      if (b === undefined) continue;
      let i = 0;
      while (i < n - 1 && q.edges[i + 1] <= b) i++;
      lo = Math.min(lo, i);
      hi = Math.max(hi, i + 1);
    }
    if (hi <= lo) {
      lo = 0;
      hi = n;
    }
    lo = Math.max(0, lo - 1);
    hi = Math.min(n, hi + 1);
    while (hi - lo < 6 && (lo > 0 || hi < n)) {
      if (hi < n) hi++;
      if (hi - lo < 6 && lo > 0) lo--;
    }
    const svg = signalChart(ctx.ids.next('chart-signal'), {
      edges: q.edges,
      lo,
      hi,
      threshold,
      series: kinds.map((k) => ({
        name: label(k),
        color: kindColor(k),
        hatched: k === 'synthetic',
        shares: shares(k),
      })),
    });
    const title = `${q.label ?? name}${q.filter ? ` (${q.filter})` : ''}`;
    const bounds: string[] = [];
    if (threshold?.min !== undefined) bounds.push(`min ${fmtCompact(threshold.min)}`);
    if (threshold?.max !== undefined) bounds.push(`max ${fmtCompact(threshold.max)}`);
    const applies = t?.applies_to;
    const appliesText =
      typeof applies === 'string'
        ? `, judged on ${applies} rows only`
        : Array.isArray(applies)
          ? `, judged on ${applies.map(String).join(', ')} only`
          : '';
    const boundText = threshold
      ? `Filter bounds ${bounds.join(' and ')}${threshold.applied ? ` (from the recipe${appliesText})` : ' (the filter default; this filter is not in the recipe)'}.`
      : 'No bound applied.';
    const beyondText = (k: 'real' | 'synthetic') => {
      const parts: string[] = [];
      const tot = q.sampled[k];
      if (!threshold || !tot) return '';
      if (threshold.min !== undefined) parts.push(`${fmtPct(beyond(q, q[k], 'min', threshold.min) / tot)} below min`);
      if (threshold.max !== undefined) parts.push(`${fmtPct(beyond(q, q[k], 'max', threshold.max) / tot)} above max`);
      return parts.join(', ');
    };
    const desc =
      `${title}, share of sampled rows per bin. ` +
      kinds
        .map((k) => {
          const sh = shares(k);
          const bins = q[k]
            .map((v, i) => (v > 0 ? `${binLabel(q.edges, i)}: ${fmtPct(sh[i])}` : ''))
            .filter(Boolean)
            .join(', ');
          const b = beyondText(k);
          return `${k} (${fmtInt(q.sampled[k])} rows): ${bins || 'no values'}${b ? `; ${b}` : ''}.`;
        })
        .join(' ') +
      ` ${boundText}`;
    const cols: Column[] = [{ label: 'Bin' }];
    for (const k of kinds) cols.push({ label: `${k} rows`, numeric: true }, { label: `${k} %`, numeric: true });
    const rows: string[][] = [];
    for (let i = lo; i < hi; i++) {
      rows.push([
        esc(binLabel(q.edges, i)),
        ...kinds.flatMap((k) => [fmtInt(q[k][i]), q.sampled[k] > 0 ? fmtPct(q[k][i] / q.sampled[k]) : '–']),
      ]);
    }
    const outside = kinds.map((k) => sum(q[k].filter((_, i) => i < lo || i >= hi)));
    if (outside.some((x) => x > 0)) {
      rows.push([
        'other bins',
        ...kinds.flatMap((k, j) => [fmtInt(outside[j]), q.sampled[k] > 0 ? fmtPct(outside[j] / q.sampled[k]) : '–']),
      ]);
    }
    const noteParts: string[] = [];
    for (const [bound, v, word] of [
      ['min', threshold?.min, 'Below min'],
      ['max', threshold?.max, 'Above max'],
    ] as const) {
      if (v === undefined) continue;
      const parts = kinds
        .filter((k) => q.sampled[k] > 0)
        .map((k) => `${k} ${fmtPct(beyond(q, q[k], bound, v) / q.sampled[k])}`);
      noteParts.push(`${word} ${fmtCompact(v)}: ${parts.join(', ')}.`);
    }
    if (threshold && !threshold.applied)
      noteParts.push(`Default bound: ${q.filter ?? 'the filter'} is not in the recipe.`);
    else if (appliesText) noteParts.push(`Judged${appliesText.replace(/^, judged/, '')}.`);
    if (!threshold) noteParts.push('No bound applied.');
    const note = esc(noteParts.join(' '));
    figures.push(`<div class="multiple">${figure(svg, title, desc, table(cols, rows), note)}</div>`);
  }
  if (head) {
    // histograms without filter bounds (the conversations' shape)
    const plain =
      '<ul class="legend" aria-label="Legend">' +
      '<li><span class="sw sw-real" aria-hidden="true"></span>real</li>' +
      '<li><span class="sw sw-synthetic" aria-hidden="true"></span>synthetic (hatched)</li></ul>';
    return section(
      head.id,
      head.title,
      `<p class="lead">${esc(head.lead)}</p>${plain}<div class="multiples">${figures.join('')}</div>`,
    );
  }
  const legend =
    '<ul class="legend" aria-label="Legend">' +
    '<li><span class="sw sw-real" aria-hidden="true"></span>real</li>' +
    '<li><span class="sw sw-synthetic" aria-hidden="true"></span>synthetic (hatched)</li>' +
    '<li><span class="sw sw-bound" aria-hidden="true"></span>filter bound (a value at it passes)</li>' +
    '<li><span class="sw sw-drop" aria-hidden="true"></span>side the bound drops</li></ul>';
  const lead =
    `Where rows sit relative to the filters' thresholds, measured on the raw text before any filter, on a fixed sample of the rows read ` +
    `(${kinds.map((k) => `${fmtInt(sampled[k])} ${k}`).join(', ')}). Bars are shares of each kind's sampled rows; the last bin of each panel also holds larger values. ` +
    `A bound marked "default" belongs to a filter this recipe does not run.`;
  return (
    `<h3 id="quality-signals">Signal distributions</h3><p class="lead">${esc(lead)}</p>${legend}` +
    `<div class="multiples">${figures.join('')}</div>`
  );
}

// ---------------------------------------------------------------- diversity

const METRIC_ROWS: {
  label: string;
  key: (c: ReportComparison) => number | undefined;
  warn?: string;
  below?: number;
  above?: number;
}[] = [
  { label: 'distinct-1', key: (c) => c.distinctRatios?.[1] },
  {
    label: 'distinct-2',
    key: (c) => c.distinctRatios?.[2] ?? c.distinctRatio,
    warn: 'W_DISTINCT_LOW',
    below: DEFAULT_THRESHOLDS.minDistinctRatio,
  },
  { label: 'distinct-3', key: (c) => c.distinctRatios?.[3] },
  { label: 'distinct-4', key: (c) => c.distinctRatios?.[4] },
  { label: 'MATTR', key: (c) => c.mattrRatio },
  { label: 'hapax share', key: (c) => c.hapaxRatio, warn: 'W_HAPAX_LOW', below: DEFAULT_THRESHOLDS.minHapaxRatio },
  {
    label: 'compression ratio',
    key: (c) => c.compressionRatio,
    warn: 'W_COMPRESSION_HIGH',
    above: DEFAULT_THRESHOLDS.maxCompressionRatio,
  },
  {
    label: 'top-100 3-gram share',
    key: (c) => c.topNgramRatio,
    warn: 'W_TOP_NGRAMS_HIGH',
    above: DEFAULT_THRESHOLDS.maxTopNgramRatio,
  },
];

/** Absolute metrics, one column per group (real and synthetic side by side). */
const ABSOLUTE: { label: string; value: (r: ReportMetrics) => string }[] = [
  { label: 'documents', value: (r) => fmtInt(r.documents) },
  { label: 'words', value: (r) => fmtInt(r.words) },
  { label: 'sample words', value: (r) => fmtInt(r.sampleTokens) },
  { label: 'distinct-1', value: (r) => fmtNum(r.distinct?.[1]) },
  { label: 'distinct-2', value: (r) => fmtNum(r.distinct?.[2]) },
  { label: 'distinct-3', value: (r) => fmtNum(r.distinct?.[3]) },
  { label: 'distinct-4', value: (r) => fmtNum(r.distinct?.[4]) },
  { label: 'MATTR', value: (r) => fmtNum(r.mattr) },
  { label: 'hapax share', value: (r) => fmtNum(r.hapaxShare) },
  { label: 'compression ratio (deflate)', value: (r) => fmtNum(r.compressionRatio, 2) },
  { label: 'top-100 3-gram share', value: (r) => fmtNum(r.topNgramConcentration) },
];

function kindOf(ctx: Ctx, name: string): string {
  if (name === 'real' || name === 'synthetic') return name;
  const s = ctx.sources.find((x) => x.name === name);
  return s ? kindLabel(s.kind) : '–';
}

function metricsOf(x: Record<string, unknown> | undefined): [string, ReportMetrics][] {
  return Object.entries(x ?? {})
    .map(([k, v]) => [k, asMetrics(v)] as const)
    .filter((e): e is readonly [string, ReportMetrics] => e[1] !== undefined)
    .map(([k, v]) => [k, v]);
}

function renderDiversity(ctx: Ctx): string {
  const mm = ctx.m.metrics;
  const kinds = metricsOf(mm?.kinds);
  const srcs = metricsOf(mm?.sources);
  const comps = Object.entries(mm?.comparisons ?? {})
    .map(([k, v]) => [k, asComparison(v)] as const)
    .filter((x): x is readonly [string, ReportComparison] => x[1] !== undefined);
  if (!kinds.length && !srcs.length && !comps.length) {
    return section(
      'diversity',
      'Diversity: real vs synthetic',
      empty('The manifest has no diversity metrics (metrics were off, or this was a dry run).'),
    );
  }
  const parts: string[] = [];
  // Which comparison cells a warning is about (by source and code).
  const warned = new Map<string, number[]>();
  ctx.warnings.forEach((w, index) => {
    for (const s of warningSources(w)) {
      const key = `${s}\u0000${w.code}`;
      warned.set(key, [...(warned.get(key) ?? []), index]);
    }
  });
  const cell = (group: string, warnCode: string | undefined, text: string) => {
    const ws = warnCode ? warned.get(`${group}\u0000${warnCode}`) : undefined;
    if (!ws?.length) return text;
    const links = ws.map((i) => `<a href="#warning-${i + 1}">${esc(ctx.warnings[i].code)}</a>`).join(' ');
    return `<span class="warn-cell"><span aria-hidden="true">⚠ </span>${text}<span class="warn-code"> ${links}</span></span>`;
  };
  if (comps.length) {
    const series = comps.map(([name, cmp], i) => ({
      name: `${name} (${kindOf(ctx, name)})`,
      color: [SYNTH_COLOR, OKABE_ITO.purple, OKABE_ITO.orange, OKABE_ITO.green][i % 4],
      marker: MARKERS[i % MARKERS.length],
      values: METRIC_ROWS.map((r) => r.key(cmp)),
    }));
    const svg = ratioChart(
      ctx.ids.next('chart-diversity'),
      METRIC_ROWS.map((r) => ({
        label: r.label,
        warnBelow: r.below,
        warnAbove: r.above,
        warned: !!r.warn && comps.some(([name]) => warned.has(`${name}\u0000${r.warn}`)),
      })),
      series,
    );
    const title = 'Diversity of synthetic groups relative to the real pool';
    const desc = series
      .map((s) => `${s.name}: ${METRIC_ROWS.map((r, i) => `${r.label} ${fmtRatio(s.values[i])}`).join(', ')}`)
      .join('; ');
    const ratioTable = table(
      [{ label: 'Metric (synthetic / real)' }, ...comps.map(([name]) => ({ label: name, numeric: true }))],
      METRIC_ROWS.map((r) => [esc(r.label), ...comps.map(([name, cmp]) => cell(name, r.warn, fmtRatio(r.key(cmp))))]),
    );
    parts.push(
      figure(
        svg,
        title,
        desc,
        ratioTable,
        `Each point is a synthetic group's metric divided by the real pool's, both measured on samples of the same size. 1× means like the real data; hatched zones are the default warning thresholds (distinct-2 and hapax share below ${DEFAULT_THRESHOLDS.minDistinctRatio}×, compression above ${DEFAULT_THRESHOLDS.maxCompressionRatio}×, top 3-grams above ${DEFAULT_THRESHOLDS.maxTopNgramRatio}×).`,
      ),
    );
    parts.push('<h3>Compared with the real pool</h3>');
    parts.push(
      table(
        [
          { label: 'Group' },
          { label: 'Compared at words', numeric: true },
          { label: 'distinct-2', numeric: true },
          { label: 'hapax share', numeric: true },
          { label: 'compression', numeric: true },
          { label: 'top 3-grams', numeric: true },
          { label: 'MATTR', numeric: true },
          { label: 'Unigram JSD', numeric: true },
          { label: 'Length distance', numeric: true },
        ],
        comps.map(([name, cmp]) => [
          `${esc(name)} <span class="sub">(${esc(kindOf(ctx, name))})</span>`,
          fmtInt(cmp.atTokens),
          cell(name, 'W_DISTINCT_LOW', fmtRatio(cmp.distinctRatios?.[2] ?? cmp.distinctRatio)),
          cell(name, 'W_HAPAX_LOW', fmtRatio(cmp.hapaxRatio)),
          cell(name, 'W_COMPRESSION_HIGH', fmtRatio(cmp.compressionRatio)),
          cell(name, 'W_TOP_NGRAMS_HIGH', fmtRatio(cmp.topNgramRatio)),
          fmtRatio(cmp.mattrRatio),
          cell(name, 'W_JSD_HIGH', fmtNum(cmp.jsd)),
          `${fmtNum(cmp.lengthDistance, 2)} <span class="sub">octaves</span>`,
        ]),
      ),
    );
    parts.push(
      `<p class="note">Ratios are synthetic / real at equal sample size. Unigram Jensen-Shannon divergence runs from 0 (same word distribution) to 1 (disjoint) and warns above ${DEFAULT_THRESHOLDS.maxJsd} by default; a length distance of 1 octave means documents differ in length by about a factor of two.</p>`,
    );
  }
  const groups: [string, string, ReportMetrics][] = [
    ...kinds.map(([k, r]) => [`All ${k}`, k, r] as [string, string, ReportMetrics]),
    ...srcs.map(([k, r]) => [k, kindOf(ctx, k), r] as [string, string, ReportMetrics]),
  ];
  if (groups.length) {
    parts.push('<h3>Metrics per kind and source</h3>');
    parts.push(
      table(
        [
          { label: 'Metric' },
          ...groups.map(([name, kind]) => ({
            label: name.startsWith('All ') ? name : `${name} (${kind})`,
            numeric: true,
          })),
        ],
        ABSOLUTE.map((a) => [esc(a.label), ...groups.map(([, , r]) => a.value(r))]),
      ),
    );
    parts.push(
      '<p class="note">Sample metrics (distinct-n, MATTR, hapax share, compression, top 3-gram share) are measured on a seeded sample of each group (its size is the sample words row); they fall as samples grow, so compare groups with the equal-size ratios above.</p>',
    );
  }
  return section(
    'diversity',
    'Diversity: real vs synthetic',
    parts.join(''),
    'Collapse shows first as lost diversity: repeated phrasing, a thinner tail of rare words, text that compresses better than real text, and drift in the word distribution. Metrics with a warning are marked ⚠ with its code.',
  );
}

// ---------------------------------------------------------------- lengths

function renderLengths(ctx: Ctx): string {
  const mm = ctx.m.metrics;
  const kinds = Object.entries(mm?.kinds ?? {})
    .map(([k, v]) => [k, asMetrics(v)] as const)
    .filter((x): x is readonly [string, ReportMetrics] => x[1] !== undefined);
  const srcs = Object.entries(mm?.sources ?? {})
    .map(([k, v]) => [k, asMetrics(v)] as const)
    .filter((x): x is readonly [string, ReportMetrics] => x[1] !== undefined);
  if (!kinds.length && !srcs.length)
    return section('lengths', 'Document lengths', empty('The manifest has no length histograms.'));
  const parts: string[] = [];
  const edgesOf = (list: (readonly [string, ReportMetrics])[]) =>
    list.reduce<number[]>(
      (a, [, r]) => (r.length.histogram.edges.length > a.length ? r.length.histogram.edges : a),
      [],
    );
  const histTable = (list: (readonly [string, ReportMetrics])[], edges: number[]) => {
    const n = Math.max(0, ...list.map(([, r]) => r.length.histogram.counts.length));
    const rows: string[][] = [];
    for (let i = 0; i < n; i++) {
      if (list.every(([, r]) => !(r.length.histogram.counts[i] > 0))) continue;
      const lo = edges[i];
      const hi = edges[i + 1];
      const label = i === 0 ? '0 (empty)' : `${fmtNum(lo, lo < 10 ? 2 : 0)} – ${fmtNum(hi, hi < 10 ? 2 : 0)}`;
      rows.push([
        esc(label),
        ...list.map(([, r]) => {
          const counts = r.length.histogram.counts;
          const total = sum(counts);
          const v = counts[i] ?? 0;
          return `${fmtInt(v)} <span class="sub">(${total > 0 ? fmtPct(v / total) : '–'})</span>`;
        }),
      ]);
    }
    return table([{ label: 'Length in words' }, ...list.map(([k]) => ({ label: k, numeric: true }))], rows);
  };
  const chart = (list: (readonly [string, ReportMetrics])[], title: string, names: (k: string) => LengthSeries) => {
    const edges = edgesOf(list);
    const series = list.map(([k, r]) => ({ ...names(k), counts: r.length.histogram.counts }));
    const svg = lengthChart(ctx.ids.next('chart-lengths'), series, edges);
    const desc = list
      .map(
        ([k, r]) =>
          `${names(k).name}: ${fmtInt(r.documents)} documents, median ${fmtNum(r.length.p50, 0)} words, p10 ${fmtNum(r.length.p10, 0)}, p90 ${fmtNum(
            r.length.p90,
            0,
          )}, mean ${fmtNum(r.length.mean, 1)}`,
      )
      .join('; ');
    return figure(svg, title, desc, histTable(list, edges));
  };
  if (kinds.length) {
    parts.push(
      chart(kinds, 'Document length, real vs synthetic', (k) => ({
        name: k === 'synthetic' ? 'synthetic (hatched)' : k,
        color: kindColor(k),
        hatched: k === 'synthetic',
        counts: [],
      })),
    );
  }
  if (srcs.length) {
    let ri = 0;
    let si = 0;
    const styles = new Map<string, LengthSeries>();
    for (const [k] of srcs) {
      const syn = kindOf(ctx, k) === 'synthetic';
      const palette = syn
        ? [SYNTH_COLOR, OKABE_ITO.purple, OKABE_ITO.orange]
        : [REAL_COLOR, OKABE_ITO.green, OKABE_ITO.sky, OKABE_ITO.black];
      const color = palette[(syn ? si++ : ri++) % palette.length];
      styles.set(k, { name: `${k} (${kindOf(ctx, k)}${syn ? ', hatched' : ''})`, color, hatched: syn, counts: [] });
    }
    parts.push(chart(srcs, 'Document length per source', (k) => styles.get(k) as LengthSeries));
  }
  const all = [...kinds.map(([k, r]) => [`All ${k}`, r] as const), ...srcs];
  parts.push('<h3>Length quantiles (words)</h3>');
  parts.push(
    table(
      [
        { label: 'Group' },
        { label: 'Documents', numeric: true },
        { label: 'Mean', numeric: true },
        { label: 'p10', numeric: true },
        { label: 'p50', numeric: true },
        { label: 'p90', numeric: true },
        { label: 'p99', numeric: true },
      ],
      all.map(([k, r]) => [
        esc(k),
        fmtInt(r.documents),
        fmtNum(r.length.mean, 1),
        fmtNum(r.length.p10, 0),
        fmtNum(r.length.p50, 0),
        fmtNum(r.length.p90, 0),
        fmtNum(r.length.p99, 0),
      ]),
    ),
  );
  return section(
    'lengths',
    'Document lengths',
    parts.join(''),
    'Length in words on fixed log-spaced buckets (four per doubling), each group as a share of its own documents so groups of any size overlay. Quantiles are read from the buckets (within a quarter octave).',
  );
}

// ---------------------------------------------------------------- recipe and checksums

function renderRecipe(ctx: Ctx): string {
  const r = ctx.m.recipe;
  if (!r) return section('recipe', 'Recipe', empty('The manifest has no recipe.'));
  const head = [
    r.name ? `<strong>${esc(r.name)}</strong>` : '',
    r.file ? ` from ${code(r.file)}` : '',
    r.hash ? `, hash ${code(r.hash)}` : '',
  ].join('');
  const body =
    r.resolved === undefined
      ? empty('The resolved recipe is not in the manifest.')
      : `<pre class="recipe">${esc(toYaml(r.resolved))}</pre>`;
  return section(
    'recipe',
    'Recipe (resolved)',
    `<p>${head}</p>${body}`,
    'The recipe after defaults were applied: with the seed and the inputs below it reproduces this mix.',
  );
}

function renderChecksums(ctx: Ctx): string {
  const parts: string[] = [];
  const files = ctx.sources.flatMap((s) => (s.files ?? []).map((f) => [s, f] as const));
  parts.push('<h3>Inputs</h3>');
  parts.push(
    files.length
      ? table(
          [
            { label: 'File' },
            { label: 'Source' },
            { label: 'Format' },
            { label: 'Rows', numeric: true },
            { label: 'Bytes', numeric: true },
            { label: 'sha256' },
          ],
          files.map(([s, f]) => [
            code(f.path),
            esc(s.name),
            esc(f.format ?? '–'),
            fmtInt(f.rows),
            `${fmtInt(f.bytes)} <span class="sub">(${fmtBytes(f.bytes)})</span>`,
            `<code class="hash">${esc(f.sha256 ?? '–')}</code>`,
          ]),
          undefined,
          'data checksums',
        )
      : empty('No input files are listed.'),
  );
  const shardTable = (list: { path: string; rows?: number; bytes?: number; sha256?: string }[]) =>
    table(
      [{ label: 'Shard' }, { label: 'Rows', numeric: true }, { label: 'Bytes', numeric: true }, { label: 'sha256' }],
      [
        ...list.map((f) => [
          code(f.path),
          fmtInt(f.rows),
          `${fmtInt(f.bytes)} <span class="sub">(${fmtBytes(f.bytes)})</span>`,
          `<code class="hash">${esc(f.sha256 ?? '–')}</code>`,
        ]),
        [
          '<strong>Total</strong>',
          `<strong>${fmtInt(sum(list.map((f) => f.rows ?? 0)))}</strong>`,
          `<strong>${fmtInt(sum(list.map((f) => f.bytes ?? 0)))}</strong>`,
          '',
        ],
      ],
      undefined,
      'data checksums',
    );
  const out = ctx.m.output;
  parts.push('<h3>Output shards</h3>');
  parts.push(out?.shards?.length ? shardTable(out.shards) : empty('No output shards were written.'));
  if (out?.rejected?.length) {
    parts.push('<h3>Rejected rows</h3>');
    parts.push(shardTable(out.rejected));
  }
  if (out?.columns?.length) {
    parts.push('<h3>Output columns</h3>');
    parts.push(
      table(
        [{ label: 'Column' }, { label: 'Type' }],
        out.columns.map((col) => [code(col.name), code(col.type)]),
        undefined,
        'data compact',
      ),
    );
  }
  const timings = Object.entries(ctx.m.timings ?? {}).filter(([, v]) => isNum(v));
  if (timings.length) {
    parts.push('<h3>Timings</h3>');
    parts.push(
      table(
        [{ label: 'Stage' }, { label: 'Value (as recorded)', numeric: true }],
        timings.map(([k, v]) => [code(k), fmtNum(v, 3)]),
        undefined,
        'data compact',
      ),
    );
  }
  return section(
    'checksums',
    'Checksums and outputs',
    parts.join(''),
    'Verify inputs and outputs with <code>sha256sum</code>.',
  );
}

// ---------------------------------------------------------------- conversations

/** Turns per conversation and characters per turn by role, real vs synthetic (manifest `conversations`). */
function renderConversations(ctx: Ctx): string {
  const raw = ctx.m.conversations;
  if (raw === undefined || raw === null || typeof raw !== 'object') return '';
  return renderSignals(ctx, raw, {
    id: 'conversations',
    title: 'Conversations: real vs synthetic',
    lead: 'The shape of the conversation sources, over every row read: turns per conversation, and characters per turn for each role. Bars are shares of each kind; the last bin of each panel also holds larger values.',
  });
}

/** A stored `{ group: { role: value } }` map, each value checked by `as` (anything else left out). */
function byGroupRole<T>(x: unknown, as: (v: unknown) => T | undefined): [string, [string, T][]][] {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return [];
  const out: [string, [string, T][]][] = [];
  for (const [g, roles] of Object.entries(x as Record<string, unknown>)) {
    if (!roles || typeof roles !== 'object' || Array.isArray(roles)) continue;
    const list = Object.entries(roles as Record<string, unknown>)
      .map(([r, v]) => [r, as(v)] as const)
      .filter((e): e is readonly [string, T] => e[1] !== undefined)
      .map(([r, v]): [string, T] => [r, v]);
    if (list.length) out.push([g, list]);
  }
  return out;
}

/** Metrics per role of the written conversations (manifest `metrics.roles`): each turn a document of its role. */
function renderConversationRoles(ctx: Ctx): string {
  const roles = ctx.m.metrics?.roles;
  if (!roles || typeof roles !== 'object') return '';
  const groups = [
    ...byGroupRole(roles.kinds, asMetrics).map(([k, l]) => [`All ${k}`, l] as const),
    ...byGroupRole(roles.sources, asMetrics).map(([k, l]) => [`${k} (${kindOf(ctx, k)})`, l] as const),
  ];
  const comps = byGroupRole(roles.comparisons, asComparison);
  if (!groups.length && !comps.length) return '';
  const parts: string[] = [];
  if (groups.length) {
    parts.push(
      table(
        [
          { label: 'Group, role' },
          { label: 'turns', numeric: true },
          { label: 'words', numeric: true },
          { label: 'words per turn (mean)', numeric: true },
          { label: 'p50', numeric: true },
          { label: 'p90', numeric: true },
          { label: 'distinct-2', numeric: true },
          { label: 'hapax share', numeric: true },
          { label: 'compression', numeric: true },
          { label: 'top-100 3-gram share', numeric: true },
        ],
        groups.flatMap(([g, list]) =>
          list.map(([role, r]) => [
            `${esc(g)}: ${esc(role)}`,
            fmtInt(r.documents),
            fmtInt(r.words),
            fmtNum(r.length.mean, 1),
            fmtNum(r.length.p50, 0),
            fmtNum(r.length.p90, 0),
            fmtNum(r.distinct?.[2]),
            fmtNum(r.hapaxShare),
            fmtNum(r.compressionRatio, 2),
            fmtNum(r.topNgramConcentration),
          ]),
        ),
      ),
    );
  }
  if (comps.length) {
    parts.push('<h3>Each role compared with the same role of the real pool</h3>');
    parts.push(
      table(
        [
          { label: 'Source, role' },
          { label: 'Compared at words', numeric: true },
          { label: 'distinct-2', numeric: true },
          { label: 'hapax share', numeric: true },
          { label: 'compression', numeric: true },
          { label: 'top 3-grams', numeric: true },
          { label: 'MATTR', numeric: true },
          { label: 'Unigram JSD', numeric: true },
          { label: 'Length distance', numeric: true },
        ],
        comps.flatMap(([g, list]) =>
          list.map(([role, c]) => [
            `${esc(g)}: ${esc(role)}`,
            fmtInt(c.atTokens),
            fmtRatio(c.distinctRatios?.[2] ?? c.distinctRatio),
            fmtRatio(c.hapaxRatio),
            fmtRatio(c.compressionRatio),
            fmtRatio(c.topNgramRatio),
            fmtRatio(c.mattrRatio),
            fmtNum(c.jsd),
            `${fmtNum(c.lengthDistance, 2)} <span class="sub">octaves</span>`,
          ]),
        ),
      ),
    );
    parts.push(
      '<p class="note">Ratios are synthetic / real for the same role at equal sample size, as in the diversity section: assistant turns against the real assistant turns is the comparison that shows collapse risk, which the whole rendered conversation blurs with prompts written by people and repeated system prompts.</p>',
    );
  }
  return section(
    'conversation-roles',
    'Conversations: metrics per role',
    parts.join(''),
    'The written conversations measured per role, each turn a document of its role: how long the turns are (in words) and how diverse.',
  );
}

// ---------------------------------------------------------------- document

/** Render the whole report as one HTML document (deterministic: same manifest, same bytes). */
export function renderReport(manifest: ReportManifest, options: RenderOptions = {}): string {
  const m: ReportManifest = manifest && typeof manifest === 'object' ? manifest : {};
  const sources = (Array.isArray(m.sources) ? m.sources : []).filter(
    (s): s is ReportSource => !!s && typeof s === 'object' && typeof s.name === 'string',
  );
  const warnings = (Array.isArray(m.warnings) ? m.warnings : []).filter(
    (w): w is ReportWarning => !!w && typeof w === 'object' && typeof w.code === 'string',
  );
  const ctx: Ctx = { m, ids: new Ids(), unit: m.unit === 'documents' ? 'documents' : 'tokens', sources, warnings };
  const title = options.title ?? `curate report: ${m.recipe?.name ?? 'run'}`;
  const body = [
    renderHeader(ctx, title),
    renderNav(),
    '<main>',
    renderSummary(ctx),
    renderWarnings(ctx),
    renderComposition(ctx),
    renderFunnel(ctx),
    renderDedup(ctx),
    renderQuality(ctx),
    renderDiversity(ctx),
    renderLengths(ctx),
    renderConversations(ctx),
    renderConversationRoles(ctx),
    renderRecipe(ctx),
    renderChecksums(ctx),
    '</main>',
    `<footer><p>Written by ${esc(m.tool?.name ?? 'curate')}${m.tool?.version ? ` ${esc(m.tool.version)}` : ''} from the run manifest${
      m.finished_at ? ` of ${esc(m.finished_at)}` : ''
    }. Self-contained: this file loads nothing from the network.</p></footer>`,
  ].join('\n');
  const csp = `default-src 'none'; style-src 'sha256-${sha256Base64(CSS)}'; script-src 'sha256-${sha256Base64(PRINT_SCRIPT)}'; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="generator" content="curate">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
<script>${PRINT_SCRIPT}</script>
</body>
</html>
`;
}
