/**
 * The orchestration of a local job: the job id (fingerprint, verified against the content hash), the split, the
 * wait for the job's end, the enrichments (whose `job.completed` webhook waits for them, as the AWS enricher's
 * does) and the copy of the results. The adapters it runs on are built in cli/local-wiring.ts.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { DeliveryOutcome } from '../shared/adapters/webhook-delivery.js';
import type { WebhookNotifier } from '../shared/adapters/webhook-notifier.js';
import { errorMessage, NotFoundError } from '../shared/core/errors.js';
import { jobKeys, type ResultExt } from '../shared/core/keys.js';
import { CHAT_PROVIDERS, hasChat } from '../shared/core/provider-catalog.js';
import type { JobOptions, Transcript } from '../shared/core/types.js';
import type { BlobStore, EnrichmentOutcome, JobEvent, Logger, Notifier } from '../shared/ports.js';
import { type EnrichOptions, enrichJob, enrichmentFiles, wantsEnrichment } from '../shared/stages/enrich.js';
import { enrichmentOutcome, failedOutcome } from '../shared/stages/enrichment-outcome.js';
import { splitJob } from '../shared/stages/split.js';
import { readJson } from '../shared/stages/store-json.js';
import { contentJobId, fingerprintIsWholeFile, localJobId, sha256File } from './job-id.js';
import { buildLocalAdapters, createChunkQueue, encodeForChat, type LocalPipelineDeps } from './local-wiring.js';

export { LOCAL_WEBHOOK_SCHEDULE_MS, type LocalPipelineDeps } from './local-wiring.js';

/** Per-run choices that are not configuration proper. */
export interface LocalRunOptions {
  readonly words: boolean;
  readonly diarize: boolean;
  /** Start a new job even when the same file and options ran before. */
  readonly force: boolean;
  /**
   * Translations, summary, extraction, question: run after the transcript is complete. Not part of the job id,
   * so asking for them later reuses the finished transcript instead of transcribing again.
   */
  readonly enrich?: EnrichOptions;
}

/** One local job's outcome. */
export interface LocalJobResult {
  readonly file: string;
  readonly jobId: string;
  readonly transcript: Transcript;
  readonly store: BlobStore;
  /** How the job's webhooks ended, when a webhook is configured. */
  readonly webhooks?: readonly DeliveryOutcome[];
}

/**
 * The embedded runtime: filesystem store, in-process queue, the same stages the Lambdas run. The adapters come
 * from cli/local-wiring.ts (the composition root); this is what a job does with them.
 */
