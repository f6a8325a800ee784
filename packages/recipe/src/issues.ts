/** Recipe paths and readable messages from ajv errors. */

import { didYouMean } from '@curate/core';
import type { ErrorObject } from 'ajv';
import { qualityItemSchema } from './schema.js';
import type { RecipeIssue } from './types.js';

export type PathSegment = string | number;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['sources', 1, 'max_epochs']` -> `sources[1].max_epochs`; odd keys as `["2"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENT.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** `sources[1].max_epochs: must be > 0`; the root is called `recipe`. */
export function formatIssue(issue: RecipeIssue): string {
  return `${issue.path || 'recipe'}: ${issue.message}`;
}

/** JSON pointer (`/sources/1/max_epochs`) -> segments, numbers where the data holds an array. */
export function pointerSegments(pointer: string, data: unknown): PathSegment[] {
  if (!pointer) return [];
  const out: PathSegment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

/** Keys people write in the wrong place or by another name, per parent (`[]` = any list item). */
const MOVED: Record<string, Record<string, string>> = {
  '': {
    tokens: 'target.tokens',
    documents: 'target.documents',
    ratio: 'target.ratio',
    filters: 'quality',
    out: 'output.dir',
    exact: 'dedup.exact',
    near: 'dedup.near',
    decontaminate: 'dedup.decontaminate',
    max_synthetic_fraction: 'guards.max_synthetic_fraction',
    max_epochs_warning: 'guards.max_epochs_warning',
  },
  target: { real: 'target.ratio.real', synthetic: 'target.ratio.synthetic' },
  'sources[]': { epochs: 'max_epochs', path: 'paths', type: 'kind', weight: 'share', column: 'text' },
  output: { rows: 'shard_rows', size: 'shard_size', path: 'dir' },
};

function movedHint(at: PathSegment[], key: string): string {
  const parent = formatPath(at).replace(/\[\d+\]/g, '[]');
  const to = MOVED[parent]?.[key];
  return to ? ` (did you mean "${to}"?)` : '';
}

const FILTERS = Object.keys(qualityItemSchema.properties);
const FILTER_PARAMS = new Set(
  Object.values(qualityItemSchema.properties).flatMap((f) => Object.keys((f as { properties: object }).properties)),
);
const QUALITY_ITEM = '#/properties/quality/items';

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  integer: 'an integer',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

function typeMessage(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return `must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`;
}

interface Schemaish {
  errorMessage?: string;
  properties?: Record<string, unknown>;
}

/** One readable issue per ajv error (several ajv errors may collapse into one issue). */
export function schemaIssues(errors: readonly ErrorObject[], data: unknown): RecipeIssue[] {
  // An `anyOf` with its own message replaces the errors of its branches.
  const collapsed = errors
    .filter((e) => e.keyword === 'anyOf' && (e.parentSchema as Schemaish | undefined)?.errorMessage)
    .map((e) => `${e.schemaPath}/`);
  const issues: RecipeIssue[] = [];
  const seen = new Set<string>();
  const add = (segments: PathSegment[], message: string) => {
    const path = formatPath(segments);
    const key = `${path}\n${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push({ path, message });
  };

  for (const e of errors) {
    if (collapsed.some((prefix) => e.schemaPath.startsWith(prefix))) continue;
    if (e.keyword === 'propertyNames') continue; // reported by the inner error, at the key
    const at = pointerSegments(e.instancePath, data);
    if (e.propertyName !== undefined) at.push(e.propertyName);
    const parent = (e.parentSchema ?? {}) as Schemaish;
    const params = e.params as Record<string, unknown>;
    const inQualityItem = e.schemaPath.startsWith(`${QUALITY_ITEM}/`) && e.schemaPath.split('/').length === 5;

    switch (e.keyword) {
      case 'required':
        add([...at, String(params.missingProperty)], 'is required');
        continue;
      case 'additionalProperties': {
        const key = String(params.additionalProperty);
        const known = Object.keys(parent.properties ?? {});
        if (inQualityItem) {
          if (FILTER_PARAMS.has(key) && !FILTERS.includes(key)) {
            add(at, `"${key}" is a filter parameter, not a filter: put it inside the filter's object`);
          } else {
            add(at, `unknown filter "${key}"${didYouMean(key, known) || ` (known: ${known.join(', ')})`}`);
          }
        } else {
          const hint = movedHint(at, key) || didYouMean(key, known) || ` (known keys: ${known.join(', ')})`;
          add([...at, key], `unknown key${hint}`);
        }
        continue;
      }
      case 'minProperties':
        if (inQualityItem) add(at, `must name one filter (one of ${FILTERS.join(', ')})`);
        else if (params.limit === 1)
          add(at, `must give at least one of ${Object.keys(parent.properties ?? {}).join(', ')}`);
        else add(at, e.message ?? 'is invalid');
        continue;
      case 'maxProperties':
        if (inQualityItem) {
          const keys = Object.keys((e.data ?? {}) as object).filter((k) => FILTERS.includes(k));
          // Extra keys that are not filters get their own message (additionalProperties).
          if (keys.length > 1) {
            add(
              at,
              `must name exactly one filter, found ${keys.length} (${keys.join(', ')}): give each its own list item`,
            );
          }
        } else add(at, e.message ?? 'is invalid');
        continue;
    }

    if (parent.errorMessage) {
      add(at, parent.errorMessage);
      continue;
    }
    switch (e.keyword) {
      case 'type': {
        let msg = typeMessage(params.type);
        const filter = at.length === 3 && at[0] === 'quality' ? at[2] : undefined;
        if (typeof filter === 'string' && FILTERS.includes(filter) && e.data === null) {
          msg += ` (write "${filter}: {}" for the defaults)`;
        }
        if (at.length === 2 && at[0] === 'quality' && typeof e.data === 'string' && FILTERS.includes(e.data)) {
          msg += ` (write "- ${e.data}: {}" for the filter with its defaults)`;
        }
        add(at, msg);
        break;
      }
      case 'enum':
        add(at, `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        add(at, `must be ${String(params.comparison)} ${String(params.limit)}`);
        break;
      case 'minItems':
        add(at, params.limit === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} items`);
        break;
      case 'minLength':
        add(at, params.limit === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} characters`);
        break;
      default:
        add(at, e.message ?? `is invalid (${e.keyword})`);
    }
  }
  return issues;
}
