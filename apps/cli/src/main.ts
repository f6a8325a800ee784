import { readFileSync } from 'node:fs';
import { CurateError, exitCodeFor, UsageError } from '@curate/core';
import { Command, CommanderError, Option } from 'commander';
import { type CommandContext, type CommonOptions, createContext } from './context.js';
import { type Io, paint, processIo, useColor } from './io.js';

/** The CLI's version, from its package.json (changesets bump it there). */
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

type Runner = (ctx: CommandContext, args: string[], opts: Record<string, unknown>) => Promise<void>;

interface CommandSpec {
  name: string;
  args: string;
  summary: string;
  options: (cmd: Command) => Command;
  /** Loaded lazily so `curate --help` stays fast. */
  load: () => Promise<Runner>;
}

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${v}"`);
  return n;
};
const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};

const outputOptions = (c: Command, defaultFormat = "the first input's", outRequired = true) =>
  (outRequired
    ? c.requiredOption('--out <dir>', 'output directory (written to a temporary name, renamed when complete)')
    : c.option('--out <dir>', 'output directory (written to a temporary name, renamed when complete)')
  )
    .option('--overwrite', 'replace an existing output directory')
    .addOption(
      new Option('--format <format>', `output format (default: ${defaultFormat})`).choices([
        'parquet',
        'arrow',
        'jsonl',
      ]),
    )
    .addOption(
      new Option(
        '--compression <codec>',
        'compression (parquet: zstd|snappy|gzip|none; arrow: zstd|none; jsonl: gzip|zstd|none)',
      ).choices(['zstd', 'snappy', 'gzip', 'none']),
    );

const shardOptions = (c: Command) =>
  c
    .option('--shard-rows <n>', 'rows per output shard', int('--shard-rows'))
    .option('--shard-size <size>', 'bytes per output shard, e.g. 128MB', '128MB');

/**
 * `--text`, repeatable: `TEMPLATE` for every file, or `PATTERN=TEMPLATE` per file pattern when the
 * inputs differ in columns (the first matching pattern wins; a template without a pattern covers
 * the rest). Parsed by `parseTextOption` of @curate/shards in each command.
 */