export function createLocalPipeline(deps: LocalPipelineDeps) {
  const { config, logger } = deps;
  const adapters = buildLocalAdapters(deps);
  const { store, audio, transcriber, chat, policy, webhooks } = adapters;
  const events = createJobEvents(webhooks, deps.onEvent);
  const { notifier } = events;
  const { queue, onJobReady } = createChunkQueue(adapters, notifier, deps);
  const hashes = createSourceHashes(store, logger);
  const running = new Map<string, Promise<LocalJobResult>>();
  // Splitting is CPU-bound ffmpeg work: one per core, while earlier files' chunks are transcribed.
  const splitLimit = pLimit(Math.max(1, availableParallelism()));

  async function runJob(file: string, name: string, jobId: string, options: JobOptions, enrich: EnrichOptions = {}): Promise<LocalJobResult> {
    const recorded = await hashes.recordHash(jobId, file);
    try {
      return await runJobUnhashed(file, name, jobId, options, enrich);
    } finally {
      await recorded();
    }
  }

  async function runJobUnhashed(file: string, name: string, jobId: string, options: JobOptions, enrich: EnrichOptions): Promise<LocalJobResult> {
    const done = events.waitForEnd(jobId, wantsEnrichment(enrich));
    deps.onEvent?.({ type: 'job.splitting', jobId, file });
    const workDir = join(config.workDir, 'tmp', jobId);
    await mkdir(workDir, { recursive: true });
    try {
      await splitLimit(() => splitJob(
        { jobId, source: file, name, localPath: file, options },
        {
          store,
          audio,
          queue,
          capabilities: transcriber.capabilities,
          parallelism: config.concurrency,
          workDir,
          logger,
          notifier,
          onJobReady,
        },
      ));
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    await done;
    if (wantsEnrichment(enrich)) {
      // The transcript's job.completed was held back: it goes out now, with how each enrichment ended.
      const completed = events.releaseCompletion(jobId);
      const complete = (enrichment: EnrichmentOutcome, extraKeys: readonly string[]) =>
        completed ? webhooks?.notify({ ...completed, resultKeys: [...completed.resultKeys, ...extraKeys], enrichment }) : undefined;
      // Same policy as transcription: chat calls share the concurrency cap and retry rules.
      const out = await enrichJob(jobId, enrich, {
        store,
        chat,
        noChatReason: `no chat provider: ${hasChat(config.provider) ? '' : `the ${config.provider} provider has no chat model; `}set VOXPIPE_CHAT_PROVIDER (${CHAT_PROVIDERS.join(', ')}) and its key`,
        policy,
        logger,
        loadAudio: () => encodeForChat(file, join(config.workDir, 'tmp', `${jobId}-ask.mp3`), config.tools),
        transcriber,
      }).catch(async (err: unknown) => {
        await complete(failedOutcome(enrich, `enrichment failed: ${errorMessage(err)}`), []);
        throw err;
      });
      await complete(enrichmentOutcome(out.transcript), out.resultKeys);
    }
    const transcript = await readJson<Transcript>(store, jobKeys(jobId).result('json'));
    // Bounded: LOCAL_WEBHOOK_SCHEDULE_MS and the attempt timeout cap how long this waits.
    const delivered = await webhooks?.settle(jobId);
    return { file, jobId, transcript, store, webhooks: delivered };
  }

  return {
    transcriber,
    chat,
    store,
    /** Transcribe one file; resolves when its job completed or failed (never rejects for bad input). */
    async transcribe(file: string, name: string, run: LocalRunOptions): Promise<LocalJobResult> {
      const options: JobOptions = {
        provider: transcriber.provider,
        model: transcriber.model,
        language: config.language,
        chunkSeconds: config.chunkSeconds,
        words: run.words,
        diarize: run.diarize,
        timestamps: config.timestamps,
        ...(config.vocabulary ? { vocabulary: config.vocabulary } : {}),
      };
      const base = await localJobId(file, options);
      const jobId = run.force ? `${base.slice(0, 12)}-${Date.now().toString(36)}` : await hashes.verifiedJobId(file, base, options);
      const existing = running.get(jobId);
      // A byte-identical file shares the job; its result still names this file as its source.
      if (existing) return existing.then((r) => ({ ...r, file, transcript: { ...r.transcript, source: file } }));
      const job = runJob(file, name, jobId, options, run.enrich);
      running.set(jobId, job);
      return job;
    },
    /**
     * Run a job under an id chosen by the caller (the job API's), with per-job option overrides.
     * Re-running an id resumes it (the split stage keeps stored chunk results); one run per id at a time.
     */
    async transcribeAs(jobId: string, file: string, name: string, overrides: Partial<JobOptions> = {}, enrich?: EnrichOptions): Promise<LocalJobResult> {
      const existing = running.get(jobId);
      if (existing) return existing;
      const options: JobOptions = {
        provider: transcriber.provider,
        model: transcriber.model,
        language: config.language,
        chunkSeconds: config.chunkSeconds,
        words: false,
        diarize: false,
        timestamps: config.timestamps,
        ...(config.vocabulary ? { vocabulary: config.vocabulary } : {}),
        ...overrides,
      };
      const job = runJob(file, name, jobId, options, enrich);
      running.set(jobId, job);
      try {
        return await job;
      } finally {
        running.delete(jobId);
      }
    },
    /** Copy a job's result files into `outDir` as `<name>.<ext>`. */
    async writeResults(result: LocalJobResult, outDir: string, name: string, formats: readonly ResultExt[]): Promise<string[]> {
      await mkdir(outDir, { recursive: true });
      const keys = jobKeys(result.jobId);
      const written: string[] = [];
      for (const ext of formats) {
        if (!(await store.exists(keys.result(ext)))) continue;
        const path = join(outDir, `${name}.${ext}`);
        if (ext === 'json') {
          // The stored transcript names the file that ran the job; a copy of that file (same content, same job)
          // gets its own name as `source`.
          const t = await readJson<Transcript>(store, keys.result('json'));
          await writeFile(path, `${JSON.stringify({ ...t, source: result.file }, null, 2)}\n`);
        } else {
          await store.getFile(keys.result(ext), path);
        }
        written.push(path);
      }
      for (const [key, suffix] of enrichmentFiles(result.transcript, formats)) {
        const path = join(outDir, `${name}.${suffix}`);
        await store.getFile(key, path);
        written.push(path);
      }
      return written;
    },
    /** Wait until no chunk is queued or running. */
    drain: () => queue.drain(),
  };
}

/**
 * Where a local job's events go: the webhook (if any), the caller's `onEvent`, and whoever waits for the job's
 * end. The `job.completed` of a job that runs enrichments is held back until they have ended.
 */
function createJobEvents(webhooks: WebhookNotifier | undefined, onEvent: LocalPipelineDeps['onEvent']) {
  const waiters = new Map<string, (event: JobEvent) => void>();
  /** Jobs that run enrichments: their `job.completed` webhook waits for them (as the AWS enricher's does). */
  const enriching = new Set<string>();
  /** The held-back `job.completed` of such a job, sent with `enrichment` once the enrichments have ended. */
  const heldCompletions = new Map<string, Extract<JobEvent, { type: 'job.completed' }>>();
  const notifier: Notifier = {
    async notify(event: JobEvent) {
      // The webhook delivery starts first and runs on its own; the job waits for it once it has ended.
      if (event.type === 'job.completed' && enriching.has(event.jobId)) heldCompletions.set(event.jobId, event);
      else await webhooks?.notify(event);
      onEvent?.(event);
      if (event.type !== 'job.progress') waiters.get(event.jobId)?.(event);
    },
  };
  return {
    notifier,
    /** The job's terminal event. `holdCompletion`: its `job.completed` webhook waits for `releaseCompletion`. */
    async waitForEnd(jobId: string, holdCompletion: boolean): Promise<JobEvent> {
      if (holdCompletion) enriching.add(jobId);
      try {
        return await new Promise<JobEvent>((resolve) => waiters.set(jobId, resolve));
      } finally {
        waiters.delete(jobId);
      }
    },
    /** The held-back `job.completed` of `jobId` (none when the job failed); no longer held. */
    releaseCompletion(jobId: string): Extract<JobEvent, { type: 'job.completed' }> | undefined {
      const completed = heldCompletions.get(jobId);
      heldCompletions.delete(jobId);
      enriching.delete(jobId);
      return completed;
    },
  };
}

/** Content hashes of local jobs (`jobs/<id>/source.sha256`): a fingerprint id is reused only for the content that made it. */
function createSourceHashes(store: BlobStore, logger: Logger) {
  /** Full content hashes of the jobs this process is splitting, by job id (see `verifiedJobId`). */
  const hashing = new Map<string, Promise<string>>();
  const sourceHashKey = (jobId: string) => jobKeys(jobId).sourceHash;

  /**
   * The fingerprint id `base` when that job is new or was made from exactly this content; else the id of
   * the full content hash. A stored job is reused only when the SHA-256 recorded at its split equals the
   * file's (a job with no recorded hash, e.g. killed before its split finished, is not trusted).
   */
  async function verifiedJobId(file: string, base: string, options: JobOptions): Promise<string> {
    // Up to 12 MB the fingerprint hashed every byte: nothing to verify (and a job killed before its hash was
    // recorded still resumes).
    if (fingerprintIsWholeFile((await stat(file)).size)) return base;
    const inFlight = hashing.get(base);
    const stored = inFlight ? undefined : await readText(sourceHashKey(base));
    const started = inFlight !== undefined || stored !== undefined || (await store.exists(jobKeys(base).status)) || (await store.exists(jobKeys(base).manifest));
    if (!started) return base;
    const recorded = inFlight ? await inFlight.catch(() => undefined) : stored;
    const sha = await sha256File(file);
    if (recorded === sha) return base;
    logger.info('fingerprint matched other content: new job', { file, fingerprintJobId: base });
    return contentJobId(sha, options);
  }

  async function readText(key: string): Promise<string | undefined> {
    try {
      return new TextDecoder().decode(await store.get(key)).trim();
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * The split reads every byte anyway: hash them alongside (the page cache serves both reads) and record the
   * hash as soon as it is known, so a later run (or a resume after a kill) can tell this content from a
   * same-fingerprint edit. Returns what to await once the job has run.
   */
  async function recordHash(jobId: string, file: string): Promise<() => Promise<void>> {
    let recording: Promise<void> | undefined;
    if (!hashing.has(jobId) && !(await store.exists(sourceHashKey(jobId)))) {
      const sha = sha256File(file);
      hashing.set(jobId, sha);
      recording = sha
        .then((value) => store.put(sourceHashKey(jobId), `${value}\n`))
        .catch((err) => logger.warn('source hash not recorded', { jobId, error: errorMessage(err) }));
    }
    return async () => {
      await recording;
      hashing.delete(jobId);
    };
  }

  return { verifiedJobId, recordHash };
}
