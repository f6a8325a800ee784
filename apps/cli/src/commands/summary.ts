import type { CommandContext } from '../context.js';
import { table } from '../io.js';

interface Removals {
  documents_in: number;
  kept: number;
  removed: Record<string, number>;
  outputs?: { kept: { rows: number }[]; rejected: { rows: number }[] };
}

/** The human summary shared by filter, dedup and decontam: documents in, kept, removed by reason. */
export function printRemovals(ctx: CommandContext, what: string, s: Removals, out: string): void {
  const removed = s.documents_in - s.kept;
  const pct = (n: number) => (s.documents_in ? `${((100 * n) / s.documents_in).toFixed(2)}%` : '0%');
  ctx.say(
    `${what}: ${s.documents_in.toLocaleString('en-US')} documents in, ${s.kept.toLocaleString('en-US')} kept, ${removed.toLocaleString('en-US')} removed (${pct(removed)})`,
  );
  const reasons = Object.entries(s.removed).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (reasons.length) ctx.say(table([['reason', 'rows', 'share'], ...reasons.map(([r, n]) => [r, n, pct(n)])]));
  const shards = s.outputs ? s.outputs.kept.length : 0;
  const rej = s.outputs ? s.outputs.rejected.length : 0;
  ctx.say(`wrote ${shards} shard(s) to ${out}${rej ? ` and ${rej} to ${out}/rejected` : ''}`);
}
