/**
 * The report's charts, hand-written SVG: horizontal grouped bars, the drop
 * funnel (waterfall), a vertical histogram, a ratio dot plot on a log axis and
 * overlaid length histograms. Each returns an `Svg` for `figure()`.
 */
import { c, esc, fmtInt } from './format.js';
import { clip, type LegendItem, legend, legendHeight, type Marker, marker, OKABE_ITO, Svg } from './svg.js';

const WIDTH = 900;
const CHAR_W = 6.6;

/** Round ticks from 0 covering `max`: a step of 1, 2, 2.5 or 5 x 10^k, about `n` steps. */
export function niceTicks(max: number, n = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((st) => st >= raw * 0.999999) ?? 10 * p;
  const count = Math.ceil(max / step - 1e-9);
  return Array.from({ length: count + 1 }, (_, i) => Math.round(i * step * 1e9) / 1e9);
}

export interface HBar {
  name: string;
  value: number;
  color: string;
  hatched?: boolean;
  /** Target-style bar: white with a dashed outline. */
  outline?: boolean;
  /** Value label printed after the bar. */
  text: string;
}

export interface HGroup {
  label: string;
  bars: HBar[];
}

/** Horizontal grouped bars: one group per row label, one bar per series. */
export function hbarChart(
  id: string,
  opts: {
    groups: HGroup[];
    legend: LegendItem[];
    tickFormat: (v: number) => string;
    axisLabel: string;
    max?: number;
    /** Vertical reference lines (e.g. a threshold). */
    refs?: { value: number; label: string }[];
  },
): Svg {
  const labelChars = Math.min(44, Math.max(8, ...opts.groups.map((g) => g.label.length)));
  const labelW = labelChars * CHAR_W + 14;
  const valueW = Math.max(70, ...opts.groups.flatMap((g) => g.bars.map((b) => b.text.length * CHAR_W + 12)));
  const plotX = labelW;
  const plotW = WIDTH - labelW - valueW;
  const legendH = legendHeight(opts.legend, WIDTH);
  const top = legendH + 14;
  const barH = 14;
  const gap = 3;
  const groupGap = 14;
  const groupH = (g: HGroup) => g.bars.length * barH + (g.bars.length - 1) * gap;
  const plotH = opts.groups.reduce((s, g) => s + groupH(g) + groupGap, 0);
  const height = top + plotH + 44;
  const svg = new Svg(id, WIDTH, height);
  const dataMax = Math.max(0, ...opts.groups.flatMap((g) => g.bars.map((b) => b.value)));
  const ticks = niceTicks(opts.max ?? dataMax);
  const max = ticks[ticks.length - 1];
  const xOf = (v: number) => plotX + (Math.min(Math.max(v, 0), max) / max) * plotW;

  svg.add(legend(svg, opts.legend, 0, 14, WIDTH));
  for (const v of ticks) {
    const x = xOf(v);
    svg.add(svg.line(x, top - 4, x, top + plotH, 'grid'));
    svg.add(svg.text(x, top + plotH + 16, opts.tickFormat(v), 'tick', 'middle'));
  }
  svg.add(svg.text(plotX + plotW / 2, top + plotH + 36, opts.axisLabel, 'axis', 'middle'));
  let y = top;
  for (const g of opts.groups) {
    const h = groupH(g);
    svg.add(
      `<g><title>${esc(g.label)}</title>${svg.text(plotX - 8, y + h / 2 + 4, clip(g.label, 44), 'lbl', 'end')}</g>`,
    );
    for (const b of g.bars) {
      const w = xOf(b.value) - plotX;
      svg.add(
        `<g><title>${esc(`${g.label}, ${b.name}: ${b.text}`)}</title>` +
          (b.outline
            ? svg.rect(
                plotX,
                y,
                Math.max(w, b.value > 0 ? 1 : 0),
                barH,
                '#ffffff',
                b.color,
                ' stroke-dasharray="4 2" stroke-width="1.6"',
              )
            : svg.rect(plotX, y, Math.max(w, b.value > 0 ? 1 : 0), barH, svg.fill(b.color, b.hatched), b.color)) +
          '</g>',
      );
      svg.add(svg.text(plotX + w + 5, y + barH - 3, b.text, 'val'));
      y += barH + gap;
    }
    y += groupGap - gap;
  }
  svg.add(svg.line(plotX, top - 4, plotX, top + plotH, 'axis-line'));
  for (const r of opts.refs ?? []) {
    if (r.value > max) continue;
    const x = xOf(r.value);
    svg.add(`<line x1="${c(x)}" y1="${c(top - 6)}" x2="${c(x)}" y2="${c(top + plotH)}" class="ref"/>`);
    svg.add(svg.text(x + 4, top + 6, r.label, 'tick'));
  }
  return svg;
}

