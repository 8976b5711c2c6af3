/**
 * `voxpipe transcribe <files...>`: transcribe local files through the embedded pipeline
 * (cli/local-pipeline.ts) and write `<out>/<name>.<ext>` per input.
 *
 * The action of the command, loaded with `import()` when it runs; its definition (options, help) is ./transcribe.ts.
 */
import type { PipelineFlags } from './pipeline-flags.js';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { type ConfigOverrides, loadConfig } from '../../shared/config.js';
import { ConfigError, errorMessage } from '../../shared/core/errors.js';
import { createPinoLogger } from '../../shared/adapters/pino-logger.js';
import type { EnrichOptions } from '../../shared/stages/enrich.js';
import { uniqueResultNames } from '../result-names.js';
import { createLocalPipeline, type LocalJobResult } from '../local-pipeline.js';
import { createProgress } from '../progress.js';
import { exitOnInterrupt, runTally } from '../interrupt.js';

/** Options of `voxpipe transcribe`, as commander parses them. */
export interface TranscribeFlags extends PipelineFlags {
  timestamps?: string;
  words: boolean;
  diarize: boolean;
  vocabulary?: string;
  force: boolean;
  translate?: string[];
  translateSpeech?: boolean;
  summary: boolean;
  summaryPrompt?: string;
  extract?: string;
  ask?: string;
  webhook?: string;
  webhookSecret?: string;
  webhookSecretFile?: string;
}

/** `voxpipe transcribe`: run it (called by ./transcribe.ts when the command runs). */
export async function transcribeCommand(files: string[], flags: TranscribeFlags): Promise<void> {
  if (flags.webhookSecret !== undefined) {
    process.stderr.write('voxpipe: warning: --webhook-secret shows in `ps` and shell history; use VOXPIPE_WEBHOOK_SECRET or --webhook-secret-file\n');
  }
  const secretFile = flags.webhookSecretFile ?? process.env.VOXPIPE_WEBHOOK_SECRET_FILE;
  const fileSecret = secretFile === undefined ? undefined : await readSecretFile(secretFile);
  await ensureWritableDir(flags.out, '--out');
  const overrides: ConfigOverrides = {
    VOXPIPE_PROVIDER: flags.provider,
    VOXPIPE_MODEL: flags.model,
    VOXPIPE_BASE_URL: flags.baseUrl,
    VOXPIPE_LANGUAGE: flags.language,
    VOXPIPE_CONCURRENCY: flags.concurrency,
    VOXPIPE_CHUNK_SECONDS: flags.chunkSeconds,
    VOXPIPE_TIMESTAMPS: flags.timestamps,
    VOXPIPE_VOCABULARY: flags.vocabulary,
    VOXPIPE_WORK_DIR: flags.workDir,
    VOXPIPE_WEBHOOK_URL: flags.webhook,
    VOXPIPE_WEBHOOK_SECRET: flags.webhookSecret ?? fileSecret,
    VOXPIPE_TRANSLATE_SPEECH: flags.translateSpeech ? 'true' : undefined,
  };
  const config = loadConfig(process.env, overrides);
  await ensureWritableDir(config.workDir, '--work-dir (VOXPIPE_WORK_DIR)');
  const enrich = await enrichOptions(flags, config.translateSpeech);
  const logger = createPinoLogger({ destination: join(config.workDir, 'voxpipe.log'), level: flags.verbose ? 'debug' : 'info' });
  const progress = createProgress(flags.progress && process.stderr.isTTY === true);
  const pipeline = createLocalPipeline({ config, logger, onEvent: progress.onEvent });
  const names = uniqueResultNames(files);
  const started = Date.now();

  // Files in flight at once: enough to keep every provider slot busy while the next file splits, without
  // hashing and opening thousands of files together (`voxpipe backfill` is the tool for whole archives).
  const fileLimit = pLimit(Math.max(2, config.concurrency));
  // Ctrl-C / SIGTERM: a summary, no orphaned ffmpeg/pocketsphinx, exit 130 (cli/interrupt.ts).
  const tally = runTally({ total: files.length, noun: 'file', where: resolve(flags.out), resume: 'run the same command again to resume (finished chunks are kept)' });
  const interrupt = exitOnInterrupt({ summary: tally.summary, beforeSummary: () => progress.stop() });
  const outcomes = await Promise.all(
    files.map((file, i): Promise<Outcome> => fileLimit(async () => {
      const name = names[i] ?? basename(file);
      const missing = await checkReadable(file);
      if (missing) return { file, name, error: missing };
      try {
        const result = await pipeline.transcribe(file, name, { words: flags.words, diarize: flags.diarize, force: flags.force, enrich });
        const written = await pipeline.writeResults(result, flags.out, name, flags.format);
        return { file, name, result, written };
      } catch (err) {
        logger.error('job crashed', { file, error: errorMessage(err) });
        return { file, name, error: errorMessage(err) };
      }
    }).then(tally.record)),
  );
  interrupt.dispose();
  progress.stop();
  printSummary(outcomes, Date.now() - started, pipeline.transcriber.provider, pipeline.transcriber.model);
  process.exitCode = outcomes.every((o) => o.result?.transcript.status === 'completed') ? 0 : 1;
}

