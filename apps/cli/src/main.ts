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
        .option('--allow-shortfall', 'scale the budget down when the caps cannot meet it'),
    load: async () => (await import('./commands/mix.js')).mixCommand,
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
      c
        .option('--text <column>', 'text column or template', 'text')
        .option('--group-by <column>', 'compute metrics per value of this column')
        .option('--tokenizer <name>', 'token counts: words, bytes, cl100k_base or o200k_base', 'words')
        .option(
          '--filters <names>',
          'quality filters for the pass-rate table: default (gopher_quality,gopher_repetition,c4,fineweb), none, or a comma-separated list',
          'default',
        ),
    load: async () => (await import('./commands/stats.js')).statsCommand,
  },
  {
    name: 'dedup',
    args: '<in...>',
    summary: 'remove exact and near duplicates (MinHash LSH); removed rows go to OUT/rejected with their reason',
    options: (c) =>
      outputOptions(c, "the first input's", false)
        .addOption(
          new Option(
            '--stage <stage>',
            'run one distributed stage (signatures -> buckets -> clusters -> remove) with --work-dir, per rank',
          ).choices(['signatures', 'buckets', 'clusters', 'remove']),
        )
        .option('--work-dir <dir>', 'shared directory for stage files and manifests (with --stage)')
        .option('--text <column>', 'text column or template', 'text')
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
    load: async () => (await import('./commands/dedup.js')).dedupCommand,
  },
  {
    name: 'filter',
    args: '<in...>',
    summary: 'apply quality filters; dropped rows go to OUT/rejected with their reason',
    options: (c) =>
      outputOptions(c)
        .requiredOption('--filters <names>', 'comma-separated filters with default parameters, e.g. gopher_quality,c4')
        .option('--text <column>', 'text column or template', 'text')
        .option('--no-rejected', 'do not write dropped rows to OUT/rejected'),
    load: async () => (await import('./commands/filter.js')).filterCommand,
  },
  {
    name: 'decontam',
    args: '<in...>',
    summary: 'drop documents sharing an n-gram with eval sets; dropped rows go to OUT/rejected',
    options: (c) =>
      outputOptions(c)
        .requiredOption('--against <file...>', 'eval set files')
        .option('--against-text <column>', 'text column or template of the eval sets (default: guessed)')
        .option('--text <column>', 'text column or template', 'text')
        .option('--ngram <n>', 'n-gram size in normalized words', int('--ngram'), 13)
        .option('--no-rejected', 'do not write dropped rows to OUT/rejected'),
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
  const program = new Command('curate')
    .description('curate: clean, deduplicated, correctly mixed real/synthetic training sets')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
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
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportError(err, io, debug, errPaint);
  }
}

function reportError(err: unknown, io: Io, debug: boolean, p: ReturnType<typeof paint>): number {
  const code = exitCodeFor(err);
  if (err instanceof CurateError) {
    io.stderr.write(`${p.red('error:')} ${err.toLine()}\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${p.red('error:')} ${msg.split('\n')[0]}\n`);
    if (!debug) io.stderr.write(p.dim('(an unexpected failure: run with --debug for the stack trace)\n'));
  }
  if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return code;
}