export interface Step {
  label: string;
  /** Bar spans [from, to] in rows. */
  from: number;
  to: number;
  color: string;
  hatched?: boolean;
  text: string;
}

/** The drop funnel of one source: rows read, each drop reason taken off the right, available, sampled. */
export function waterfallChart(id: string, steps: Step[], legendItems: LegendItem[]): Svg {
  const labelChars = Math.min(48, Math.max(10, ...steps.map((s) => s.label.length)));
  const labelW = labelChars * CHAR_W + 14;
  const valueW = Math.max(90, ...steps.map((s) => s.text.length * CHAR_W + 12));
  const plotX = labelW;
  const plotW = WIDTH - labelW - valueW;
  const legendH = legendHeight(legendItems, WIDTH);
  const top = legendH + 14;
  const rowH = 22;
  const plotH = steps.length * rowH;
  const height = top + plotH + 26;
  const svg = new Svg(id, WIDTH, height);
  const ticks = niceTicks(Math.max(1, ...steps.map((s) => s.to)));
  const max = ticks[ticks.length - 1];
  const xOf = (v: number) => plotX + (Math.max(0, v) / max) * plotW;
  svg.add(legend(svg, legendItems, 0, 14, WIDTH));
  for (const v of ticks) {
    svg.add(svg.line(xOf(v), top - 4, xOf(v), top + plotH, 'grid'));
    svg.add(svg.text(xOf(v), top + plotH + 16, fmtInt(v), 'tick', 'middle'));
  }
  steps.forEach((s, i) => {
    const y = top + i * rowH + 4;
    const w = xOf(s.to) - xOf(s.from);
    svg.add(`<g><title>${esc(`${s.label}: ${s.text}`)}</title>`);
    svg.add(svg.text(plotX - 8, y + 11, clip(s.label, 48), 'lbl', 'end'));
    svg.add(svg.rect(xOf(s.from), y, Math.max(w, s.to > s.from ? 1.5 : 0), 14, svg.fill(s.color, s.hatched), s.color));
    svg.add('</g>');
    svg.add(svg.text(xOf(s.to) + 5, y + 11, s.text, 'val'));
    const next = steps[i + 1];
    if (next) {
      // Connector from this bar's remaining edge to the next row.
      const edge = next.to === s.from ? s.from : s.to;
      svg.add(svg.line(xOf(edge), y + 14, xOf(edge), y + rowH, 'connector'));
    }
  });
  svg.add(svg.line(plotX, top - 4, plotX, top + plotH, 'axis-line'));
  return svg;
}

