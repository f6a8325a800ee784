/**
 * The text of documents when inputs differ in columns: one template per file pattern.
 * `[{ match: '**\/dolly*.jsonl', text: '{instruction}\n\n{response}' }, { text: '{instruction}\n\n{output}' }]`
 * gives each file the template of the first rule whose `match` covers it; a rule without `match`
 * covers every file no pattern covers. A file no rule covers is an error naming it.
 */
import { basename, relative, resolve } from 'node:path';
import { type Batch, UsageError } from '@curate/core';
import picomatch from 'picomatch';
import { compileTemplate, type TextTemplate } from './template.js';

/** A text template for the files a glob pattern matches (`match` omitted: every other file). */
export interface TextRule {
  /**
   * Glob (picomatch syntax) matched against the file's path relative to the working directory,
   * its absolute path, and (for a pattern without `/`) its base name.
   */
  match?: string;
  /** Column name or template, as everywhere else. */
  text: string;
}

/** One template for every file, or rules per file pattern. */
export type TextSpec = string | readonly TextRule[];

interface Compiled {
  test: (path: string) => boolean;
  rule: TextRule;
}

function compileRules(rules: readonly TextRule[], cwd: string): { patterns: Compiled[]; fallback?: TextRule } {
  const patterns: Compiled[] = [];
  let fallback: TextRule | undefined;
  for (const rule of rules) {
    if (rule.match === undefined || rule.match === '') {
      if (fallback)
        throw new UsageError('--text: give at most one template without a file pattern', { code: 'E_TEXT_RULES' });
      fallback = rule;
      continue;
    }
    const isMatch = picomatch(rule.match, { dot: true });
    const bare = !rule.match.includes('/');
    patterns.push({
      rule,
      test: (path) => {
        const abs = resolve(cwd, path);
        return isMatch(relative(cwd, abs)) || isMatch(abs) || (bare && isMatch(basename(abs)));
      },
    });
  }
  return { patterns, fallback };
}

/** The template string of `path` under `spec`, or undefined when no rule covers it. */
export function textRuleFor(spec: TextSpec, path: string, cwd: string = process.cwd()): string | undefined {
  if (typeof spec === 'string') return spec;
  const { patterns, fallback } = compileRules(spec, cwd);
  return (patterns.find((p) => p.test(path))?.rule ?? fallback)?.text;
}

function uncovered(paths: string[]): UsageError {
  const fix = 'add a pattern (PATTERN=TEMPLATE) or a template without a pattern for every other file';
  if (paths.length === 1) {
    return new UsageError(`--text: no pattern covers this input file; ${fix}`, {
      code: 'E_TEXT_UNMATCHED',
      file: paths[0],
    });
  }
  const list = paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
  return new UsageError(`--text: no pattern covers ${paths.length} input files (${list}); ${fix}`, {
    code: 'E_TEXT_UNMATCHED',
  });
}

/** Fail before any work when a rule list leaves input files without a template (names them). */
export function checkTextSpec(spec: TextSpec, paths: readonly string[], cwd: string = process.cwd()): void {
  if (typeof spec === 'string') return;
  const { patterns, fallback } = compileRules(spec, cwd);
  if (fallback) return;
  const missing = paths.filter((p) => !patterns.some((c) => c.test(p)));
  if (missing.length) throw uncovered(missing);
}

/** A compiled spec: renders each batch with the template of its file (`batch.file`). */
export interface FileTextTemplate extends TextTemplate {
  /** The template of one file (throws E_TEXT_UNMATCHED naming it when no rule covers it). */
  forFile(path: string | undefined): TextTemplate;
}

/**
 * Compile a spec once. A string is `compileTemplate`; rules compile each template once and pick one
 * per batch by `batch.file` (one string comparison per row). `columns` is the union over the rules.
 */
export function compileTextSpec(spec: TextSpec, cwd: string = process.cwd()): FileTextTemplate {
  if (typeof spec === 'string') {
    const t = compileTemplate(spec);
    return { ...t, forFile: () => t };
  }
  const { patterns, fallback } = compileRules(spec, cwd);
  const byText = new Map<string, TextTemplate>();
  const templateOf = (text: string) => {
    let t = byText.get(text);
    if (!t) {
      t = compileTemplate(text);
      byText.set(text, t);
    }
    return t;
  };
  for (const r of spec) templateOf(r.text);
  const byFile = new Map<string, TextTemplate>();
  const forFile = (path: string | undefined): TextTemplate => {
    const key = path ?? '';
    let t = byFile.get(key);
    if (!t) {
      const rule = path === undefined ? fallback : (patterns.find((p) => p.test(path))?.rule ?? fallback);
      if (!rule) throw uncovered([path ?? '(a batch without a file)']);
      t = templateOf(rule.text);
      byFile.set(key, t);
    }
    return t;
  };
  const columns: string[] = [];
  for (const t of byText.values()) for (const c of t.columns) if (!columns.includes(c)) columns.push(c);
  let lastFile: string | undefined;
  let last: TextTemplate | undefined;
  const current = (batch: Batch): TextTemplate => {
    if (last === undefined || batch.file !== lastFile) {
      last = forFile(batch.file);
      lastFile = batch.file;
    }
    return last;
  };
  return {
    columns,
    render: (batch, row) => current(batch).render(batch, row),
    check: (batch) => current(batch).check(batch),
    forFile,
  };
}

/**
 * The command-line form: each value is `TEMPLATE` (every file no pattern covers) or
 * `PATTERN=TEMPLATE`, where PATTERN has no `{` and no white space (a template with such an `=` can
 * be given as `**=TEMPLATE`). One value without a pattern stays a plain string.
 */
export function parseTextOption(values: string | readonly string[]): TextSpec {
  const list = typeof values === 'string' ? [values] : values;
  if (list.length === 1 && !ruleMatch(list[0])) return list[0];
  const rules: TextRule[] = list.map((v) => {
    const m = ruleMatch(v);
    return m ? { match: m[1], text: m[2] } : { text: v };
  });
  // Validate the rules (at most one fallback) and the templates up front.
  compileTextSpec(rules);
  return rules;
}

function ruleMatch(v: string): RegExpExecArray | null {
  const m = /^([^={}\s]+)=([\s\S]+)$/.exec(v);
  // `a=b` where `a` is a column name and `b` a column? Only patterns that look like paths or globs count.
  return m && /[*?[/.]/.test(m[1]) ? m : null;
}
