/**
 * `voxpipe backfill <s3://bucket/prefix | DIR>`: submit an archive as jobs, drip-fed, within a budget,
 * resumable. Composition root of the backfill: builds the source, runner and journal and calls
 * `shared/backfill/run.ts`.
 *
 * The action of the command, loaded with `import()` when it runs; its definition (options, help) is ./backfill.ts.
 */
import type { PipelineFlags } from './pipeline-flags.js';
import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { openJournalFile } from '../../shared/adapters/backfill-journal-file.js';
import { createFsSource } from '../../shared/adapters/backfill-fs-source.js';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { createPinoLogger } from '../../shared/adapters/pino-logger.js';
import type { BackfillSource, JobRunner } from '../../shared/backfill/ports.js';
import { type BackfillProgress, type BackfillReport, estimateRun, runBackfill } from '../../shared/backfill/run.js';
import { backfillEnvOf, type ConfigOverrides, loadConfig, type VoxpipeConfig } from '../../shared/config.js';
import { reportCsv } from '../../shared/core/backfill-ledger.js';
import { ASSUMED_REALTIME_FACTOR, type BackfillEstimate, formatDuration, USD_PER_AUDIO_MINUTE } from '../../shared/core/backfill-plan.js';
import { ConfigError } from '../../shared/core/errors.js';
import { parseS3Url } from '../../shared/core/s3-url.js';
import { createLocalRunner } from '../backfill-local-runner.js';
import { createLocalPipeline } from '../local-pipeline.js';

/** Options of `voxpipe backfill`, as commander parses them. */
export interface BackfillFlags extends PipelineFlags {
  dryRun: boolean;
  json: boolean;
  budgetUsd?: number;
  maxInFlight?: number;
  usdPerMinute?: number;
  state?: string;
  report?: string;
  retryFailed: boolean;
  bucket?: string;
  profile?: string;
  pollSeconds: number;
}

/** `voxpipe backfill`: run it (called by ./backfill.ts when the command runs). */
export async function backfillCommand(sourceArg: string, flags: BackfillFlags): Promise<void> {
  // The S3 side (and the AWS SDK) is loaded only for an s3:// source.
  const s3Side = sourceArg.startsWith('s3://') ? await import('../backfill-s3.js') : undefined;
  const s3 = parseS3Url(sourceArg);
  const overrides: ConfigOverrides = {
    // On S3 the deployed stack calls the provider: the provider here only prices the estimate, so no key is needed.
    VOXPIPE_PROVIDER: s3 ? 'offline' : flags.provider,
    VOXPIPE_MODEL: flags.model,
    VOXPIPE_BASE_URL: flags.baseUrl,
    VOXPIPE_LANGUAGE: flags.language,
    VOXPIPE_CONCURRENCY: flags.concurrency,
    VOXPIPE_CHUNK_SECONDS: flags.chunkSeconds,
    VOXPIPE_WORK_DIR: flags.workDir,
  };
  const config = loadConfig(process.env, overrides);
  const env = backfillEnvOf(process.env);
  const priceProvider = s3 ? (flags.provider ?? env.VOXPIPE_PROVIDER ?? 'mistral') : config.provider;
  const usdPerMinute = flags.usdPerMinute ?? USD_PER_AUDIO_MINUTE[priceProvider] ?? 0;
  const priceNote = flags.usdPerMinute !== undefined ? '--usd-per-minute' : `${priceProvider} list price${s3 && !flags.provider && !env.VOXPIPE_PROVIDER ? ', assumed: pass --provider or --usd-per-minute' : ''}`;
  const maxInFlight = flags.maxInFlight ?? (s3 ? 10 : config.concurrency);

  const source = s3 && s3Side ? s3Side.s3Source(s3.bucket, s3.prefix, env.s3Endpoint) : await localSource(sourceArg, config, flags.out);
  const parallelCalls = s3 ? maxInFlight : Math.min(config.concurrency, maxInFlight);

  if (flags.dryRun) {
    const estimate = await estimateRun(source, { usdPerMinute, parallelCalls, maxInFlight, chunkSeconds: config.chunkSeconds });
    printEstimate(source.description, estimate, { priceNote, parallelCalls, budgetUsd: flags.budgetUsd, json: flags.json });
    return;
  }

  const hash = createHash('sha256').update(source.description).digest('hex').slice(0, 12);
  const statePath = resolve(flags.state ?? join(config.workDir, 'backfill', `${hash}.jsonl`));
  const reportBase = resolve(flags.report ?? join(dirname(statePath), `${hash}-report`)).replace(/\.(csv|json)$/, '');
  const logger = createPinoLogger({ destination: join(config.workDir, 'voxpipe.log'), level: flags.verbose ? 'debug' : 'info' });
  const runner: JobRunner = s3 && s3Side
    ? s3Side.s3Runner({ bucket: ingestBucket(flags, env.VOXPIPE_BUCKET), profile: flags.profile, pollMs: flags.pollSeconds * 1000, customEndpoint: env.s3Endpoint })
    : createLocalRunner(createLocalPipeline({ config, logger }), resolve(flags.out), flags.format);
  const journal = await openJournalFile(statePath);
  const bar = progressBar(flags.progress && process.stderr.isTTY === true);
  let report: BackfillReport;
  try {
    report = await runBackfill(
      { source, runner, journal, onProgress: bar.update },
      { maxInFlight, budgetUsd: flags.budgetUsd, usdPerMinute, retryFailed: flags.retryFailed },
    );
  } finally {
    bar.stop();
    await journal.close();
  }
  await mkdir(dirname(reportBase), { recursive: true });
  await writeFile(`${reportBase}.csv`, reportCsv(report.rows));
  await writeFile(`${reportBase}.json`, `${JSON.stringify(report, null, 2)}\n`);
  printSummary(report, statePath, reportBase);
  process.exitCode = report.completed === report.listed ? 0 : 1;
}