/** Vertical bars over categories (e.g. dedup cluster sizes), with a log count axis when counts span decades. */
export function columnChart(
  id: string,
  bins: { label: string; count: number }[],
  opts: { color: string; xLabel: string; yLabel: string },
): { svg: Svg; log: boolean } {
  const height = 280;
  const plotX = 64;
  const top = 22;
  const plotH = height - top - 58;
  const plotW = WIDTH - plotX - 12;
  const svg = new Svg(id, WIDTH, height);
  const counts = bins.map((b) => b.count);
  const max = Math.max(1, ...counts);
  const minPos = Math.min(...counts.filter((n) => n > 0), max);
  const log = max / minPos > 50;
  const linear = niceTicks(max);
  const top10 = log ? 10 ** Math.ceil(Math.log10(max + 1)) : linear[linear.length - 1];
  const hOf = (n: number) => (log ? (Math.log10(1 + n) / Math.log10(1 + top10)) * plotH : (n / top10) * plotH);
  const ticks: number[] = [];
  if (log) for (let v = 1; v <= top10; v *= 10) ticks.push(v);
  else ticks.push(...linear);
  for (const t of [0, ...ticks.filter((t) => t > 0)]) {
    const y = top + plotH - hOf(t);
    svg.add(svg.line(plotX, y, plotX + plotW, y, 'grid'));
    svg.add(svg.text(plotX - 6, y + 4, fmtInt(t), 'tick', 'end'));
  }
  const slot = plotW / Math.max(1, bins.length);
  const bw = Math.min(48, slot * 0.72);
  bins.forEach((b, i) => {
    const x = plotX + slot * i + (slot - bw) / 2;
    const h = hOf(b.count);
    svg.add(
      `<g><title>${esc(`${b.label}: ${fmtInt(b.count)}`)}</title>` +
        svg.rect(x, top + plotH - h, bw, Math.max(h, b.count > 0 ? 1 : 0), opts.color, opts.color) +
        '</g>',
    );
    svg.add(svg.text(x + bw / 2, top + plotH - h - 4, fmtInt(b.count), 'val', 'middle'));
    svg.add(svg.text(x + bw / 2, top + plotH + 15, b.label, 'tick', 'middle'));
  });
  svg.add(svg.line(plotX, top + plotH, plotX + plotW, top + plotH, 'axis-line'));
  svg.add(svg.text(plotX + plotW / 2, height - 18, opts.xLabel, 'axis', 'middle'));
  svg.add(
    `<text x="14" y="${c(top + plotH / 2)}" class="axis" text-anchor="middle" transform="rotate(-90 14 ${c(top + plotH / 2)})">${esc(
      log ? `${opts.yLabel} (log scale)` : opts.yLabel,
    )}</text>`,
  );
  return { svg, log };
}

export interface RatioRow {
  label: string;
  /** A warning was raised on this metric: the label is marked. */
  warned?: boolean;
  /** Shade values below this (a warning threshold). */
  warnBelow?: number;
  /** Shade values above this. */
  warnAbove?: number;
}

export interface RatioSeries {
  name: string;
  color: string;
  marker: Marker;
  /** One ratio per row (NaN/undefined: not measured). */
  values: (number | undefined)[];
}

/** Synthetic / real ratios on a log2 axis centred on 1 (= like the real pool), with warning zones shaded. */
export function ratioChart(id: string, rows: RatioRow[], series: RatioSeries[]): Svg {
  const all = series.flatMap((s) => s.values).filter((v): v is number => typeof v === 'number' && v > 0);
  let span = 2; // log2 units each side: 0.25x .. 4x
  for (const v of all) span = Math.max(span, Math.min(4, Math.ceil(Math.abs(Math.log2(v)))));
  const labelW = Math.min(36, Math.max(10, ...rows.map((r) => r.label.length + (r.warned ? 2 : 0)))) * CHAR_W + 18;
  const plotX = labelW;
  const plotW = WIDTH - labelW - 24;
  const items: LegendItem[] = [
    ...series.map((s) => ({ label: s.name, color: s.color, marker: s.marker })),
    { label: 'warning zone', color: OKABE_ITO.vermillion, hatched: true },
  ];
  const top = legendHeight(items, WIDTH) + 18;
  const rowH = Math.max(26, 10 + series.length * 8);
  const plotH = rows.length * rowH;
  const height = top + plotH + 46;
  const svg = new Svg(id, WIDTH, height);
  const xOf = (v: number) => plotX + ((Math.log2(v) + span) / (2 * span)) * plotW;
  const clampX = (v: number) => xOf(Math.min(2 ** span, Math.max(2 ** -span, v)));
  svg.add(legend(svg, items, 0, 14, WIDTH));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    if (i % 2 === 0) svg.add(svg.rect(plotX, y, plotW, rowH, '#f3f4f6'));
    if (r.warnBelow !== undefined) {
      svg.add(svg.rect(plotX, y + 2, clampX(r.warnBelow) - plotX, rowH - 4, svg.hatch(OKABE_ITO.vermillion)));
    }
    if (r.warnAbove !== undefined) {
      const x0 = clampX(r.warnAbove);
      svg.add(svg.rect(x0, y + 2, plotX + plotW - x0, rowH - 4, svg.hatch(OKABE_ITO.vermillion)));
    }
    const label = `${r.warned ? '⚠ ' : ''}${clip(r.label, 34)}`;
    svg.add(svg.text(plotX - 8, y + rowH / 2 + 4, label, r.warned ? 'lbl lbl-warn' : 'lbl', 'end'));
  });
  for (let k = -span; k <= span; k++) {
    const v = 2 ** k;
    const x = xOf(v);
    svg.add(svg.line(x, top, x, top + plotH, k === 0 ? 'ref' : 'grid'));
    const lbl = v >= 1 ? `${fmtInt(v)}×` : `1/${fmtInt(1 / v)}×`;
    svg.add(svg.text(x, top + plotH + 16, lbl, 'tick', 'middle'));
  }
  svg.add(svg.text(xOf(1) + 4, top - 4, '= real', 'tick'));
  svg.add(
    svg.text(
      plotX + plotW / 2,
      top + plotH + 36,
      'synthetic / real, at equal sample size (log scale)',
      'axis',
      'middle',
    ),
  );
  series.forEach((s, si) => {
    const dy = (si - (series.length - 1) / 2) * 7;
    s.values.forEach((v, i) => {
      if (typeof v !== 'number' || !(v > 0)) return;
      const y = top + i * rowH + rowH / 2 + dy;
      const x = clampX(v);
      svg.add(`<g><title>${esc(`${s.name}, ${rows[i].label}: ${v.toFixed(2)}×`)}</title>`);
      svg.add(marker(svg, s.marker, x, y, s.color));
      svg.add('</g>');
      if (series.length <= 2) {
        // Value next to the point, on the side away from the right edge.
        const right = x < plotX + plotW - 60;
        svg.add(svg.text(x + (right ? 9 : -9), y + 4, `${v.toFixed(2)}×`, 'val val-halo', right ? 'start' : 'end'));
      }
    });
  });
  return svg;
}