interface Outcome {
  file: string;
  name: string;
  result?: LocalJobResult;
  written?: string[];
  error?: string;
}

function printSummary(outcomes: Outcome[], wallMs: number, provider: string, model: string): void {
  let audio = 0;
  let cost = 0;
  let hasCost = false;
  for (const o of outcomes) {
    const t = o.result?.transcript;
    if (t?.status === 'completed') {
      process.stdout.write(`✔ ${o.file} → ${(o.written ?? []).join(', ')}\n`);
    } else {
      const reason = t?.error ?? o.error ?? 'unknown error';
      process.stdout.write(`✘ ${o.file}: ${reason}\n`);
      if (t && o.written?.length) process.stdout.write(`  details: ${o.written[0]}\n`);
    }
    for (const w of t?.warnings ?? []) process.stdout.write(`  warning: ${w}\n`);
    for (const line of enrichmentFailures(t)) process.stdout.write(`  ${line}\n`);
    for (const d of o.result?.webhooks ?? []) {
      const n = d.attempts.length;
      const last = d.attempts[n - 1];
      const what = d.result === 'delivered' ? 'delivered' : d.result === 'stopped' ? 'receiver answered 410 Gone, not retried' : `not delivered (${d.result})`;
      process.stdout.write(`  webhook ${d.type}: ${what} after ${n} attempt${n === 1 ? '' : 's'}${d.result === 'delivered' || !last ? '' : `, last: ${last.status ?? last.error}`}\n`);
    }
    audio += t?.durationSeconds ?? 0;
    if (t?.usage.costUsd !== undefined) {
      cost += t.usage.costUsd;
      hasCost = true;
    }
  }
  const ok = outcomes.filter((o) => o.result?.transcript.status === 'completed').length;
  const parts = [
    `${outcomes.length} file${outcomes.length === 1 ? '' : 's'}: ${ok} completed, ${outcomes.length - ok} failed`,
    `${formatDuration(audio)} of audio in ${formatDuration(wallMs / 1000)}`,
    `${provider} ${model}`,
  ];
  if (hasCost) parts.push(`$${cost.toFixed(4)}`);
  process.stdout.write(`${parts.join(' · ')}\n`);
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

async function checkReadable(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? undefined : `${file}: not a file`;
  } catch {
    return `${file}: no such file`;
  }
}

/** The secret in a file (trimmed); a usage error when it cannot be read. */
async function readSecretFile(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(`--webhook-secret-file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
}

/** Create `dir` (0700) when missing and prove it is a folder we can write: a usage error (exit 2) naming the flag otherwise. */
async function ensureWritableDir(dir: string, flag: string): Promise<void> {
  const fail = (why: string) => new ConfigError(`${flag} ${dir}: ${why}`);
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw fail('is a file, not a folder');
  if (!existing) {
    // One folder at a time from the nearest existing one: `mkdir -p` semantics without Node's recursive mkdir,
    // which never returns on some pseudo file systems (`--out /proc/x`).
    const missing: string[] = [];
    let at = resolve(dir);
    while (!(await stat(at).catch(() => undefined))) {
      missing.unshift(at);
      if (dirname(at) === at) break;
      at = dirname(at);
    }
    for (const folder of missing) {
      await mkdir(folder, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw fail(`cannot create it (${err.code ?? err.message})`);
      });
    }
  }
  const probe = join(dir, `.voxpipe-write-test-${process.pid}`);
  try {
    await writeFile(probe, '', { mode: 0o600 });
  } catch (err) {
    throw fail(`cannot write there (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  } finally {
    await rm(probe, { force: true });
  }
}

/** The enrichments asked for on the command line. A bad `--extract` file is a usage error (exit 2). */
async function enrichOptions(flags: TranscribeFlags, translateSpeech: boolean): Promise<EnrichOptions> {
  if (translateSpeech && flags.translate?.includes('en')) {
    throw new ConfigError('--translate en and --translate-speech both write translations.en (<name>.en.srt); pick one');
  }
  let extract: unknown;
  if (flags.extract !== undefined) {
    try {
      extract = JSON.parse(await readFile(flags.extract, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--extract ${flags.extract}: cannot read a JSON Schema from it (${errorMessage(err)})`);
    }
  }
  return {
    ...(flags.translate?.length ? { translate: flags.translate } : {}),
    ...(flags.summary || flags.summaryPrompt ? { summary: flags.summaryPrompt ? { prompt: flags.summaryPrompt } : true } : {}),
    ...(extract !== undefined ? { extract } : {}),
    ...(flags.ask ? { ask: flags.ask } : {}),
    ...(translateSpeech ? { translateSpeech } : {}),
  };
}

/** One line per failed enrichment, for the summary. */
function enrichmentFailures(t: LocalJobResult['transcript'] | undefined): string[] {
  if (!t) return [];
  const out: string[] = [];
  for (const [lang, r] of Object.entries(t.translations ?? {})) if (r.status === 'failed') out.push(`translation ${lang} failed: ${r.reason}`);
  if (t.summary?.status === 'failed') out.push(`summary failed: ${t.summary.reason}`);
  if (t.extraction?.status === 'failed') out.push(`extraction failed: ${t.extraction.reason}`);
  if (t.answer?.status === 'failed') out.push(`question failed: ${t.answer.reason}`);
  return out;
}
