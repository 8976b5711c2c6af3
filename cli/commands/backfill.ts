/**
 * `voxpipe backfill <s3://bucket/prefix | DIR>`: submit an archive as jobs, drip-fed, within a budget,
 * resumable. Composition root of the backfill: builds the source, runner and journal and calls
 * `shared/backfill/run.ts`.
 *
 * This file holds the command's definition only (arguments, options, help), built from pure data. The action
 * and everything it needs (config schema, pipeline, SDKs) live in ./backfill-action.ts, imported when the command
 * runs: `voxpipe --help` and usage errors never load them (test/unit/cli-startup-graph.test.ts guards it).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { PROVIDERS } from '../../shared/core/provider-catalog.js';
import { ASSUMED_REALTIME_FACTOR, USD_PER_AUDIO_MINUTE } from '../../shared/core/backfill-plan.js';
import { ALL_FORMATS, parseFormats } from '../format-option.js';
import type { BackfillFlags } from './backfill-action.js';

const FORMATS = ALL_FORMATS;

const HELP = `
Sources:
  DIR                    every audio/video file under DIR (by extension), transcribed by the embedded pipeline
                         (same provider settings as \`voxpipe transcribe\`); results under --out at the same relative path.
  s3://bucket/prefix     every audio/video object under the prefix, submitted to the deployed pipeline by a
                         server-side copy into s3://<--bucket>/inbox/<relative key>; progress read from jobs/<id>/status.json.
                         With --profile NAME: inbox/NAME/<relative key>, followed to processed|failed/NAME/<key>.reason.json
                         (use it on stacks deployed with drop-folder profiles, where inbox/a/b.mp3 means profile "a").

State and resume:
  The state file (--state, default <work-dir>/backfill/<hash of source>.jsonl) is a journal written before each
  step. Re-running the same command skips finished files (failed ones too, unless --retry-failed) and picks up
  files a killed run left in flight without submitting them twice.

Estimates (--dry-run, and the budget until a job has finished):
  duration   local: ffprobe; S3: object size at an assumed bit rate per extension (mp3/m4a 128 kbit/s, opus 48,
             flac 700, wav 1411, video 1000-2000; see shared/core/backfill-plan.ts)
  cost       duration x $/min: ${Object.entries(USD_PER_AUDIO_MINUTE).map(([p, usd]) => `${p} $${usd}`).join(', ')} (list prices;
             --usd-per-minute overrides). A finished job counts its provider-reported cost, else its duration x $/min.
  wall time  provider calls at ${ASSUMED_REALTIME_FACTOR}x real time plus a fixed overhead per file, spread over
             min(--concurrency, --max-in-flight) lanes (S3: --max-in-flight).

Exit code: 0 when every listed file completed, 1 when any failed or was not submitted, 2 for bad usage.
`;

/** Register `voxpipe backfill` on the program. */
export function registerBackfillCommand(program: Command): void {
  program
    .command('backfill')
    .description('Submit an archive (a local directory or s3://bucket/prefix) as jobs: drip-fed, within a budget, resumable')
    .argument('<source>', 's3://bucket/prefix or a local directory')
    .option('--dry-run', 'print file count, audio hours, estimated cost and time; submit nothing', false)
    .option('--json', 'with --dry-run: print the estimate as JSON', false)
    .option('--budget-usd <n>', 'stop submitting when the ledger would pass this many USD', parsePositive)
    .option('--max-in-flight <n>', 'jobs submitted and not yet finished, at most (default: local --concurrency, S3 10)', parseCount)
    .option('--usd-per-minute <n>', 'price per audio minute for estimates and the budget (default: per provider)', parseNonNegative)
    .option('--state <path>', 'state journal (default <work-dir>/backfill/<hash>.jsonl)')
    .option('--report <path>', 'write the final report to <path>.csv and <path>.json (default beside the state file)')
    .option('--retry-failed', 'submit files whose earlier job failed again', false)
    .option('--bucket <name>', 'S3 source: the deployed ingest bucket (VOXPIPE_BUCKET)')
    .option('--profile <name>', 'S3 source: drop-folder profile: copies go to inbox/<profile>/…, followed to processed|failed/<profile>/…')
    .option('--poll-seconds <s>', 'S3 source: how often job status is read', parsePositive, 15)
    .option('-o, --out <dir>', 'local source: output directory', 'results')
    .addOption(new Option('--provider <name>', 'speech-to-text provider (VOXPIPE_PROVIDER; S3: only prices the estimate)').choices(PROVIDERS))
    .option('--model <id>', 'model id (VOXPIPE_MODEL)')
    .option('--base-url <url>', 'provider API root (VOXPIPE_BASE_URL)')
    .option('--language <code>', 'ISO 639-1 language of the audio (VOXPIPE_LANGUAGE)')
    .option('--concurrency <n>', 'parallel provider calls (VOXPIPE_CONCURRENCY)')
    .option('--chunk-seconds <s>', 'target chunk length in seconds (VOXPIPE_CHUNK_SECONDS)')
    .option('--format <list>', `local source: output formats, comma separated: ${FORMATS.join(',')}`, parseFormats, [...FORMATS])
    .option('--work-dir <dir>', 'job store and scratch space (VOXPIPE_WORK_DIR)')
    .option('--no-progress', 'no progress bar')
    .option('--verbose', 'debug logging to <work-dir>/voxpipe.log', false)
    .addHelpText('after', HELP)
    .action(async (sourceArg: string, flags: BackfillFlags) => {
      const { backfillCommand } = await import('./backfill-action.js');
      await backfillCommand(sourceArg, flags);
    });
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('a whole number from 1 to 10000');
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a number above 0');
  return n;
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('a number, 0 or more');
  return n;
}
