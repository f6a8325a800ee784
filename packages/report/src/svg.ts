/**
 * Hand-written SVG: a small builder and the figure wrapper every chart goes
 * through, so that each chart is an `<svg role="img">` with `<title>` and
 * `<desc>`, followed by a collapsible data table with the same numbers.
 */
import { c, esc } from './format.js';

/** Okabe-Ito, the colour-blind-safe palette (Okabe & Ito 2008). */
export const OKABE_ITO = {
  blue: '#0072B2',
  vermillion: '#D55E00',
  orange: '#E69F00',
  green: '#009E73',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  black: '#000000',
} as const;

/** Real data is blue and solid, synthetic vermillion and hatched (pattern and label, not colour alone). */
export const REAL_COLOR = OKABE_ITO.blue;
export const SYNTH_COLOR = OKABE_ITO.vermillion;

/** Deterministic element ids for one rendered document. */
export class Ids {
  private n = 0;
  next(prefix: string): string {
    this.n++;
    return `${prefix}-${this.n}`;
  }
}

export class Svg {
  private readonly defs = new Map<string, string>();
  private readonly parts: string[] = [];

  constructor(
    readonly id: string,
    readonly width: number,
    readonly height: number,
  ) {}

  add(...s: string[]): this {
    this.parts.push(...s);
    return this;
  }

