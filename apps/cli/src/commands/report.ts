import type { CommandContext } from '../context.js';

export async function reportCommand(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<void> {
  const { writeReport } = await import('@curate/report');
  const path = await writeReport(args[0], opts.out as string | undefined, { overwrite: Boolean(opts.overwrite) });
  ctx.emit({ command: 'report', manifest: args[0], report: path });
  ctx.say(`wrote ${path}`);
}
