import { CurateError } from '@curate/core';
import type { CommandContext } from '../context.js';

export async function mixCommand(_ctx: CommandContext, _args: string[], _opts: Record<string, unknown>): Promise<void> {
  throw new CurateError('`curate mix` is not available in this build yet', { code: 'E_NOT_IMPLEMENTED' });
}

export async function planCommand(
  _ctx: CommandContext,
  _args: string[],
  _opts: Record<string, unknown>,
): Promise<void> {
  throw new CurateError('`curate plan` is not available in this build yet', { code: 'E_NOT_IMPLEMENTED' });
}