const textOption = [
  '--text <template>',
  'text column or template; repeat as PATTERN=TEMPLATE for inputs that differ in columns, e.g. --text "*dolly*={instruction} {response}" --text "*alpaca*={instruction} {output}" (first matching pattern wins; one without a pattern covers the other files)',
  (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
] as const;

/**
 * The documents are conversations (a column holding a list of turns), as a recipe's
 * `sources[].conversation`: column, shape, role names, chat template and the roles the command sees.
 */
const conversationOptions = (c: Command, step: string, roles: string) =>
  c
    .option(
      '--conversation [column]',
      'the documents are conversations in this column (default messages; a JSONL line that is a bare array of turns is the column messages)',
    )
    .addOption(
      new Option('--conversation-format <shape>', 'turns {role, content} (openai) or {from, value} (sharegpt)')
        .choices(['auto', 'openai', 'sharegpt'])
        .default('auto'),
    )
    .option(
      '--role-map <map>',
      'more role names, e.g. bot=assistant,narrator=system (roles: system, user, assistant, tool)',
    )
    .option('--roles <roles>', `roles whose turns ${step} (recipe: conversation.${roles}), comma-separated`)
    .addOption(
      new Option('--chat-template <name>', 'rendering of a conversation as text (token counts)')
        .choices(['chatml', 'plain'])
        .default('chatml'),
    );

export const COMMANDS: CommandSpec[] = [
  {
    name: 'mix',
    args: '<recipe>',
    summary: 'run a recipe: read, filter, dedup, decontaminate, plan, sample and write a mixed training set',
    options: (c) =>
      c
        .option('--out <dir>', "output directory (overrides the recipe's output.dir)")
        .option('--overwrite', 'replace an existing output directory')
        .option('--workers <n>', 'worker threads (default: number of cores)', int('--workers'))
        .option('--dry-run', 'stop after planning; write nothing')
        .option('--allow-shortfall', 'scale the budget down when the caps cannot meet it')
        .option(
          '--work <dir>',
          'work dir: attribute shards reused and stored across mixes (default: .curate-work beside the output directory)',
        )
        .option('--no-work', 'store no attributes; compute everything')
        .addOption(
          new Option(
            '--stage <stage>',
            'run one rank of one stage of the staged mix (with --work DIR shared by every rank)',
          ).choices(['scan', 'dedup', 'plan', 'scatter', 'write', 'finalize']),
        )
        .option(
          '--rank <i>',
          'this rank (with --stage); also SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX',
          int('--rank'),
        )
        .option(
          '--world-size <n>',
          "the stage's number of ranks (with --stage); also SLURM_ARRAY_TASK_COUNT / CURATE_WORLD_SIZE",
          int('--world-size'),
        )
        .option(
          '--then',
          'with --stage dedup or write: the rank that finds every rank of its stage done runs the one-rank stage after it (plan, finalize) too',
        )
        .option(
          '--slurm',
          'submit the stages as Slurm arrays chained with afterok (scripts in the work dir) and return',
        )
        .option('--scan-ranks <n>', 'with --slurm: scan ranks (default 4)', int('--scan-ranks'))
        .option('--dedup-ranks <n>', 'with --slurm: dedup ranks (default 2)', int('--dedup-ranks'))
        .option(
          '--write-ranks <n>',
          'with --slurm: write ranks, which do the scatter units too (default 4)',
          int('--write-ranks'),
        )
        .option('--partition <name>', 'with --slurm: #SBATCH --partition')
        .option('--time <limit>', 'with --slurm: #SBATCH --time, e.g. 4:00:00')
        .option('--cpus <n>', 'with --slurm: #SBATCH --cpus-per-task (and --workers of each rank)', int('--cpus'))
        .option('--mem <size>', 'with --slurm: #SBATCH --mem, e.g. 16G')
        .option(
          '--sbatch <line>',
          'with --slurm: an extra #SBATCH line, e.g. --sbatch=--account=abc (repeatable)',
          (v: string, prev: string[] = []) => [...prev, v],
        ),
    load: async () => (await import('./commands/mix.js')).mixCommand,
  },
  {
    name: 'status',
    args: '<workdir>',
    summary: "show a staged mix's ranks per stage: done, running, failed (with each failed rank's log)",
    options: (c) => c,
    load: async () => (await import('./commands/staged.js')).statusCommand,
  },
  {
    name: 'tag',
    args: '<recipe>',
    summary:
      "compute the attribute shards of a recipe's inputs (the scan stage alone) so later mixes re-read no text to decide",
    options: (c) =>
      c
        .option('--work <dir>', 'work dir (default: .curate-work beside the output directory)')
        .option(
          '--out <dir>',
          "output directory the default work dir is derived from (default: the recipe's output.dir)",
        )
        .option('--workers <n>', 'worker threads (default: number of cores)', int('--workers')),
    load: async () => (await import('./commands/mix.js')).tagCommand,
  },
  {
    name: 'plan',
    args: '<recipe>',
    summary: 'show quotas, epochs and feasibility of a recipe; writes nothing',
    options: (c) =>
      c
        .option('--workers <n>', 'worker threads', int('--workers'))
        .option('--allow-shortfall', 'scale the budget down when the caps cannot meet it'),
    load: async () => (await import('./commands/mix.js')).planCommand,
  },
  {
    name: 'validate',
    args: '<recipe>',
    summary: 'check a recipe against the schema and the semantic rules',
    options: (c) => c.option('--no-check-paths', 'do not check that source paths match files'),
    load: async () => (await import('./commands/validate.js')).validateCommand,
  },
  {
    name: 'inspect',
    args: '<file...>',
    summary: 'show schema, rows, row groups, codecs and a sample of shard files',
    options: (c) => c.option('--sample <n>', 'rows to show per file', int('--sample'), 3),
    load: async () => (await import('./commands/inspect.js')).inspectCommand,
  },
  {
    name: 'stats',
    args: '<file...>',
    summary: 'counts, tokens, lengths, diversity metrics and filter pass rates of a corpus',
    options: (c) =>
      conversationOptions(
        c
          .option(...textOption)
          .option('--group-by <column>', 'compute metrics per value of this column')
          .option(
            '--tokenizer <name>',
            'token counts: words, bytes, cl100k_base, o200k_base or a tokenizer.json path',
            'words',
          )
          .option(
            '--filters <names>',
            'quality filters for the pass-rate table: default (gopher_quality,gopher_repetition,c4,fineweb), none, or a comma-separated list',
            'default',
          ),
        'the filter pass rates see',
        'quality',
      ),
    load: async () => (await import('./commands/stats.js')).statsCommand,
  },
  {
    name: 'dedup',
    args: '<in...>',
    summary: 'remove exact and near duplicates (MinHash LSH); removed rows go to OUT/rejected with their reason',
    options: (c) =>
      conversationOptions(
        outputOptions(c, "the first input's", false)
          .addOption(
            new Option(
              '--stage <stage>',
              'run one distributed stage (signatures -> buckets -> clusters -> remove) with --work-dir, per rank',
            ).choices(['signatures', 'buckets', 'clusters', 'remove']),
          )
          .option('--work-dir <dir>', 'shared directory for stage files and manifests (with --stage)')
          .option(...textOption)
          .option('--threshold <j>', 'Jaccard threshold for near duplicates', num('--threshold'), 0.8)
          .option('--ngram <n>', 'shingle size in words', int('--ngram'), 5)
          .option('--num-perm <n>', 'MinHash permutations', int('--num-perm'), 128)
          .option('--bands <b>', 'LSH bands (default: chosen from the threshold)', int('--bands'))
          .option('--rows <r>', 'LSH rows per band (with --bands)', int('--rows'))
          .addOption(
            new Option('--shingle <kind>', 'word or character n-grams').choices(['word', 'char']).default('word'),
          )
          .addOption(
            new Option('--prefer <which>', 'which document a cluster keeps first')
              .choices(['real', 'none'])
              .default('real'),
          )
          .option('--score <column>', 'keep the higher score within a cluster (after --prefer)')
          .option('--no-exact', 'skip exact dedup')
          .option('--no-near', 'skip near dedup')
          .option('--no-rejected', 'do not write removed rows to OUT/rejected')
          .option('--workers <n>', 'worker threads', int('--workers'))
          .option(
            '--rank <i>',
            'this rank (distributed stages); also SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX',
            int('--rank'),
          )
          .option('--world-size <n>', 'number of ranks; also SLURM_ARRAY_TASK_COUNT', int('--world-size')),
        'are compared',
        'dedup',
      ),
    load: async () => (await import('./commands/dedup.js')).dedupCommand,
  },
  {
    name: 'filter',
    args: '<in...>',
    summary: 'apply quality filters; dropped rows go to OUT/rejected with their reason',
    options: (c) =>
      conversationOptions(
        outputOptions(c)
          .option('--filters <names>', 'comma-separated filters with default parameters, e.g. gopher_quality,c4')
          .option(
            '--where <condition>',
            "keep rows by a column value, as the recipe's where (repeatable): '{column: status, eq: ok}', '{column: score, gte: 3}'",
            (v: string, prev: string[] = []) => [...prev, v],
          )
          .option(...textOption)
          .option('--no-rejected', 'do not write dropped rows to OUT/rejected'),
        'the filters judge',
        'quality',
      ),
    load: async () => (await import('./commands/filter.js')).filterCommand,
  },
  {
    name: 'decontam',
    args: '<in...>',
    summary: 'drop documents sharing an n-gram with eval sets; dropped rows go to OUT/rejected',
    options: (c) =>
      conversationOptions(
        outputOptions(c)
          .requiredOption('--against <file...>', 'eval set files')
          .option('--against-text <column>', 'text column or template of the eval sets (default: guessed)')
          .option(...textOption)
          .option('--ngram <n>', 'n-gram size in normalized words', int('--ngram'), 13)
          .option('--no-rejected', 'do not write dropped rows to OUT/rejected'),
        'are searched for eval n-grams',
        'decontaminate',
      ),
    load: async () => (await import('./commands/decontam.js')).decontamCommand,
  },
  {
    name: 'report',
    args: '<manifest>',
    summary: 'write the HTML report of a run from its manifest.json',
    options: (c) =>
      c
        .option('--out <file>', 'report file (default: report.html beside the manifest)')
        .option('--overwrite', 'replace an existing file that is not a curate report (never the manifest or a shard)'),
    load: async () => (await import('./commands/report.js')).reportCommand,
  },
  {
    name: 'convert',
    args: '<in...>',
    summary: 'convert shards between Parquet, Arrow IPC and JSONL, keeping every column',
    options: (c) => shardOptions(outputOptions(c, 'parquet')),
    load: async () => (await import('./commands/convert.js')).convertCommand,
  },
];

function addCommon(c: Command): Command {
  return c
    .option('--json', 'print one machine-readable JSON summary on stdout')
    .option('--no-progress', 'no progress bar (it is only drawn on a terminal anyway)')
    .option('--debug', 'print stack traces of errors');
}

/** Run the CLI; returns the exit code (0 success, 1 failure while running, 2 bad usage or input). */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const errPaint = paint(useColor(io, 'stderr'));
  let debug = argv.includes('--debug');
  // Known before parsing, so a usage error (unknown flag, missing argument) also answers in JSON.
  const json = argv.includes('--json');
  const commandName = argv.find((a) => COMMANDS.some((c) => c.name === a));
  const program = new Command('curate')
    .description('curate: clean, deduplicated, correctly mixed real/synthetic training sets')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError(json ? false : '(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(errPaint.red(s)),
    });
  for (const spec of COMMANDS) {
    const cmd = addCommon(spec.options(program.command(`${spec.name} ${spec.args}`).description(spec.summary)));
    cmd.exitOverride();
    cmd.action(async (...params: unknown[]) => {
      // commander passes (arg1, ..., opts, command)
      const command = params[params.length - 1] as Command;
      const opts = command.opts() as Record<string, unknown> & CommonOptions;
      debug = Boolean(opts.debug);
      const args = params.slice(0, -2).flatMap((p) => (Array.isArray(p) ? p : [p])) as string[];
      const ctx = createContext(io, opts);
      const runner = await spec.load();
      try {
        await runner(ctx, args, opts);
      } finally {
        ctx.progress.done();
      }
    });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return 0;
      }
      const code = err.exitCode === 0 ? 0 : 2;
      if (code !== 0 && json) {
        const message = err.message.replace(/^error:\s*/, '');
        writeJsonError(io, commandName, code, { code: 'E_USAGE', category: 'usage', message, line: message });
      }
      return code;
    }
    return reportError(err, io, { debug, json, command: commandName }, errPaint);
  }
}

