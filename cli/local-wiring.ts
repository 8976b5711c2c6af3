/**
 * The wiring of the embedded runtime (the CLI's composition root): every adapter the local pipeline hands to the
 * stages, built once from the configuration — filesystem store, ffmpeg audio tools, the provider, the chat model,
 * the call policy, signed webhook delivery, the in-process chunk queue. No job logic here: the orchestration of a
 * job (ids, split, wait, enrichments, results) is cli/local-pipeline.ts.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFfmpegAudioTools, encodeChatMp3 } from '../shared/adapters/ffmpeg-audio.js';
import { withPauseFinder } from '../shared/adapters/silero-vad.js';
import { type FfmpegBinaryOptions, resolveFfmpegBinaries } from '../shared/adapters/ffmpeg-binaries.js';
import { createFsStore } from '../shared/adapters/fs-store.js';
import { createMemoryQueue, type MemoryQueue } from '../shared/adapters/memory-queue.js';
import { createWebhookDelivery, storeDeadLetters, type WebhookDeliveryOptions } from '../shared/adapters/webhook-delivery.js';
import { createWebhookNotifier, snippetOf, type WebhookNotifier } from '../shared/adapters/webhook-notifier.js';
import type { VoxpipeConfig } from '../shared/config.js';
import { errorMessage } from '../shared/core/errors.js';
import { jobKeys } from '../shared/core/keys.js';
import type { ChunkTask, Transcript } from '../shared/core/types.js';
import { truncateSchedule } from '../shared/core/webhook-policy.js';
import type { AudioTools, BlobStore, CallPolicy, ChatModel, JobEvent, Logger, Notifier, Transcriber } from '../shared/ports.js';
import { createCallPolicy, systemClock } from '../shared/providers/call-policy.js';
import { createChatModel } from '../shared/providers/chat-models.js';
import { createTranscriber } from '../shared/providers/index.js';
import { aggregateJob } from '../shared/stages/aggregate.js';
import { recordDeadChunk } from '../shared/stages/dead-letter.js';
import { readJson } from '../shared/stages/store-json.js';
import { transcribeChunk } from '../shared/stages/transcribe.js';

/** What `createLocalPipeline` is built from: the configuration, plus test and benchmark overrides. */
export interface LocalPipelineDeps {
  readonly config: VoxpipeConfig;
  readonly logger: Logger;
  readonly onEvent?: (event: JobEvent | { type: 'job.splitting'; jobId: string; file: string }) => void;
  /** Injected in tests; built from the config otherwise. */
  readonly transcriber?: Transcriber;
  readonly audio?: AudioTools;
  /** Injected in tests; built from `config.chat` otherwise (`null`: no chat model). */
  readonly chat?: ChatModel | null;
  /** Webhook delivery overrides (tests): clock, retry schedule, attempt timeout. */
  readonly webhook?: Partial<Pick<WebhookDeliveryOptions, 'clock' | 'schedule' | 'attemptTimeoutMs'>>;
  /** The content guard (benchmarks measure without it). @default 'retry' */
  readonly guard?: 'retry' | 'off';
}

/**
 * Local webhook retries: the first waits of the cloud schedule that fit in 3 minutes (5 s, 30 s, 2 min:
 * 4 attempts), each attempt bounded by a 10 s timeout — so a run with an unreachable receiver ends
 * within about 3½ minutes and leaves a dead-letter record under `<work-dir>/store/webhooks/dead-letter/`.
 */
export const LOCAL_WEBHOOK_SCHEDULE_MS = truncateSchedule(3 * 60_000);
const LOCAL_WEBHOOK_TIMEOUT_MS = 10_000;

/** The adapters of one local pipeline. */
export interface LocalAdapters {
  readonly store: BlobStore;
  readonly audio: AudioTools;
  readonly transcriber: Transcriber;
  /** Undefined when no chat model is configured (the offline provider has none). */
  readonly chat?: ChatModel;
  /** Shared by provider and chat calls: one concurrency cap, one retry policy. */
  readonly policy: CallPolicy;
  /** Signed webhook delivery, when a webhook is configured. */
  readonly webhooks?: WebhookNotifier;
}

