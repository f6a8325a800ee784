/** Escaping and number formatting: every string from a manifest goes through `esc`. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML/SVG text content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

const DASH = '–';
const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 1234567 -> "1,234,567"; missing -> "–". */
export function fmtInt(n: unknown): string {
  return isNum(n) ? INT.format(n) : DASH;
}

const FIXED = new Map<number, Intl.NumberFormat>();

/** A number with `digits` decimals and thousands separators. */
export function fmtNum(n: unknown, digits = 3): string {
  if (!isNum(n)) return DASH;
  // Formatters are costly to build (toLocaleString builds one per call): keep one per precision.
  let f = FIXED.get(digits);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    FIXED.set(digits, f);
  }
  return f.format(n);
}

/** 0.1234 -> "12.3%". */
export function fmtPct(x: unknown, digits = 1): string {
  return isNum(x) ? `${fmtNum(x * 100, digits)}%` : DASH;
}

/** A deviation of two fractions in percentage points: "+1.2 pp", "−0.4 pp", "0.0 pp". */
export function fmtPp(achieved: unknown, target: unknown, digits = 1): string {
  if (!isNum(achieved) || !isNum(target)) return DASH;
  const d = (achieved - target) * 100;
  const s = fmtNum(Math.abs(d), digits);
  if (Number(s.replace(/,/g, '')) === 0) return `${fmtNum(0, digits)} pp`;
  return `${d > 0 ? '+' : '−'}${s} pp`;
}

/** A ratio such as 0.83 -> "0.83×". */
export function fmtRatio(x: unknown): string {
  return isNum(x) ? `${fmtNum(x, 2)}×` : DASH;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB". */
export function fmtBytes(n: unknown): string {
  if (!isNum(n)) return DASH;
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${fmtInt(v)} B` : `${fmtNum(v, 1)} ${UNITS[u]}`;
}

/** A number for SVG coordinates: short and deterministic. */
export function c(n: number): string {
  const r = Math.round(n * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}