/** A recipe issue as RecipeValidationError carries them (kept structural: the CLI does not need @curate/recipe here). */
export interface Issue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

function issuesOf(err: unknown): Issue[] {
  const issues = (err as { issues?: unknown }).issues;
  return Array.isArray(issues) ? (issues as Issue[]) : [];
}

/** `line 7, column 5: sources[0].max_epochs: must be >= 0` */
function formatIssueLine(i: Issue): string {
  const at = i.line !== undefined ? `line ${i.line}${i.column !== undefined ? `, column ${i.column}` : ''}: ` : '';
  return `${at}${i.path || 'recipe'}: ${i.message}`;
}

/** The `error` member of the JSON a failing command prints with `--json`. */
export interface JsonError {
  /** Stable code (`E_RECIPE_INVALID`, `E_MISSING_COLUMN`, ...; `E_UNEXPECTED` for a failure curate did not foresee). */
  code: string;
  /** usage | recipe | input | runtime */
  category: string;
  /** The message alone. */
  message: string;
  /** The line printed after `error:` on stderr (file, row, recipe path and message). */
  line: string;
  file?: string;
  /** 1-based row within `file`, as printed. */
  row?: number;
  /** Recipe path such as `sources[1].max_epochs`. */
  path?: string;
  /** Every recipe issue, with its line and column in the recipe file when known. */
  issues?: Issue[];
}