  /** A diagonal-hatch fill of `color` (light tint plus stripes); returns the `fill` value. */
  hatch(color: string): string {
    const pid = `${this.id}-hatch-${color.replace('#', '')}`;
    if (!this.defs.has(pid)) {
      this.defs.set(
        pid,
        `<pattern id="${pid}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
          `<rect width="6" height="6" fill="${color}" fill-opacity="0.18"/>` +
          `<line x1="1.5" y1="0" x2="1.5" y2="6" stroke="${color}" stroke-width="2.4"/></pattern>`,
      );
    }
    return `url(#${pid})`;
  }

  /** Fill for a series: solid colour or hatch. */
  fill(color: string, hatched: boolean | undefined): string {
    return hatched ? this.hatch(color) : color;
  }

  text(x: number, y: number, s: string, cls = 'lbl', anchor: 'start' | 'middle' | 'end' = 'start'): string {
    const a = anchor === 'start' ? '' : ` text-anchor="${anchor}"`;
    return `<text x="${c(x)}" y="${c(y)}" class="${cls}"${a}>${esc(s)}</text>`;
  }

  rect(x: number, y: number, w: number, h: number, fill: string, stroke?: string, extra = ''): string {
    const sw = extra.includes('stroke-width') ? '' : ' stroke-width="1"';
    const s = stroke ? ` stroke="${stroke}"${sw}` : '';
    return `<rect x="${c(x)}" y="${c(y)}" width="${c(Math.max(0, w))}" height="${c(Math.max(0, h))}" fill="${fill}"${s}${extra}/>`;
  }

  line(x1: number, y1: number, x2: number, y2: number, cls: string): string {
    return `<line x1="${c(x1)}" y1="${c(y1)}" x2="${c(x2)}" y2="${c(y2)}" class="${cls}"/>`;
  }

  render(title: string, desc: string): string {
    const t = `${this.id}-title`;
    const d = `${this.id}-desc`;
    const defs = this.defs.size ? `<defs>${[...this.defs.values()].join('')}</defs>` : '';
    return (
      `<svg id="${this.id}" class="chart" role="img" aria-labelledby="${t} ${d}" viewBox="0 0 ${c(this.width)} ${c(this.height)}" ` +
      `width="${c(this.width)}" height="${c(this.height)}" preserveAspectRatio="xMinYMin meet">` +
      `<title id="${t}">${esc(title)}</title><desc id="${d}">${esc(desc)}</desc>${defs}${this.parts.join('')}</svg>`
    );
  }
}

/** A legend entry: a swatch (solid, hatched or a marker) and its label. */
export interface LegendItem {
  label: string;
  color: string;
  hatched?: boolean;
  /** White box with a dashed outline (a target). */
  outline?: boolean;
  /** Draw a line sample with this dash array instead of a box. */
  dash?: string;
  marker?: Marker;
}

export type Marker = 'circle' | 'square' | 'triangle' | 'diamond';
export const MARKERS: Marker[] = ['circle', 'square', 'triangle', 'diamond'];

export function marker(svg: Svg, kind: Marker, x: number, y: number, color: string, r = 5): string {
  const stroke = ` stroke="#1a1a1a" stroke-width="0.8"`;
  switch (kind) {
    case 'square':
      return `<rect x="${c(x - r)}" y="${c(y - r)}" width="${c(2 * r)}" height="${c(2 * r)}" fill="${color}"${stroke}/>`;
    case 'triangle':
      return `<path d="M${c(x)} ${c(y - r * 1.15)}L${c(x + r * 1.15)} ${c(y + r * 0.85)}L${c(x - r * 1.15)} ${c(y + r * 0.85)}Z" fill="${color}"${stroke}/>`;
    case 'diamond':
      return `<path d="M${c(x)} ${c(y - r * 1.3)}L${c(x + r * 1.3)} ${c(y)}L${c(x)} ${c(y + r * 1.3)}L${c(x - r * 1.3)} ${c(y)}Z" fill="${color}"${stroke}/>`;
    default:
      void svg;
      return `<circle cx="${c(x)}" cy="${c(y)}" r="${c(r)}" fill="${color}"${stroke}/>`;
  }
}

/** Draws a one-row legend at (x, y); returns the SVG. */
export function legend(svg: Svg, items: LegendItem[], x: number, y: number, maxWidth: number): string {
  const out: string[] = [];
  let cx = x;
  let cy = y;
  for (const it of items) {
    const w = 22 + it.label.length * 6.6 + 18;
    if (cx + w > x + maxWidth && cx > x) {
      cx = x;
      cy += 18;
    }
    if (it.marker) out.push(marker(svg, it.marker, cx + 7, cy - 4, it.color, 4.5));
    else if (it.dash !== undefined) {
      const dash = it.dash ? ` stroke-dasharray="${it.dash}"` : '';
      out.push(
        `<line x1="${c(cx)}" y1="${c(cy - 4)}" x2="${c(cx + 16)}" y2="${c(cy - 4)}" stroke="${it.color}" stroke-width="2.5"${dash}/>`,
      );
    } else if (it.outline) {
      out.push(svg.rect(cx, cy - 10, 16, 12, '#ffffff', it.color, ' stroke-dasharray="4 2" stroke-width="1.6"'));
    } else out.push(svg.rect(cx, cy - 10, 16, 12, svg.fill(it.color, it.hatched), it.color));
    out.push(svg.text(cx + 22, cy, it.label, 'lbl'));
    cx += w;
  }
  return out.join('');
}

/** Height a legend will take (rows of 18px). */
export function legendHeight(items: LegendItem[], maxWidth: number): number {
  let rows = 1;
  let cx = 0;
  for (const it of items) {
    const w = 22 + it.label.length * 6.6 + 18;
    if (cx + w > maxWidth && cx > 0) {
      rows++;
      cx = 0;
    }
    cx += w;
  }
  return rows * 18;
}

/** Cut a label to `max` characters with an ellipsis (the full text is in the data table). */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
}

export interface Column {
  label: string;
  numeric?: boolean;
}

/** A table; cells are HTML already escaped by the caller. */
export function table(columns: Column[], rows: string[][], caption?: string, cls = 'data'): string {
  const head = columns.map((col) => `<th scope="col"${col.numeric ? ' class="num"' : ''}>${esc(col.label)}</th>`);
  const body = rows.map(
    (r) =>
      `<tr>${r
        .map((cell, i) =>
          i === 0 ? `<th scope="row">${cell}</th>` : `<td${columns[i]?.numeric ? ' class="num"' : ''}>${cell}</td>`,
        )
        .join('')}</tr>`,
  );
  const cap = caption ? `<caption>${esc(caption)}</caption>` : '';
  return `<div class="table-wrap"><table class="${cls}">${cap}<thead><tr>${head.join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

/** A chart figure: the SVG, a caption, and the same numbers as a collapsible table. */
export function figure(svg: Svg, title: string, desc: string, dataTable: string, note?: string): string {
  const n = note ? `<p class="note">${note}</p>` : '';
  return (
    `<figure class="figure"><figcaption>${esc(title)}</figcaption>${svg.render(title, desc)}${n}` +
    `<details class="data-details"><summary>Data table: ${esc(title)}</summary>${dataTable}</details></figure>`
  );
}
