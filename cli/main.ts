import { Command, CommanderError } from 'commander';
import { ConfigError } from '../shared/core/errors.js';
import { ENV_HELP } from './env-help.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerServeCommand } from './commands/serve.js';
import { registerBackfillCommand } from './commands/backfill.js';
import { registerTranscribeCommand } from './commands/transcribe.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerWebhooksCommand } from './commands/webhooks.js';

/** Build the `voxpipe` command line. Exported for tests. */
export function buildProgram(): Command {
  const program = new Command('voxpipe')
    .description('Audio to timed transcripts with Voxtral-class speech models: embedded locally, or on AWS (see README).')
    .showHelpAfterError()
    .addHelpText('after', ENV_HELP);

  registerTranscribeCommand(program);
  registerWatchCommand(program);
  registerBackfillCommand(program);
  registerServeCommand(program);
  registerJobsCommand(program);
  registerWebhooksCommand(program);
  return program;
}

/** Entry point: exit code 2 for configuration errors, with the message alone (no stack). */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  usageErrorsExitTwo(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; a usage error (unknown option, missing or bad argument) exits 2, as documented.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`voxpipe: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

/** Every command throws instead of exiting, so `main` can map usage errors to exit code 2 (commander's own is 1). */
function usageErrorsExitTwo(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) usageErrorsExitTwo(sub);
}
