import { CurateError } from '@curate/core';

const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * A write that failed because the disk (or quota) is full, as a one-line `E_DISK_FULL` error naming
 * the file (exit 1, not a user mistake); any other error unchanged.
 */
export function diskFull(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code || !FULL.has(code) || e instanceof CurateError) return e;
  return new CurateError(
    `no space left on the device writing a shard (${code}): free space or choose another output directory`,
    {
      code: 'E_DISK_FULL',
      file: path,
    },
  );
}
