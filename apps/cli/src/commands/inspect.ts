import { expandInputs, inspectShard } from '@curate/shards';
import type { CommandContext } from '../context.js';
import { formatBytes, table } from '../io.js';

export async function inspectCommand(
  ctx: CommandContext,
  args: string[],
  opts: Record<string, unknown>,
): Promise<void> {
  const files = await expandInputs(args, { cwd: ctx.io.cwd });
  const sample = Number(opts.sample ?? 3);
  const infos = [];
  for (const f of files) {
    const info = await inspectShard(f.path, { sample });
    infos.push(info);
    if (ctx.json) continue;
    const fmt = info.compression ? `${info.format} (${info.compression})` : info.format;
    ctx.say(ctx.color.bold(info.path));
    ctx.say(`  format ${fmt}, ${formatBytes(info.size)}, ${info.rows.toLocaleString('en-US')} rows`);
    if (info.parquet) {
      const p = info.parquet;
      ctx.say(
        `  parquet: ${p.rowGroups.length} row group(s), codecs ${p.codecs.join(', ') || 'none'}` +
          (p.createdBy ? `, created by ${p.createdBy}` : ''),
      );
      if (p.encodings?.length) ctx.say(`  encodings: ${p.encodings.join(', ')}`);
      if (p.rowGroups.length > 1 && p.rowGroups.length <= 20) {
        const rows: (string | number)[][] = [['row group', 'rows', 'compressed', 'uncompressed', 'codecs']];
        p.rowGroups.forEach((g, i) => {
          rows.push([i, g.rows, formatBytes(g.compressedBytes), formatBytes(g.uncompressedBytes), g.codecs.join(',')]);
        });
        ctx.say(indent(table(rows)));
      }
    }
    ctx.say('  columns:');
    ctx.say(indent(table([['name', 'type'], ...info.columns.map((c) => [c.name, c.type])]), 4));
    if (info.sample.length) {
      ctx.say(`  sample (${info.sample.length} row${info.sample.length === 1 ? '' : 's'}):`);
      for (const row of info.sample) ctx.say(`    ${preview(row)}`);
    }
  }
  ctx.emit({ files: infos });
}

function indent(s: string, n = 2): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

function preview(row: Record<string, unknown>): string {
  const s = JSON.stringify(row, (_k, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string' && v.length > 80) return `${v.slice(0, 77)}...`;
    if (v instanceof Uint8Array) return `<${v.length} bytes>`;
    return v;
  });
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}
