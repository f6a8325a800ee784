import { didYouMean, RecipeError } from '@curate/core';

/** Kinds of parameter value a filter accepts. */
export type ParamSpec =
  | { type: 'number'; min?: number; max?: number; optional?: boolean }
  | { type: 'int'; min?: number; optional?: boolean }
  | { type: 'boolean' }
  | { type: 'string'; optional?: boolean }
  | { type: 'strings' }
  /** A string, finite number or boolean (`where: { eq: ok }`). */
  | { type: 'scalar' }
  /** A non-empty list of those (`where: { in: [en, de] }`). */
  | { type: 'scalars' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'fractions'; keys: readonly number[] }
  /** Per-language overrides of the other parameters: `{ zh: { min_words: 30 }, th: false }`. */
  | { type: 'languages' };

function fail(path: string, message: string): never {
  throw new RecipeError(message, { path, code: 'E_QUALITY_PARAM' });
}

function checkNumber(v: unknown, path: string, min?: number, max?: number, int = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a number, got ${JSON.stringify(v)}`);
  if (int && !Number.isInteger(v)) fail(path, `must be an integer, got ${v}`);
  if (min !== undefined && v < min) fail(path, `must be >= ${min}, got ${v}`);
  if (max !== undefined && v > max) fail(path, `must be <= ${max}, got ${v}`);
  return v;
}

/**
 * Merge `params` over `defaults` after checking every key against `spec`.
 * `path` is the filter's recipe path (`quality[2].score`); errors name `path.key`.
 */
export function resolveParams<T extends object>(
  spec: Record<string, ParamSpec>,
  defaults: T,
  params: object | undefined,
  path: string,
): T {
  const out = { ...defaults } as Record<string, unknown>;
  if (params === undefined || params === null) return out as T;
  if (typeof params !== 'object' || Array.isArray(params)) fail(path, 'parameters must be an object');
  for (const [key, value] of Object.entries(params)) {
    if (key === 'applies_to') continue;
    const s = spec[key];
    const p = `${path}.${key}`;
    if (!s) {
      const known = [...Object.keys(spec), 'applies_to'];
      fail(p, `unknown parameter "${key}"${didYouMean(key, known)} (expected one of: ${known.join(', ')})`);
    }
    if (value === undefined || (value === null && 'optional' in s && s.optional)) {
      out[key] = undefined;
      continue;
    }
    switch (s.type) {
      case 'number':
        out[key] = checkNumber(value, p, s.min, s.max);
        break;
      case 'int':
        out[key] = checkNumber(value, p, s.min, undefined, true);
        break;
      case 'boolean':
        if (typeof value !== 'boolean') fail(p, `must be true or false, got ${JSON.stringify(value)}`);
        out[key] = value;
        break;
      case 'string':
        if (typeof value !== 'string' || value === '')
          fail(p, `must be a non-empty string, got ${JSON.stringify(value)}`);
        out[key] = value;
        break;
      case 'strings':
        if (!Array.isArray(value) || value.some((x) => typeof x !== 'string'))
          fail(p, `must be a list of strings, got ${JSON.stringify(value)}`);
        out[key] = [...value];
        break;
      case 'scalar':
        if (!isScalar(value)) fail(p, `must be a string, number or boolean, got ${JSON.stringify(value)}`);
        out[key] = value;
        break;
      case 'scalars':
        if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar))
          fail(p, `must be a non-empty list of strings, numbers or booleans, got ${JSON.stringify(value)}`);
        out[key] = [...value];
        break;
      case 'enum':
        if (typeof value !== 'string' || !s.values.includes(value))
          fail(p, `must be one of ${s.values.map((x) => `"${x}"`).join(', ')}, got ${JSON.stringify(value)}`);
        out[key] = value;
        break;
      case 'languages': {
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          fail(p, 'must be an object of language code -> parameters (or false)');
        const inner: Record<string, ParamSpec> = {};
        for (const [k, v] of Object.entries(spec)) if (v.type !== 'languages' && k !== 'mode') inner[k] = v;
        const langs: Record<string, unknown> = {};
        for (const [lang, o] of Object.entries(value)) {
          if (!/^[a-z]{2,3}$/.test(lang))
            fail(`${p}.${lang}`, 'must be a language code such as "zh" (2-3 lower-case letters)');
          langs[lang] = o === false ? false : resolveParams(inner, {}, o as object, `${p}.${lang}`);
        }
        out[key] = langs;
        break;
      }
      case 'fractions': {
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          fail(p, 'must be an object of n -> fraction');
        const merged: Record<string, number> = {};
        for (const [n, f] of Object.entries(value)) {
          const nn = Number(n);
          if (!Number.isInteger(nn) || nn < 1 || nn > 32) fail(`${p}.${n}`, 'n-gram size must be an integer 1..32');
          merged[n] = checkNumber(f, `${p}.${n}`, 0, 1);
        }
        out[key] = merged;
        break;
      }
    }
  }
  return out as T;
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Validate `applies_to`: 'real' | 'synthetic' | string[]. */
export function resolveAppliesTo(value: unknown, path: string): 'real' | 'synthetic' | string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'real' || value === 'synthetic') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'string' && x !== ''))
    return [...value];
  fail(
    `${path}.applies_to`,
    `must be "real", "synthetic" or a non-empty list of source names, got ${JSON.stringify(value)}`,
  );
}