function writeJsonError(io: Io, command: string | undefined, exitCode: number, error: JsonError): void {
  const out = { command: command ?? null, ok: false, exit_code: exitCode, error };
  io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

function reportError(
  err: unknown,
  io: Io,
  how: { debug: boolean; json: boolean; command?: string },
  p: ReturnType<typeof paint>,
): number {
  const code = exitCodeFor(err);
  const issues = issuesOf(err);
  let line: string;
  if (err instanceof CurateError) {
    line = err.toLine();
    io.stderr.write(`${p.red('error:')} ${line}\n`);
    // Several recipe issues: all of them under the error line, each with its place in the file.
    if (issues.length > 1) for (const i of issues) io.stderr.write(`  ${formatIssueLine(i)}\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    line = msg.split('\n')[0];
    io.stderr.write(`${p.red('error:')} ${line}\n`);
    if (!how.debug) io.stderr.write(p.dim('(an unexpected failure: run with --debug for the stack trace)\n'));
  }
  if (how.debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  if (how.json) {
    const e = err instanceof CurateError ? err : undefined;
    const error: JsonError = {
      code: e?.code ?? 'E_UNEXPECTED',
      category: e?.category ?? 'runtime',
      message: e ? e.message : line,
      line,
    };
    if (e?.file !== undefined) error.file = e.file;
    if (e?.row !== undefined) error.row = e.row + 1;
    const path = e?.path ?? issues[0]?.path;
    if (path !== undefined) error.path = path;
    if (issues.length) error.issues = issues;
    writeJsonError(io, how.command, code, error);
  }
  return code;
}
