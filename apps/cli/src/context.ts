import { type Io, type Paint, paint, useColor } from './io.js';
import { createProgressBar, type ProgressBar } from './progress.js';

/** What every command receives besides its own arguments. */
export interface CommandContext {
  io: Io;
  json: boolean;
  debug: boolean;
  progress: ProgressBar;
  color: Paint;
  /** Print a line for people (suppressed with --json). */
  say(line: string): void;
  /** Print a warning line on stderr. */
  warn(line: string): void;
  /** Print the one machine-readable summary (only with --json). */
  emit(value: unknown): void;
}

export interface CommonOptions {
  json?: boolean;
  progress?: boolean;
  debug?: boolean;
}

export function createContext(io: Io, opts: CommonOptions): CommandContext {
  const json = Boolean(opts.json);
  const color = paint(useColor(io, 'stderr'));
  const outColor = paint(useColor(io, 'stdout'));
  return {
    io,
    json,
    debug: Boolean(opts.debug),
    progress: createProgressBar(io, opts.progress !== false && !json),
    color: outColor,
    say(line) {
      if (!json) io.stdout.write(`${line}\n`);
    },
    warn(line) {
      io.stderr.write(`${color.yellow('warning:')} ${line}\n`);
    },
    emit(value) {
      if (json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
