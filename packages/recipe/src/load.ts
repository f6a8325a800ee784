import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { RecipeError } from '@curate/core';
import { type Document, isMap, isNode, isPair, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import { recipeHash } from './canonical.js';
import { formatIssue, type PathSegment } from './issues.js';
import { isUrl } from './paths.js';
import type { Recipe, RecipeIssue } from './types.js';
import { validateRecipe } from './validate.js';

export interface LoadOptions {
  /** Check that every input path matches a file (default true). */
  checkPaths?: boolean;
  /** Values from the command line; `out` replaces `output.dir` (relative to the working directory). */
  overrides?: { out?: string };
  /**
   * More checks of the valid, resolved recipe (e.g. @curate/pipeline's `checkRecipeColumns`, which reads
   * the input files' schemas); their issues are reported like the schema's, with line and column.
   */
  checks?: ((recipe: Recipe) => Promise<RecipeIssue[]>)[];
}

export interface LoadedRecipe {
  /** The resolved recipe (defaults applied, paths absolute). */
  recipe: Recipe;
  warnings: RecipeIssue[];
  /** sha256 (hex) of the canonical JSON of `recipe`. */
  hash: string;
  /** Absolute path of the recipe file. */
  file: string;
  /** The file's text as read. */
  text: string;
}

/** A recipe that does not validate: the message names the first issue, `issues` holds all of them. */
export class RecipeValidationError extends RecipeError {
  readonly issues: RecipeIssue[];
  readonly warnings: RecipeIssue[];
  constructor(file: string, issues: RecipeIssue[], warnings: RecipeIssue[] = []) {
    const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
    super(`${formatIssue(issues[0])}${more}`, { code: 'E_RECIPE_INVALID', file });
    this.issues = issues;
    this.warnings = warnings;
  }
}

interface Parsed {
  data: unknown;
  locate: (issue: RecipeIssue) => void;
}

function syntaxError(file: string, line: number, column: number, message: string, cause?: unknown): RecipeError {
  return new RecipeError(`line ${line}, column ${column}: ${message}`, { code: 'E_RECIPE_SYNTAX', file, cause });
}

/** `sources[1].max_epochs` -> `['sources', 1, 'max_epochs']`. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

/** Attach the line and column of the deepest YAML node on an issue's path. */
function locator(doc: Document, lines: LineCounter): (issue: RecipeIssue) => void {
  return (issue) => {
    let node: unknown = doc.contents;
    let found: unknown = node;
    for (const seg of parsePath(issue.path)) {
      if (isMap(node)) {
        const pair = node.items.find(
          (it) => isPair(it) && isNode(it.key) && String((it.key as { value?: unknown }).value) === String(seg),
        );
        if (!pair) break;
        found = pair.key; // point at the key: where a reader looks for `a.b`
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg];
        found = node;
      } else break;
    }
    const range = isNode(found) ? found.range : undefined;
    if (range) {
      const pos = lines.linePos(range[0]);
      issue.line = pos.line;
      issue.column = pos.col;
    }
  };
}

/** Nodes one alias may expand to (yaml's `maxAliasCount`); a recipe never comes near it. */
const MAX_ALIAS_COUNT = 1000;

/** Line and column of the document's first alias (where an alias bomb starts), or 1:1. */
function firstAlias(doc: Document, lines: LineCounter): { line: number; col: number } {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset);
}

function parseText(file: string, text: string): Parsed {
  const lines = new LineCounter();
  if (extname(file).toLowerCase() === '.json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const at = /position (\d+)/.exec(msg);
      const offset = at ? Number(at[1]) : text.length;
      const before = text.slice(0, offset).split('\n');
      throw syntaxError(
        file,
        before.length,
        before[before.length - 1].length + 1,
        msg.replace(/ in JSON at position \d+.*$/, ''),
        e,
      );
    }
    // The same text as YAML (a JSON superset) only to find lines for issues.
    return { data, locate: locator(parseDocument(text, { lineCounter: lines }), lines) };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const [pos] = err.linePos ?? [{ line: 1, col: 1 }];
    const first = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw syntaxError(file, pos.line, pos.col, `${first} (YAML ${err.code})`, err);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // yaml throws a bare ReferenceError when aliases expand past maxAliasCount ("billion laughs")
    if (!/alias/i.test((e as Error).message)) throw e;
    const at = firstAlias(doc, lines);
    throw syntaxError(
      file,
      at.line,
      at.col,
      `YAML aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias): refused as a resource exhaustion ("billion laughs") document`,
      e,
    );
  }
  return { data, locate: locator(doc, lines) };
}

/**
 * Read, parse and validate a recipe file (YAML, or JSON by the `.json` extension).
 * Relative paths are resolved against the file's directory. Throws RecipeError:
 * `E_RECIPE_READ` (unreadable), `E_RECIPE_SYNTAX` (with line and column),
 * `E_RECIPE_INVALID` (RecipeValidationError with all `issues`).
 */
export async function loadRecipe(file: string, options: LoadOptions = {}): Promise<LoadedRecipe> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new RecipeError(`cannot read recipe: ${why}`, { code: 'E_RECIPE_READ', file, cause: e });
  }
  const parsed = parseText(file, text);
  let data = parsed.data;
  const out = options.overrides?.out;
  if (out !== undefined && data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const rec = data as Record<string, unknown>;
    const output = rec.output !== null && typeof rec.output === 'object' ? rec.output : {};
    data = { ...rec, output: { ...output, dir: isUrl(out) ? out : resolve(out) } };
  }
  const result = await validateRecipe(data, { baseDir: dirname(abs), checkPaths: options.checkPaths });
  if (result.recipe) for (const check of options.checks ?? []) result.errors.push(...(await check(result.recipe)));
  for (const issue of [...result.errors, ...result.warnings]) parsed.locate(issue);
  if (!result.recipe || result.errors.length) throw new RecipeValidationError(file, result.errors, result.warnings);
  return { recipe: result.recipe, warnings: result.warnings, hash: recipeHash(result.recipe), file: abs, text };
}
