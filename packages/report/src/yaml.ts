/** A small YAML-style printer for the resolved recipe (display only: JSON values, readable layout). */

const PLAIN = /^[A-Za-z_./@][A-Za-z0-9_./@{}+\- ]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    return PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(' ') && !v.includes(' #') ? v : JSON.stringify(v);
  }
  return JSON.stringify(v);
}

function key(k: string): string {
  return PLAIN.test(k) && !k.includes(' ') && !RESERVED.test(k) ? k : JSON.stringify(k);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lines(v: unknown, indent: string, out: string[], prefix: string): void {
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${prefix}[]`);
      return;
    }
    if (prefix.trim()) out.push(prefix.trimEnd());
    for (const item of v) {
      if (isPlainObject(item) || Array.isArray(item)) {
        const sub: string[] = [];
        lines(item, `${indent}  `, sub, '');
        if (sub.length === 0) continue;
        out.push(`${indent}- ${sub[0].trimStart()}`);
        for (const l of sub.slice(1)) out.push(l);
      } else out.push(`${indent}- ${scalar(item)}`);
    }
    return;
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) {
      out.push(`${prefix}{}`);
      return;
    }
    if (prefix.trim()) out.push(prefix.trimEnd());
    for (const k of keys) {
      const val = v[k];
      if (val === undefined) continue;
      if (isPlainObject(val) || Array.isArray(val)) {
        const empty = Array.isArray(val) ? val.length === 0 : Object.keys(val).length === 0;
        if (empty) out.push(`${indent}${key(k)}: ${Array.isArray(val) ? '[]' : '{}'}`);
        else lines(val, Array.isArray(val) ? indent : `${indent}  `, out, `${indent}${key(k)}:`);
      } else out.push(`${indent}${key(k)}: ${scalar(val)}`);
    }
    return;
  }
  out.push(`${prefix}${scalar(v)}`);
}

/** `value` as YAML-style text (keys in their original order). */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  lines(value, '', out, '');
  return `${out.join('\n')}\n`;
}
