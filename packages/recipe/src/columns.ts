/**
 * Pass-through columns (`output.columns`, `sources[].columns`): a name, or `{ input: output }` to
 * write an input column under another name. Provenance columns are curate's and never overwritten.
 */
import { RecipeError } from '@curate/core';
import type { Recipe } from './types.js';

/** Columns curate writes itself: an input column of one of these names must be renamed to pass through. */
export const RESERVED_COLUMNS: readonly string[] = [
  'id',
  'text',
  'source',
  'kind',
  'source_row',
  'epoch',
  'generator',
  'generation',
  'reason',
];

/** One pass-through column: read `input` from the source's files, write it as `output`. */
export interface PassColumn {
  input: string;
  output: string;
  /** Recipe path of the entry, e.g. `output.columns[1]`. */
  path: string;
}

type Entry = string | Record<string, string>;

function entryOf(e: Entry, path: string): PassColumn {
  if (typeof e === 'string') return { input: e, output: e, path };
  const [[input, output]] = Object.entries(e);
  return { input, output, path };
}

/** A suggested output name for an input column that collides with a provenance column. */
function renameSuggestion(column: string): string {
  return `input_${column}`;
}

/**
 * The pass-through columns of source `sourceIndex` (`output.columns` first, then the source's), with
 * the problems that make them unusable: a reserved output name, or two inputs written to one name.
 */
export function passColumnsOf(
  recipe: Pick<Recipe, 'output' | 'sources'>,
  sourceIndex: number,
): { columns: PassColumn[]; problems: { path: string; message: string }[] } {
  const s = recipe.sources[sourceIndex];
  const entries: PassColumn[] = [
    ...((recipe.output.columns ?? []) as Entry[]).map((e, i) => entryOf(e, `output.columns[${i}]`)),
    ...((s.columns ?? []) as Entry[]).map((e, i) => entryOf(e, `sources[${sourceIndex}].columns[${i}]`)),
  ];
  // a conversation source writes its conversation column as it came (a nested list of turns)
  const conv = s.conversation?.column;
  if (conv !== undefined && !entries.some((e) => e.input === conv)) {
    entries.push({ input: conv, output: conv, path: `sources[${sourceIndex}].conversation.column` });
  }
  const columns: PassColumn[] = [];
  const problems: { path: string; message: string }[] = [];
  for (const c of entries) {
    if (RESERVED_COLUMNS.includes(c.output)) {
      const fix =
        c.input === c.output
          ? `pass the input's column under another name: { ${c.input}: ${renameSuggestion(c.input)} }`
          : `choose another output name, e.g. { ${c.input}: ${renameSuggestion(c.output)} }`;
      problems.push({
        path: c.path,
        message: `"${c.output}" is a provenance column curate writes (${RESERVED_COLUMNS.join(', ')}); ${fix}`,
      });
      continue;
    }
    const same = columns.find((x) => x.output === c.output);
    if (same) {
      if (same.input !== c.input) {
        problems.push({
          path: c.path,
          message: `writes column "${c.output}", which ${same.path} already writes from input column "${same.input}"`,
        });
      }
      continue;
    }
    columns.push(c);
  }
  return { columns, problems };
}

/** `passColumnsOf` for running: the first problem is a RecipeError naming the column and the rename. */
export function passColumns(recipe: Pick<Recipe, 'output' | 'sources'>, sourceIndex: number): PassColumn[] {
  const { columns, problems } = passColumnsOf(recipe, sourceIndex);
  if (problems.length) {
    throw new RecipeError(problems[0].message, { code: 'E_RESERVED_COLUMN', path: problems[0].path });
  }
  return columns;
}