/** Build every adapter from the configuration (or take the injected ones). Performs no I/O. */
export function buildLocalAdapters(deps: LocalPipelineDeps): LocalAdapters {
  const { config, logger } = deps;
  const store = createFsStore(join(config.workDir, 'store'));
  // Pause finder (VOXPIPE_PAUSES): Silero VAD by default, the energy detector for non-speech audio.
  const audio = deps.audio ?? withPauseFinder(createFfmpegAudioTools(config.tools), config.pauses, (c) => logger.info('pause finder', { ...c }));
  const transcriber =
    deps.transcriber ??
    createTranscriber({
      provider: config.provider,
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      model: config.model,
      timestamps: config.timestamps === 'auto' ? undefined : config.timestamps === 'provider',
      tools: config.tools,
    });
  const chat = deps.chat === undefined ? (config.chat ? createChatModel(config.chat) : undefined) : (deps.chat ?? undefined);
  const policy = createCallPolicy({
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    timeoutMs: config.timeoutMs,
    onRetry: (info) => logger.warn('provider call retried', { ...info }),
  });
  return { store, audio, transcriber, chat, policy, webhooks: createLocalWebhooks(deps, store) };
}

/**
 * The in-process chunk queue: each task runs the transcribe stage; the fan-in winner runs the aggregate stage
 * (`onJobReady`); a task that fails three receives is recorded as a failed chunk (the local dead letter).
 */
export function createChunkQueue(
  adapters: LocalAdapters,
  notifier: Notifier,
  deps: LocalPipelineDeps,
): { readonly queue: MemoryQueue<ChunkTask>; readonly onJobReady: (jobId: string) => Promise<void> } {
  const { store, transcriber, policy } = adapters;
  const { config, logger } = deps;
  const onJobReady = async (jobId: string) => {
    await aggregateJob(jobId, { store, notifier, logger });
  };
  const transcribeDeps = { store, transcriber, policy, logger, notifier, onJobReady, guard: deps.guard ?? config.contentGuard };
  const queue = createMemoryQueue<ChunkTask>({
    handler: (task) => transcribeChunk(task, transcribeDeps),
    // More consumers than provider slots, so audio is read while other calls are in flight.
    concurrency: config.concurrency * 2,
    maxReceives: 3,
    clock: systemClock,
    onDeadLetter: (task, err) =>
      recordDeadChunk(task, errorMessage(err), { store, onJobReady, provider: transcriber.provider, model: transcriber.model }),
  });
  return { queue, onJobReady };
}

/** The webhook notifier of a local run, when a webhook is configured: local URL policy, bounded retries. */
function createLocalWebhooks(deps: LocalPipelineDeps, store: BlobStore): WebhookNotifier | undefined {
  const { config, logger } = deps;
  if (!config.webhookUrl || !config.webhookSecret) return undefined;
  const delivery = createWebhookDelivery({
    url: config.webhookUrl,
    secret: config.webhookSecret,
    // The CLI runs on the user's machine for the user: http and local receivers are fine.
    urlPolicy: { mode: 'local' },
    clock: deps.webhook?.clock ?? systemClock,
    schedule: deps.webhook?.schedule ?? LOCAL_WEBHOOK_SCHEDULE_MS,
    attemptTimeoutMs: deps.webhook?.attemptTimeoutMs ?? LOCAL_WEBHOOK_TIMEOUT_MS,
    deadLetter: storeDeadLetters(store),
    logger,
  });
  const storeRoot = join(config.workDir, 'store');
  return createWebhookNotifier({
    delivery,
    async details(event) {
      const t = await readJson<Transcript>(store, jobKeys(event.jobId).result('json'));
      const keys = event.type === 'job.progress' ? [] : event.resultKeys;
      const links = Object.fromEntries(
        keys.map((key) => [key.slice(key.lastIndexOf('.') + 1), pathToFileURL(join(storeRoot, ...key.split('/'))).href]),
      );
      return { durationSeconds: t.durationSeconds, snippet: snippetOf(t.text), links };
    },
  });
}

/** The source as 16 kHz mono mp3 for a question over the audio (every chat dialect takes mp3). */
export async function encodeForChat(file: string, out: string, tools: FfmpegBinaryOptions): Promise<{ data: Uint8Array; format: 'mp3' }> {
  const { ffmpeg } = await resolveFfmpegBinaries(tools);
  await mkdir(join(out, '..'), { recursive: true });
  try {
    await encodeChatMp3(ffmpeg, file, out);
    return { data: new Uint8Array(await readFile(out)), format: 'mp3' };
  } finally {
    await rm(out, { force: true });
  }
}