export interface LengthSeries {
  name: string;
  color: string;
  hatched?: boolean;
  dash?: string;
  counts: number[];
}

/** Position of bucket edge `i` on the log2 axis (bucket 0 = empty documents sits left of length 1). */
function edgeOct(i: number): number {
  return i === 0 ? -0.25 : (i - 1) / 4;
}

/** Overlaid length histograms on the fixed log-spaced edges, each as a share of its documents. */
export function lengthChart(id: string, series: LengthSeries[], edges: number[]): Svg {
  const items: LegendItem[] = series.map((s) => ({ label: s.name, color: s.color, hatched: s.hatched }));
  const top = legendHeight(items, WIDTH) + 20;
  const height = top + 240;
  const plotX = 56;
  const plotW = WIDTH - plotX - 14;
  const plotH = 180;
  const svg = new Svg(id, WIDTH, height);
  const shares = series.map((s) => {
    const total = s.counts.reduce((a, b) => a + b, 0);
    return s.counts.map((n) => (total > 0 ? n / total : 0));
  });
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const sh of shares)
    sh.forEach((v, i) => {
      if (v > 0) {
        lo = Math.min(lo, i);
        hi = Math.max(hi, i);
      }
    });
  if (!Number.isFinite(lo)) {
    lo = 1;
    hi = 1;
  }
  const oMin = Math.floor(edgeOct(lo));
  const oMax = Math.max(oMin + 1, Math.ceil(edgeOct(hi + 1)));
  const xOf = (o: number) => plotX + ((o - oMin) / (oMax - oMin)) * plotW;
  const yTicks = niceTicks(Math.max(0.01, ...shares.flat()));
  const yMax = yTicks[yTicks.length - 1];
  const yOf = (v: number) => top + plotH - (v / yMax) * plotH;
  svg.add(legend(svg, items, 0, 14, WIDTH));
  for (const v of yTicks) {
    svg.add(svg.line(plotX, yOf(v), plotX + plotW, yOf(v), 'grid'));
    svg.add(svg.text(plotX - 6, yOf(v) + 4, `${Number((v * 100).toFixed(1))}%`, 'tick', 'end'));
  }
  const step = oMax - oMin > 14 ? 2 : 1;
  for (let o = Math.max(0, oMin); o <= oMax; o += step) {
    svg.add(svg.line(xOf(o), top + plotH, xOf(o), top + plotH + 4, 'axis-line'));
    svg.add(svg.text(xOf(o), top + plotH + 17, fmtInt(2 ** o), 'tick', 'middle'));
  }
  if (oMin < 0) svg.add(svg.text(xOf(-0.125), top + plotH + 17, '0', 'tick', 'middle'));
  series.forEach((s, si) => {
    const sh = shares[si];
    let d = `M${c(xOf(edgeOct(lo)))} ${c(yOf(0))}`;
    for (let i = lo; i <= hi; i++) {
      const v = sh[i] ?? 0;
      d += `L${c(xOf(edgeOct(i)))} ${c(yOf(v))}L${c(xOf(edgeOct(i + 1)))} ${c(yOf(v))}`;
    }
    d += `L${c(xOf(edgeOct(hi + 1)))} ${c(yOf(0))}Z`;
    const fill = s.hatched ? svg.hatch(s.color) : s.color;
    const fo = s.hatched ? '' : ' fill-opacity="0.22"';
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    svg.add(
      `<g><title>${esc(`${s.name}: share of documents by length`)}</title>` +
        `<path d="${d}" fill="${fill}"${fo} stroke="${s.color}" stroke-width="2"${dash}/></g>`,
    );
  });
  svg.add(svg.line(plotX, top + plotH, plotX + plotW, top + plotH, 'axis-line'));
  svg.add(svg.text(plotX + plotW / 2, top + plotH + 38, 'document length in words (log scale)', 'axis', 'middle'));
  svg.add(
    `<text x="14" y="${c(top + plotH / 2)}" class="axis" text-anchor="middle" transform="rotate(-90 14 ${c(top + plotH / 2)})">share of documents</text>`,
  );
  void edges;
  return svg;
}

