import { CurateError } from '@curate/core';
import type { CommandContext } from '../context.js';

export async function dedupCommand(
  _ctx: CommandContext,
  _args: string[],
  _opts: Record<string, unknown>,
): Promise<void> {
  throw new CurateError('`curate dedup` is not available in this build yet', { code: 'E_NOT_IMPLEMENTED' });
}
