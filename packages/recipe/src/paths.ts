/** Recipe paths on disk: resolution against the recipe's directory and existence checks. */
import { stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { escapePath, glob, isDynamicPattern } from 'tinyglobby';
import { formatPath } from './issues.js';
import type { Recipe, RecipeIssue } from './types.js';

/** Extensions the shard readers know (see @curate/shards). */
const SHARD_EXT = /\.(parquet|arrow|arrows|feather|jsonl|json|ndjson|jsonl\.gz|jsonl\.zst|json\.gz)$/i;

/** True for object-store URLs (`s3://bucket/key`): never resolved against a directory; @curate/shards reads them. */
export function isUrl(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

/** Resolve one input path or glob against `baseDir` (glob metacharacters in `baseDir` escaped). */
export function resolveInputPath(path: string, baseDir: string): string {
  if (isAbsolute(path) || isUrl(path)) return path;
  if (isDynamicPattern(path))
    return join(escapePath(resolve(baseDir)), path)
      .split(sep)
      .join('/');
  return resolve(baseDir, path);
}

/** Make every relative path of the recipe absolute against `baseDir` (mutates and returns it). */
export function resolveRecipePaths(recipe: Recipe, baseDir: string): Recipe {
  for (const s of recipe.sources) s.paths = s.paths.map((x) => resolveInputPath(x, baseDir));
  for (const d of recipe.dedup.decontaminate ?? []) d.paths = d.paths.map((x) => resolveInputPath(x, baseDir));
  if (!isUrl(recipe.output.dir)) recipe.output.dir = resolve(baseDir, recipe.output.dir);
  for (const item of recipe.quality) if ('custom' in item) item.custom.module = resolve(baseDir, item.custom.module);
  return recipe;
}

/** Why `path` matches no input file, or undefined when it matches at least one. */
export async function pathProblem(path: string, baseDir: string): Promise<string | undefined> {
  // object-store URLs are listed when the run reads them (a missing one is E_NO_MATCH naming it)
  if (isUrl(path)) return undefined;
  if (isDynamicPattern(path)) {
    const matches = await glob(path, { cwd: baseDir, onlyFiles: true, expandDirectories: false });
    if (matches.some((m) => SHARD_EXT.test(m))) return undefined;
    return matches.length
      ? `no input file matches "${path}" (${matches.length} files match, none with a shard extension such as .parquet, .arrow or .jsonl)`
      : `no file matches "${path}"`;
  }
  const abs = resolve(baseDir, path);
  const st = await stat(abs).catch(() => undefined);
  if (!st) return `no file matches "${path}"`;
  if (st.isDirectory()) {
    const files = await glob('**/*', { cwd: abs, onlyFiles: true });
    return files.some((m) => SHARD_EXT.test(m))
      ? undefined
      : `directory "${path}" holds no .parquet, .arrow, .arrows, .feather, .jsonl or .json files`;
  }
  return st.isFile() ? undefined : `"${path}" is not a file or directory`;
}

/** Every source and eval-set path that matches nothing, as errors. */
export async function checkRecipePaths(recipe: Recipe, baseDir: string): Promise<RecipeIssue[]> {
  const jobs: Promise<RecipeIssue | undefined>[] = [];
  const check = (segments: (string | number)[], path: string) => {
    jobs.push(
      pathProblem(path, baseDir).then((message) => (message ? { path: formatPath(segments), message } : undefined)),
    );
  };
  for (const [i, s] of recipe.sources.entries()) {
    for (const [j, x] of s.paths.entries()) check(['sources', i, 'paths', j], x);
  }
  for (const [i, d] of (recipe.dedup.decontaminate ?? []).entries()) {
    for (const [j, x] of d.paths.entries()) check(['dedup', 'decontaminate', i, 'paths', j], x);
  }
  for (const [i, item] of recipe.quality.entries()) {
    if (!('custom' in item)) continue;
    const module = item.custom.module;
    jobs.push(
      stat(resolve(baseDir, module)).then(
        (st) =>
          st.isFile()
            ? undefined
            : { path: formatPath(['quality', i, 'custom', 'module']), message: `"${module}" is not a file` },
        () => ({ path: formatPath(['quality', i, 'custom', 'module']), message: `no file "${module}"` }),
      ),
    );
  }
  return (await Promise.all(jobs)).filter((x): x is RecipeIssue => x !== undefined);
}

/** The directory a path reads from: a directory itself, or a glob's static prefix; undefined for a plain file. */
async function inputRoot(path: string, baseDir: string): Promise<string | undefined> {
  if (isUrl(path)) return undefined;
  if (isDynamicPattern(path)) {
    const parts = path.split(/[\\/]/);
    const stop = parts.findIndex((part) => isDynamicPattern(part));
    const prefix = parts.slice(0, stop).join('/');
    return resolve(baseDir, prefix || '.');
  }
  const abs = resolve(baseDir, path);
  const st = await stat(abs).catch(() => undefined);
  return st?.isDirectory() ? abs : undefined;
}

/** Warnings for an output directory inside a directory a source reads from. */
export async function outputInsideInputs(recipe: Recipe, baseDir: string): Promise<RecipeIssue[]> {
  if (isUrl(recipe.output.dir)) return [];
  const out = resolve(baseDir, recipe.output.dir);
  const warnings: RecipeIssue[] = [];
  for (const [i, s] of recipe.sources.entries()) {
    for (const [j, x] of s.paths.entries()) {
      const root = await inputRoot(x, baseDir);
      if (root === undefined) continue;
      const rel = relative(root, out);
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
        warnings.push({
          path: 'output.dir',
          message: `is inside the input of sources[${i}].paths[${j}] ("${x}"): output shards may be read back as input`,
        });
        return warnings;
      }
    }
  }
  return warnings;
}
