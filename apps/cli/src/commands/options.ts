import { UsageError } from '@curate/core';
import {
  type ConversationOptions,
  type ConversationView,
  parseTextOption,
  ROLES,
  type Role,
  type ShardWriterOptions,
  type TextSpec,
  type WriteCompression,
  type WriteFormat,
} from '@curate/shards';

/** Parse sizes like `128MB`, `1.5GiB`, `500kb`, `1048576`. */
export function parseSize(value: string, flag = '--shard-size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(value);
  if (!m) throw new UsageError(`${flag}: cannot read size "${value}" (examples: 128MB, 1GiB, 500000)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '').replace(/i$/, '');
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit];
  if (pow === undefined) throw new UsageError(`${flag}: unknown unit in "${value}"`);
  const bytes = Math.round(n * 1024 ** pow);
  if (bytes <= 0) throw new UsageError(`${flag}: must be > 0`);
  return bytes;
}

/** Codecs each output format takes (the shards writers'). */
const CODECS: Record<WriteFormat, WriteCompression[]> = {
  parquet: ['zstd', 'snappy', 'gzip', 'none'],
  arrow: ['zstd', 'none'],
  jsonl: ['gzip', 'zstd', 'none'],
};

export function writerOptions(opts: Record<string, unknown>, dir: string): ShardWriterOptions {
  const format = (opts.format as WriteFormat | undefined) ?? 'parquet';
  let compression = opts.compression as WriteCompression | undefined;
  if (!compression) compression = format === 'parquet' ? 'zstd' : 'none';
  const allowed = CODECS[format];
  if (!allowed.includes(compression)) {
    throw new UsageError(
      `--compression ${compression} is not supported for ${format} output; use ${allowed.join(', ')}`,
    );
  }
  return {
    dir,
    format,
    compression,
    maxRows: opts.shardRows as number | undefined,
    maxBytes: parseSize(String(opts.shardSize ?? '128MB')),
  };
}

/** The `--text` values (repeatable) as one template or rules per file pattern; default `text`. */
export function textSpec(opts: Record<string, unknown>): TextSpec {
  if (opts.conversation !== undefined) return opts.conversation === true ? 'messages' : String(opts.conversation);
  const values = opts.text as string[] | string | undefined;
  if (values === undefined || (Array.isArray(values) && values.length === 0)) return 'text';
  return parseTextOption(values);
}

function roleOf(name: string, flag: string): Role {
  const r = name.trim().toLowerCase();
  if (!(ROLES as readonly string[]).includes(r))
    throw new UsageError(`${flag}: unknown role "${name.trim()}" (roles: ${ROLES.join(', ')})`);
  return r as Role;
}

/**
 * `--conversation [column]` and its flags as the recipe's `sources[].conversation`, with `--roles` as
 * the roles of the command's step (`step`); undefined without `--conversation`.
 */
export function conversationOf(opts: Record<string, unknown>, step: ConversationView): ConversationOptions | undefined {
  if (opts.conversation === undefined) {
    for (const flag of ['roles', 'roleMap'] as const)
      if (opts[flag] !== undefined)
        throw new UsageError(`--${flag === 'roles' ? 'roles' : 'role-map'} needs --conversation`);
    return undefined;
  }
  const text = opts.text as string[] | undefined;
  if (text?.length) throw new UsageError("give --text or --conversation, not both: a conversation's text is its turns");
  const out: ConversationOptions = {
    column: opts.conversation === true ? 'messages' : String(opts.conversation),
    format: (opts.conversationFormat as ConversationOptions['format']) ?? 'auto',
    template: (opts.chatTemplate as ConversationOptions['template']) ?? 'chatml',
  };
  if (opts.roleMap !== undefined) {
    const map: Record<string, Role> = {};
    for (const pair of String(opts.roleMap).split(',')) {
      if (!pair.trim()) continue;
      const m = /^\s*([^=\s][^=]*?)\s*=\s*(\S+)\s*$/.exec(pair);
      if (!m) throw new UsageError(`--role-map: "${pair}" is not NAME=ROLE (e.g. bot=assistant)`);
      map[m[1]] = roleOf(m[2], '--role-map');
    }
    out.roles = map;
  }
  if (opts.roles !== undefined) {
    const list = String(opts.roles)
      .split(',')
      .filter((r) => r.trim())
      .map((r) => roleOf(r, '--roles'));
    if (!list.length) throw new UsageError('--roles: name at least one role');
    out[step] = [...new Set(list)];
  }
  return out;
}
