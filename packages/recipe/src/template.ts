/**
 * A source's `text`: a column name, or a template over columns such as
 * `"{instruction}\n\n{response}"`. `{a.b}` reads field `b` of column `a`;
 * `{{` and `}}` are literal braces. A string without braces is a column name.
 * The same grammar as `compileTemplate` in @curate/shards, which renders rows;
 * here it only validates the recipe (and `renderTextTemplate` serves the tests).
 */

export type TemplatePart = string | { column: string };

export interface TextTemplate {
  /** The columns (as written, `a.b` for nested fields) the text reads, in order of first use. */
  columns: string[];
  /** Literal strings and column references, in order. */
  parts: TemplatePart[];
  /** False when `text` is a plain column name. */
  isTemplate: boolean;
}

/** Parse `text`; throws a `SyntaxError` whose message says what is wrong and where. */
export function parseTextTemplate(text: string): TextTemplate {
  if (!text.includes('{') && !text.includes('}')) {
    return { columns: [text], parts: [{ column: text }], isTemplate: false };
  }
  const parts: TemplatePart[] = [];
  const columns: string[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '{' && text[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && text[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '{') {
      const end = text.indexOf('}', i + 1);
      const inner = end === -1 ? '' : text.slice(i + 1, end);
      if (end === -1 || inner.includes('{')) {
        throw new SyntaxError(`unclosed "{" at character ${i + 1} (write "{{" for a literal brace)`);
      }
      const column = inner.trim();
      if (!column) throw new SyntaxError(`empty "{}" at character ${i + 1}: name a column`);
      if (literal) parts.push(literal);
      literal = '';
      parts.push({ column });
      if (!columns.includes(column)) columns.push(column);
      i = end + 1;
    } else if (ch === '}') {
      throw new SyntaxError(`unmatched "}" at character ${i + 1} (write "}}" for a literal brace)`);
    } else {
      literal += ch;
      i++;
    }
  }
  if (literal) parts.push(literal);
  return { columns, parts, isTemplate: true };
}

/** The value of column `a` or nested field `a.b` in a row (a column literally named `a.b` wins). */
export function columnValue(row: Record<string, unknown>, column: string): unknown {
  if (column in row) return row[column];
  let node: unknown = row;
  for (const key of column.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Render a parsed text for one row: null and missing values become "", objects JSON. */
export function renderTextTemplate(template: TextTemplate, row: Record<string, unknown>): string {
  let out = '';
  for (const part of template.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const v = columnValue(row, part.column);
    out += v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}