export interface SignalSeries {
  name: string;
  color: string;
  hatched?: boolean;
  /** Share of the group's sampled rows in each bin. */
  shares: number[];
}

export interface SignalThreshold {
  min?: number;
  max?: number;
  /** False when the filter is not in the recipe: its default is drawn, fainter, as a reference. */
  applied: boolean;
}

/** A compact number for a small axis: 100000 -> "100k", 0.05 -> "0.05". */
export function fmtCompact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** Position of value `v` in bin units (bin i spans [i, i+1]), linear inside a bin. */
function binPos(edges: number[], v: number): number {
  const n = edges.length - 1;
  if (v <= edges[0]) return 0;
  if (v >= edges[n]) return n;
  let i = 0;
  while (i < n - 1 && edges[i + 1] <= v) i++;
  return i + (v - edges[i]) / (edges[i + 1] - edges[i]);
}

export const SIGNAL_CHART_WIDTH = 300;

/**
 * Edge indexes in [lo, hi] to label: on equal-width edges the multiples of a round step (1, 2, 5 x
 * 10^k) giving 2 to 6 labels; on uneven (log-like) edges 0 and the powers of ten, every other one
 * when there are more than 6; else evenly spaced edges.
 */
export function signalTicks(edges: number[], lo: number, hi: number): number[] {
  const idx = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
  const w = edges[1] - edges[0];
  const even = edges.every((e, i) => i === 0 || Math.abs(e - edges[i - 1] - w) <= 1e-9 * Math.max(1, Math.abs(w)));
  if (even) {
    const span = edges[hi] - edges[lo];
    const p = 10 ** Math.floor(Math.log10(span / 4));
    for (const m of [1, 2, 5, 10, 20, 50]) {
      const step = m * p;
      const ticks = idx.filter((i) => Math.abs(edges[i] / step - Math.round(edges[i] / step)) < 1e-6);
      if (ticks.length >= 2 && ticks.length <= 6) return ticks;
    }
  } else {
    let ticks = idx.filter(
      (i) => edges[i] === 0 || Math.abs(Math.log10(edges[i]) - Math.round(Math.log10(edges[i]))) < 1e-9,
    );
    while (ticks.length > 6) ticks = ticks.filter((_, k) => k % 2 === 0);
    if (ticks.length >= 2) return ticks;
  }
  const step = Math.max(1, Math.ceil((hi - lo) / 5));
  return idx.filter((i) => (i - lo) % step === 0);
}

/**
 * One small multiple: overlaid histograms (shares of each group's sampled rows) of one quality
 * signal over bins [lo, hi) of fixed edges, equal width per bin, with the filter's bounds as
 * labelled lines and the side they drop shaded.
 */
