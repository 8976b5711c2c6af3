import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pLimit from 'p-limit';
import { type ConfigOverrides, loadConfig, PROVIDERS } from '../shared/config.js';
import { ConfigError, errorMessage } from '../shared/core/errors.js';
import type { ResultExt } from '../shared/core/keys.js';
import { createPinoLogger } from '../shared/adapters/pino-logger.js';
import { uniqueResultNames } from './result-names.js';
import { createLocalPipeline, type LocalJobResult } from './local-pipeline.js';
import { createProgress } from './progress.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerServeCommand } from './commands/serve.js';
import { registerBackfillCommand } from './commands/backfill.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerWebhooksCommand } from './commands/webhooks.js';
import type { EnrichOptions } from '../shared/stages/enrich.js';

const FORMATS: readonly ResultExt[] = ['json', 'txt', 'srt', 'vtt'];

const ENV_HELP = `
Configuration (environment variables; the flags above override them):
  VOXPIPE_PROVIDER         offline | openai-compatible | mistral | openrouter | deepinfra   (default: offline)
                           offline = pocketsphinx, bundled English model, low accuracy, English only, no account.
  VOXPIPE_BASE_URL         API root exactly as the vendor documents it, e.g.
                             http://host:8000/v1            (vLLM / any OpenAI-compatible server)
                             https://api.mistral.ai         (Mistral)
                             https://openrouter.ai/api/v1   (OpenRouter)
                             https://api.deepinfra.com      (DeepInfra)
  VOXPIPE_API_KEY          API key; otherwise MISTRAL_API_KEY, OPENROUTER_API_KEY, OPENAI_API_KEY or
                           DEEPINFRA_API_KEY is used for the matching provider.
  VOXPIPE_MODEL            model id (default: the provider's Voxtral model)
  VOXPIPE_LANGUAGE         ISO 639-1 language of the audio (default: detected by the provider)
  VOXPIPE_CONCURRENCY      parallel provider calls, never exceeded, retries included (default 8)
  VOXPIPE_CHUNK_SECONDS    target chunk length; cuts are made only inside pauses (default 120)
  VOXPIPE_TIMESTAMPS       auto | provider | cut-plan (default auto: per provider capability)
  VOXPIPE_VOCABULARY       words and phrases to bias recognition towards, comma separated (Mistral)
  VOXPIPE_MAX_ATTEMPTS     attempts per provider call for 429/5xx/timeouts (default 6)
  VOXPIPE_TIMEOUT_SECONDS  per-attempt timeout; a hung call is abandoned and retried (default 300)
  VOXPIPE_WORK_DIR         job store and scratch space (default ~/.voxpipe)
  VOXPIPE_FFMPEG, VOXPIPE_FFPROBE   ffmpeg/ffprobe binaries (default: from PATH)
  VOXPIPE_CHAT_PROVIDER    chat model for --translate/--summary/--extract/--ask: openai-compatible | mistral |
                           openrouter | deepinfra (default: the transcription provider's; offline has none)
  VOXPIPE_CHAT_MODEL       chat model id (default: the vendor's Voxtral chat model)
  VOXPIPE_CHAT_BASE_URL    chat API root (default: the transcription base URL when the vendor is the same)
  VOXPIPE_CHAT_API_KEY     chat key when the chat vendor differs (else its vendor key variable)
  VOXPIPE_CHAT_CONTEXT_TOKENS  the chat model's context window (default 32768); requests are planned to fit
  VOXPIPE_TRANSLATE_SPEECH true: as --translate-speech (default false)
  VOXPIPE_CONTENT_GUARD    retry|off: re-ask suspect chunks (default retry)
  VOXPIPE_WEBHOOK_URL      POST job.completed / job.failed there, signed per Standard Webhooks
  VOXPIPE_WEBHOOK_SECRET   whsec_… signing secret (verify with the standardwebhooks library)
                           Locally a failing receiver is retried after 5 s, 30 s and 2 min (10 s timeout per
                           attempt), then the event is written to <work-dir>/store/webhooks/dead-letter/.

Outputs: <out>/<name>.json, .txt, .srt, .vtt per input (name = file name without extension).
Re-running the same file with the same options resumes its job: finished chunks are not sent again.
Exit code: 0 when every file completed, 1 when any failed, 2 for bad usage or configuration.
`;

