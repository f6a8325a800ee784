/**
 * One error base class with a stable `code`, and the few subclasses the runner
 * acts on differently. Only the CLI maps them to exit codes:
 *   - UsageError, RecipeError, InputError -> exit 2 (the user must fix something)
 *   - every other error                     -> exit 1 (failure while running)
 */
export type ErrorCategory = 'usage' | 'recipe' | 'input' | 'runtime';

export interface CurateErrorOptions {
  /** Stable machine-readable code, e.g. `E_PARQUET_NOT_PARQUET`. */
  code?: string;
  /** File the error is about. */
  file?: string;
  /** 0-based row index within `file` (printed 1-based as "row N"). */
  row?: number;
  /** Recipe path such as `sources[1].max_epochs`. */
  path?: string;
  cause?: unknown;
}

export class CurateError extends Error {
  readonly code: string;
  readonly category: ErrorCategory = 'runtime';
  readonly file?: string;
  readonly row?: number;
  readonly path?: string;

  constructor(message: string, options: CurateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'E_RUNTIME';
    this.file = options.file;
    this.row = options.row;
    this.path = options.path;
  }

  /** True when the user can fix it (bad usage, recipe or input): exit code 2. */
  get isUserError(): boolean {
    return this.category !== 'runtime';
  }

  /** One line for a terminal: `file: row 18: message` or `recipe path: message`. */
  toLine(): string {
    const where: string[] = [];
    if (this.file) where.push(this.file);
    if (this.row !== undefined) where.push(`row ${this.row + 1}`);
    if (this.path) where.push(this.path);
    const msg = this.message.replace(/\s*\n\s*/g, ' ');
    return where.length ? `${where.join(': ')}: ${msg}` : msg;
  }
}

/** Bad command-line usage (unknown flag, missing argument). */
export class UsageError extends CurateError {
  override readonly category: ErrorCategory = 'usage';
  constructor(message: string, options: CurateErrorOptions = {}) {
    super(message, { code: 'E_USAGE', ...options });
  }
}

/** A recipe that does not validate; `path` names the recipe path. */
export class RecipeError extends CurateError {
  override readonly category: ErrorCategory = 'recipe';
  constructor(message: string, options: CurateErrorOptions = {}) {
    super(message, { code: 'E_RECIPE', ...options });
  }
}

/** Input data that cannot be used as it is (not Parquet, broken JSON line, missing column). */
export class InputError extends CurateError {
  override readonly category: ErrorCategory = 'input';
  constructor(message: string, options: CurateErrorOptions = {}) {
    super(message, { code: 'E_INPUT', ...options });
  }
}

/** The exit code the CLI uses for an error. */
export function exitCodeFor(err: unknown): 1 | 2 {
  return err instanceof CurateError && err.isUserError ? 2 : 1;
}

/** Attach a file (and optionally row) to an error raised deeper down, keeping its class and code. */
export function withFile<E>(err: E, file: string, row?: number): E {
  if (err instanceof CurateError) {
    const e = err as { file?: string; row?: number };
    if (!e.file) e.file = file;
    if (e.row === undefined && row !== undefined) e.row = row;
  }
  return err;
}
