/**
 * Text templates over columns: `"{instruction}\n\n{context}\n\n{response}"`.
 * A template without braces is a column name. `{a.b}` reads a nested field of
 * an object column (or of a JSON-text column holding an object). `{{` and `}}`
 * are literal braces. null/undefined render as '', numbers and booleans with
 * String(), objects as JSON.
 */
import { type Batch, InputError, RecipeError } from '@curate/core';
import { JsonValueError, parseJsonValue, stringifyJson } from './json.js';

export interface TextTemplate {
  /** Top-level columns the template reads, in first-use order. */
  columns: string[];
  render(batch: Batch, row: number): string;
  /** Throws InputError E_MISSING_COLUMN (naming batch.file) when a needed column is absent. */
  check(batch: Batch): void;
  /** Set when the template is one top-level column and nothing else: a string value is the text as it is. */
  field?: string;
}

interface Field {
  column: string;
  path: string[];
}

type Part = string | Field;

/** Text of one value; objects as exact JSON (NaN inside as null). `batch` and `row` name a value too deep to render. */
export function cellText(v: unknown, batch?: Batch, row?: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    try {
      return stringifyJson(v, true);
    } catch (e) {
      if (!(e instanceof JsonValueError)) throw e;
      throw new InputError(`cannot render a value in a text template: ${e.message}`, {
        code: e.code,
        file: batch?.file,
        row: row === undefined ? undefined : (batch?.offset ?? 0) + row,
      });
    }
  }
  return String(v);
}

function dig(v: unknown, path: string[]): unknown {
  for (const key of path) {
    if (typeof v === 'string') {
      const c = v.charCodeAt(0);
      if (c !== 123 /* { */ && c !== 91 /* [ */) return undefined;
      try {
        v = parseJsonValue(v);
      } catch {
        return undefined;
      }
    }
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function parse(template: string): Part[] {
  if (!template.includes('{') && !template.includes('}')) {
    if (template === '') throw new RecipeError('empty text template', { code: 'E_TEMPLATE' });
    return [{ column: template, path: [] }];
  }
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch === '{') {
      if (template[i + 1] === '{') {
        lit += '{';
        i += 2;
        continue;
      }
      const end = template.indexOf('}', i + 1);
      if (end === -1) {
        throw new RecipeError(`text template "${template}": unclosed "{" at ${i} (write "{{" for a literal brace)`, {
          code: 'E_TEMPLATE',
        });
      }
      const name = template.slice(i + 1, end).trim();
      if (!name || name.includes('{')) {
        throw new RecipeError(`text template "${template}": bad field name "${name}" at ${i}`, { code: 'E_TEMPLATE' });
      }
      if (lit) parts.push(lit);
      lit = '';
      const [column, ...path] = name.split('.');
      parts.push({ column, path });
      i = end + 1;
    } else if (ch === '}') {
      if (template[i + 1] === '}') {
        lit += '}';
        i += 2;
        continue;
      }
      throw new RecipeError(`text template "${template}": unmatched "}" at ${i} (write "}}" for a literal brace)`, {
        code: 'E_TEMPLATE',
      });
    } else {
      lit += ch;
      i++;
    }
  }
  if (lit) parts.push(lit);
  return parts;
}

/** Compile a template once; `render` then costs a few property reads and concatenations per row. */
export function compileTemplate(template: string): TextTemplate {
  const parts = parse(template);
  const columns: string[] = [];
  for (const p of parts) if (typeof p !== 'string' && !columns.includes(p.column)) columns.push(p.column);

  const value = (f: Field, batch: Batch, row: number): string => {
    const col = Object.hasOwn(batch.columns, f.column) ? batch.columns[f.column] : undefined;
    const v = col === undefined ? undefined : col[row];
    return cellText(f.path.length ? dig(v, f.path) : v, batch, row);
  };

  let render: (batch: Batch, row: number) => string;
  if (parts.length === 1 && typeof parts[0] !== 'string') {
    const f = parts[0];
    if (f.path.length === 0) {
      const name = f.column;
      render = (batch, row) => {
        const col = Object.hasOwn(batch.columns, name) ? batch.columns[name] : undefined;
        const v = col === undefined ? undefined : col[row];
        return typeof v === 'string' ? v : cellText(v, batch, row);
      };
    } else render = (batch, row) => value(f, batch, row);
  } else {
    render = (batch, row) => {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        out += typeof p === 'string' ? p : value(p, batch, row);
      }
      return out;
    };
  }

  const only = parts.length === 1 && typeof parts[0] !== 'string' && parts[0].path.length === 0 ? parts[0] : null;
  return {
    columns,
    render,
    ...(only ? { field: only.column } : {}),
    check(batch: Batch) {
      for (const c of columns) {
        if (!Object.hasOwn(batch.columns, c)) {
          throw new InputError(
            `missing column "${c}" needed by text template ${JSON.stringify(template)}; columns: ${Object.keys(batch.columns).join(', ') || '(none)'}`,
            { code: 'E_MISSING_COLUMN', file: batch.file },
          );
        }
      }
    },
  };
}
