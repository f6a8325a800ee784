/**
 * Custom filters named by a recipe: `- custom: { module: ./filters/short.mjs, export: shortFilter,
 * params: {...} }`. The module is an ES module; the export is a filter made with `defineFilter`,
 * or a function of `params` returning one (sync or async). Loaded with `import()`, so it loads the
 * same way in the main thread and in worker threads (each imports it once); the path must be
 * absolute by then (`loadRecipe` resolves it against the recipe's directory).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { didYouMean, RecipeError } from '@curate/core';
import type { Filter } from './filter.js';
import { resolveAppliesTo } from './params.js';
import { createFilter } from './registry.js';

export interface CustomFilterParams {
  /** ES module path (absolute, or relative to the working directory). */
  module: string;
  /** Export name (default `default`). */
  export?: string;
  /** Passed to a factory export. */
  params?: Record<string, unknown>;
  applies_to?: unknown;
}

const NAME = /^[a-z0-9_.-]+$/i;

function fail(path: string, message: string, cause?: unknown): never {
  throw new RecipeError(message, { path, code: 'E_QUALITY_CUSTOM', cause });
}

function isFilter(x: unknown): x is Filter {
  return typeof x === 'object' && x !== null && typeof (x as Filter).filter === 'function';
}

/**
 * Load a custom filter (`path` is its recipe path, `quality[3].custom`): errors are RecipeErrors
 * naming `path.module`, `path.export` or `path.params`. The recipe's `applies_to` replaces the filter's own.
 */
export async function loadCustomFilter(p: CustomFilterParams, path = 'custom'): Promise<Filter> {
  const file = isAbsolute(p.module) ? p.module : resolve(p.module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'not found' : (e as Error).message;
    fail(`${path}.module`, `cannot load "${p.module}": ${why.split('\n')[0]}`, e);
  }
  const name = p.export ?? 'default';
  if (!(name in mod)) {
    const names = Object.keys(mod);
    fail(
      `${path}.export`,
      `"${p.module}" has no export "${name}"${didYouMean(name, names)} (exports: ${names.join(', ') || 'none'})`,
    );
  }
  const exp = mod[name];
  let f: unknown;
  if (isFilter(exp)) {
    if (p.params !== undefined)
      fail(
        `${path}.params`,
        `export "${name}" is a filter, not a function of params: remove params or export a factory`,
      );
    f = exp;
  } else if (typeof exp === 'function') {
    try {
      f = await (exp as (params: Record<string, unknown>) => unknown)(p.params ?? {});
    } catch (e) {
      if (e instanceof RecipeError) throw e;
      fail(`${path}.params`, `export "${name}" failed: ${(e as Error).message}`, e);
    }
    if (!isFilter(f)) fail(`${path}.export`, `export "${name}" returned no filter (make one with defineFilter)`);
  } else {
    fail(`${path}.export`, `export "${name}" is not a filter (make one with defineFilter) or a function returning one`);
  }
  const filter = f as Filter;
  if (typeof filter.name !== 'string' || !NAME.test(filter.name)) {
    fail(`${path}.export`, `the filter's name ${JSON.stringify(filter.name)} must be letters, digits, "_", "." or "-"`);
  }
  const out: Filter = {
    name: filter.name,
    appliesTo: p.applies_to !== undefined ? resolveAppliesTo(p.applies_to, path) : filter.appliesTo,
    filter: filter.filter.bind(filter),
  };
  if (filter.columns) (out as { columns?: readonly string[] }).columns = [...filter.columns];
  if (filter.prepare) out.prepare = filter.prepare.bind(filter);
  if (filter.redact) out.redact = filter.redact.bind(filter);
  return out;
}

/**
 * A recipe quality step as a filter: the built-ins through `createFilter`, `custom` by loading its
 * module. `path` is the step's recipe path (`quality[2].score`).
 */
export async function loadFilter(name: string, params: object | undefined, path?: string): Promise<Filter> {
  if (name === 'custom') return loadCustomFilter(params as CustomFilterParams, path ?? name);
  return createFilter(name, params, path);
}