export function signalChart(
  id: string,
  opts: { edges: number[]; lo: number; hi: number; series: SignalSeries[]; threshold?: SignalThreshold },
): Svg {
  const W = SIGNAL_CHART_WIDTH;
  const plotX = 40;
  const plotW = W - plotX - 18;
  const top = 22;
  const plotH = 112;
  const height = top + plotH + 24;
  const svg = new Svg(id, W, height);
  const { edges, lo, hi } = opts;
  const bins = Math.max(1, hi - lo);
  const xOf = (pos: number) => plotX + ((Math.min(Math.max(pos, lo), hi) - lo) / bins) * plotW;
  const yTicks = niceTicks(Math.max(0.01, ...opts.series.flatMap((s) => s.shares.slice(lo, hi))), 2);
  const yMax = yTicks[yTicks.length - 1];
  const yOf = (v: number) => top + plotH - (v / yMax) * plotH;
  // The side each bound drops, shaded under everything else.
  const t = opts.threshold;
  const shade = t?.applied ? '#eceef1' : '#f5f6f8';
  if (t?.min !== undefined) {
    const x = xOf(binPos(edges, t.min));
    svg.add(
      `<g><title>dropped: below ${esc(fmtCompact(t.min))}</title>${svg.rect(plotX, top, x - plotX, plotH, shade)}</g>`,
    );
  }
  if (t?.max !== undefined) {
    const x = xOf(binPos(edges, t.max));
    svg.add(
      `<g><title>dropped: above ${esc(fmtCompact(t.max))}</title>${svg.rect(x, top, plotX + plotW - x, plotH, shade)}</g>`,
    );
  }
  for (const v of yTicks) {
    svg.add(svg.line(plotX, yOf(v), plotX + plotW, yOf(v), 'grid'));
    svg.add(svg.text(plotX - 5, yOf(v) + 4, `${Number((v * 100).toFixed(1))}%`, 'tick', 'end'));
  }
  for (const i of signalTicks(edges, lo, hi)) {
    svg.add(svg.line(xOf(i), top + plotH, xOf(i), top + plotH + 3, 'axis-line'));
    svg.add(svg.text(xOf(i), top + plotH + 15, fmtCompact(edges[i]), 'tick', 'middle'));
  }
  // Fills first, then outlines (synthetic dashed over real solid), so bars that coincide show both.
  const paths = opts.series.map((s) => {
    let d = `M${c(xOf(lo))} ${c(yOf(0))}`;
    for (let i = lo; i < hi; i++) {
      const v = s.shares[i] ?? 0;
      d += `L${c(xOf(i))} ${c(yOf(v))}L${c(xOf(i + 1))} ${c(yOf(v))}`;
    }
    return `${d}L${c(xOf(hi))} ${c(yOf(0))}Z`;
  });
  opts.series.forEach((s, k) => {
    const fill = s.hatched ? svg.hatch(s.color) : s.color;
    const fo = s.hatched ? '' : ' fill-opacity="0.25"';
    svg.add(`<g><title>${esc(s.name)}</title><path d="${paths[k]}" fill="${fill}"${fo} stroke="none"/></g>`);
  });
  opts.series.forEach((s, k) => {
    const dash = s.hatched ? ' stroke-dasharray="5 3"' : '';
    svg.add(
      `<path d="${paths[k]}" fill="none" stroke="${s.color}" stroke-width="1.8" stroke-linejoin="round"${dash}/>`,
    );
  });
  svg.add(svg.line(plotX, top + plotH, plotX + plotW, top + plotH, 'axis-line'));
  // Bounds last, on top, labelled inside the plot away from the edge.
  const bounds: [string, number][] = [];
  if (t?.min !== undefined) bounds.push([`min ${fmtCompact(t.min)}`, t.min]);
  if (t?.max !== undefined) bounds.push([`max ${fmtCompact(t.max)}`, t.max]);
  for (const [label, v] of bounds) {
    const x = xOf(binPos(edges, v));
    const text = t?.applied ? label : `${label} (default)`;
    svg.add(
      `<line x1="${c(x)}" y1="${c(top - 4)}" x2="${c(x)}" y2="${c(top + plotH)}" class="${t?.applied ? 'ref' : 'ref ref-faint'}"/>`,
    );
    const right = x < plotX + plotW - text.length * 6.2 - 4;
    svg.add(svg.text(right ? x + 3 : x - 3, top - 6, text, 'tick tick-ref val-halo', right ? 'start' : 'end'));
  }
  return svg;
}
