/**
 * `voxpipe jobs list [--status failed] [--stuck]`: the jobs of the local store, from their
 * `jobs/<id>/status.json`. Stuck = not finished and the status has not moved for the deadline
 * (the same rule as the sweeper Lambda on AWS).
 *
 * This file holds the command's definition only (arguments, options, help), built from pure data. The action
 * and everything it needs (config schema, pipeline, SDKs) live in ./jobs-action.ts, imported when the command
 * runs: `voxpipe --help` and usage errors never load them (test/unit/cli-startup-graph.test.ts guards it).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { JobState } from '../../shared/core/types.js';
import type { JobsListFlags } from './jobs-action.js';

const STATES: readonly JobState[] = ['splitting', 'transcribing', 'aggregating', 'completed', 'failed'];

/** Add `voxpipe jobs list` to the program. */
export function registerJobsCommand(program: Command): void {
  program
    .command('jobs')
    .description('Inspect jobs in the local store')
    .command('list')
    .description('List jobs: id, state, last update, chunks, source')
    .addOption(new Option('--status <state>', 'only jobs in this state').choices(STATES))
    .option('--stuck', 'only unfinished jobs whose status has not moved for --deadline-minutes', false)
    .option('--deadline-minutes <n>', 'how long a job may sit in one state before it counts as stuck', parseMinutes, 360)
    .option('--json', 'one JSON object per line instead of a table', false)
    .option('--work-dir <dir>', 'job store (VOXPIPE_WORK_DIR)')
    .action(async (flags: JobsListFlags) => {
      const { jobsListCommand } = await import('./jobs-action.js');
      await jobsListCommand(flags);
    });
}

function parseMinutes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number of minutes');
  return n;
}