async function localSource(dir: string, config: VoxpipeConfig, out: string): Promise<BackfillSource> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigError(`backfill source ${dir}: not a directory or s3://bucket/prefix`);
  return createFsSource(dir, createFfmpegAudioTools(config.tools), [config.workDir, out]);
}

function ingestBucket(flags: BackfillFlags, fromEnv: string | undefined): string {
  const bucket = flags.bucket ?? fromEnv;
  if (!bucket) throw new ConfigError('an s3:// source is submitted to the deployed pipeline: pass --bucket <ingest bucket> or set VOXPIPE_BUCKET (the BucketName output of cdk deploy)');
  return bucket;
}

function printEstimate(
  source: string,
  e: BackfillEstimate,
  opts: { priceNote: string; parallelCalls: number; budgetUsd?: number; json: boolean },
): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ source, ...e, parallelCalls: opts.parallelCalls, budgetUsd: opts.budgetUsd })}\n`);
    return;
  }
  const from = [
    e.secondsFrom.probe ? `${e.secondsFrom.probe} probed with ffprobe` : '',
    e.secondsFrom.size ? `${e.secondsFrom.size} estimated from size at assumed bit rates` : '',
    e.secondsFrom.unknown ? `${e.secondsFrom.unknown} unreadable by ffprobe, estimated from size` : '',
  ].filter(Boolean);
  const lines = [
    `dry run: ${source} (nothing submitted)`,
    `  files:      ${e.files} audio/video files`,
    `  audio:      ${(e.audioSeconds / 3600).toFixed(2)} h (${formatDuration(e.audioSeconds)}; ${from.join(', ') || 'no files'})`,
    `  cost:       $${e.costUsd.toFixed(2)} at $${e.usdPerMinute}/min (${opts.priceNote})`,
    `  wall time:  ~${formatDuration(e.wallSeconds)} with ${opts.parallelCalls} calls at once, ${e.maxInFlight} jobs in flight (rough: ${ASSUMED_REALTIME_FACTOR}x real time per call)`,
  ];
  if (opts.budgetUsd !== undefined) {
    lines.push(`  budget:     $${opts.budgetUsd} ${e.costUsd <= opts.budgetUsd ? 'covers the whole run' : `covers about ${Math.round((opts.budgetUsd / e.costUsd) * 100)}% of it`}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printSummary(r: BackfillReport, statePath: string, reportBase: string): void {
  const parts = [
    `${r.listed} files: ${r.completed} completed, ${r.failed} failed, ${r.notSubmitted} not submitted`,
    `this run submitted ${r.submitted}, resumed ${r.resumed}, skipped ${r.skipped} finished earlier`,
    `ledger $${r.spentUsd.toFixed(4)}${r.budgetUsd !== undefined ? ` of $${r.budgetUsd}` : ''}`,
  ];
  process.stdout.write(`${parts.join(' · ')}\n`);
  if (r.stoppedByBudget) process.stdout.write(`budget reached: submitting stopped; raise --budget-usd and re-run the same command to go on\n`);
  for (const row of r.rows.filter((x) => x.status === 'failed').slice(0, 20)) process.stdout.write(`✘ ${row.file}: ${row.error ?? 'failed'}\n`);
  process.stdout.write(`report: ${reportBase}.csv, ${reportBase}.json\nstate: ${statePath}\n`);
}

function progressBar(enabled: boolean) {
  const bar = enabled
    ? new cliProgress.SingleBar(
        {
          format: ' {bar} {percentage}% | {value}/{total} files | {inFlight} in flight | {failed} failed | USD {spent} | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 50,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  return {
    update(p: BackfillProgress) {
      if (!bar) return;
      const payload = { inFlight: p.inFlight, failed: p.failed, spent: p.spentUsd.toFixed(p.spentUsd < 10 ? 4 : 2) };
      if (!started) {
        bar.start(Math.max(1, p.total), p.done, payload);
        started = true;
      }
      bar.setTotal(Math.max(1, p.total));
      bar.update(p.done, payload);
    },
    stop() {
      bar?.stop();
    },
  };
}