/** Build the `voxpipe` command line. Exported for tests. */
export function buildProgram(): Command {
  const program = new Command('voxpipe')
    .description('Audio to timed transcripts with Voxtral-class speech models: embedded locally, or on AWS (see README).')
    .showHelpAfterError()
    .addHelpText('after', ENV_HELP);

  program
    .command('transcribe')
    .description('Transcribe audio or video files (anything ffmpeg reads, any length)')
    .argument('<files...>', 'input files')
    .option('-o, --out <dir>', 'output directory', 'results')
    .addOption(new Option('--provider <name>', 'speech-to-text provider (VOXPIPE_PROVIDER)').choices(PROVIDERS))
    .option('--model <id>', 'model id (VOXPIPE_MODEL)')
    .option('--base-url <url>', 'provider API root (VOXPIPE_BASE_URL)')
    .option('--language <code>', 'ISO 639-1 language of the audio (VOXPIPE_LANGUAGE)')
    .option('--concurrency <n>', 'parallel provider calls (VOXPIPE_CONCURRENCY)')
    .option('--chunk-seconds <s>', 'target chunk length in seconds (VOXPIPE_CHUNK_SECONDS)')
    .addOption(new Option('--timestamps <mode>', 'timing source (VOXPIPE_TIMESTAMPS)').choices(['auto', 'provider', 'cut-plan']))
    .option('--format <list>', `output formats, comma separated: ${FORMATS.join(',')}`, parseFormats, [...FORMATS])
    .option('--words', 'ask the provider for word timestamps too', false)
    .option('--diarize', 'ask the provider for speaker labels (Mistral)', false)
    .option('--vocabulary <terms>', 'words and phrases to bias recognition towards, comma separated (Mistral context_bias; VOXPIPE_VOCABULARY)')
    .option('--force', 'start a new job even if this file was transcribed before with the same options', false)
    .option('--work-dir <dir>', 'job store and scratch space (VOXPIPE_WORK_DIR)')
    .option('--translate <langs>', 'also translate the transcript, segment by segment: ISO 639-1 codes, comma separated (e.g. fr,de)', parseLanguages)
    .option('--translate-speech', "also translate the speech into English with the provider's native speech translation, <name>.en.srt/.vtt/.txt (openai-compatible, deepinfra; VOXPIPE_TRANSLATE_SPEECH)")
    .option('--summary', 'also write a summary (<name>.summary.md)', false)
    .option('--summary-prompt <text>', 'instruction for the summary (implies --summary)')
    .option('--extract <schema.json>', 'also extract JSON matching this JSON Schema (<name>.extract.json)')
    .option('--ask <question>', 'also answer a question about the audio (in <name>.json, "answer")')
    .option('--webhook <url>', 'POST signed job events to this URL (VOXPIPE_WEBHOOK_URL)')
    .option('--webhook-secret <whsec>', 'Standard Webhooks signing secret, whsec_… (visible in ps: prefer VOXPIPE_WEBHOOK_SECRET or --webhook-secret-file)')
    .option('--webhook-secret-file <path>', 'read the webhook signing secret from this file (VOXPIPE_WEBHOOK_SECRET_FILE)')
    .option('--no-progress', 'no progress bars')
    .option('--verbose', 'debug logging to <work-dir>/voxpipe.log', false)
    .addHelpText('after', ENV_HELP)
    .action(transcribeCommand);

  registerWatchCommand(program);
  registerBackfillCommand(program);
  registerServeCommand(program);
  registerJobsCommand(program);
  registerWebhooksCommand(program);
  return program;
}

interface TranscribeFlags {
  out: string;
  provider?: string;
  model?: string;
  baseUrl?: string;
  language?: string;
  concurrency?: string;
  chunkSeconds?: string;
  timestamps?: string;
  format: ResultExt[];
  words: boolean;
  diarize: boolean;
  vocabulary?: string;
  force: boolean;
  workDir?: string;
  translate?: string[];
  translateSpeech?: boolean;
  summary: boolean;
  summaryPrompt?: string;
  extract?: string;
  ask?: string;
  webhook?: string;
  webhookSecret?: string;
  webhookSecretFile?: string;
  progress: boolean;
  verbose: boolean;
}

async function transcribeCommand(files: string[], flags: TranscribeFlags): Promise<void> {
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
    })),
  );
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

function parseFormats(value: string): ResultExt[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (bad.length || list.length === 0) throw new InvalidArgumentError(`unknown format ${bad.join(',')}; allowed: ${FORMATS.join(',')}`);
  return list as ResultExt[];
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

/** Every command throws instead of exiting, so `main` can map usage errors to exit code 2 (commander's own is 1). */
function usageErrorsExitTwo(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) usageErrorsExitTwo(sub);
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

function parseLanguages(value: string): string[] {
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((l) => !/^[a-z]{2}$/.test(l));
  if (bad.length || list.length === 0) throw new InvalidArgumentError(`not ISO 639-1 codes: ${bad.join(',') || '(none)'}; e.g. fr,de`);
  return [...new Set(list)];
}
