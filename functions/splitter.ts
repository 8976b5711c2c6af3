/**
 * Splitter Lambda: S3 upload notifications (via the split queue) → split stage.
 * Reads the upload through a presigned URL (ranged GETs, no copy in /tmp), runs ffprobe/ffmpeg from the layer, writes chunk audio and
 * the manifest, enqueues one message per chunk. Duplicate notifications are dropped by `source.claim`.
 * With a profiles file (`VOXPIPE_PROFILES`), `inbox/<profile>/…` uploads are drop-folder jobs (see `lib/drop-upload.ts`).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { withPauseFinder } from '../shared/adapters/silero-vad.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { createSqsQueue } from '../shared/adapters/sqs-queue.js';
import { errorMessage, InfrastructureError, PermanentError } from '../shared/core/errors.js';
import { type DropRef, parseDropKey } from '../shared/core/profile-paths.js';
import type { ChunkTask, JobManifest, JobOptions } from '../shared/core/types.js';
import type { DropArea } from '../shared/ports.js';
import { type ProfilesConfig, profilesFromText } from '../shared/profiles.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { createTranscriber } from '../shared/providers/index.js';
import { defaultModelOf } from '../shared/providers/registry.js';
import { splitJob } from '../shared/stages/split.js';
import { readJobRequest, withRequestedOptions } from '../shared/api/records.js';
import { aggregateHandoff, bucketStore, eventBridgeNotifier, observability, portLogger, s3Client, sqsClient, flushMetrics } from './lib/aws.js';
import { admitS3Drop } from './lib/drop-upload.js';
import { presignedInput } from './lib/s3-input.js';
import { parseEnv, SplitterEnv } from './lib/env.js';
import { claimSource, finishAfterSplit } from './lib/source-claim.js';
import { type Upload, uploadJobId, uploadsOf } from './lib/s3-event.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(SplitterEnv);
const { logger, metrics } = observability(env);
const sqs = sqsClient();
const s3 = s3Client(env);
const store = bucketStore(env);
const model = env.VOXPIPE_MODEL ?? defaultModelOf(env.VOXPIPE_PROVIDER);
const options: JobOptions = {
  provider: env.VOXPIPE_PROVIDER,
  model,
  language: env.VOXPIPE_LANGUAGE,
  chunkSeconds: env.VOXPIPE_CHUNK_SECONDS,
  words: env.VOXPIPE_WORDS,
  diarize: false,
  timestamps: env.VOXPIPE_TIMESTAMPS,
  // Stack default enrichments (`-c translate=fr,de -c summary=true`), run by the enricher after aggregation.
  ...(env.VOXPIPE_TRANSLATE?.length ? { translate: env.VOXPIPE_TRANSLATE } : {}),
  ...(env.VOXPIPE_SUMMARY ? { summary: true } : {}),
  // Stack default vocabulary (`-c vocabulary=…`); a job's own (job API, profile) replaces it.
  ...(env.VOXPIPE_VOCABULARY ? { vocabulary: env.VOXPIPE_VOCABULARY } : {}),
};
/** The drop folder (`inbox/<profile>/…`), when the stack was deployed with a profiles file. */
const dropFolder = env.VOXPIPE_PROFILES
  ? { profiles: profilesFromText(env.VOXPIPE_PROFILES, 'VOXPIPE_PROFILES.json'), area: createS3DropArea({ client: s3, bucket: env.VOXPIPE_BUCKET }) }
  : undefined;
const deps = {
  store,
  audio: withPauseFinder(
    createFfmpegAudioTools({ ffmpegPath: env.VOXPIPE_FFMPEG, ffprobePath: env.VOXPIPE_FFPROBE, searchPath: env.PATH }),
    env.VOXPIPE_PAUSES,
    // The path is the upload's presigned URL: its query (signature, session token) stays out of the logs.
    (c) => logger.info('pause finder', { ...c, path: c.path.split('?')[0] }),
    env.VOXPIPE_SILERO_MODEL,
  ),
  queue: createSqsQueue<ChunkTask>({ client: sqs, queueUrl: env.VOXPIPE_WORK_QUEUE_URL }),
  // Capabilities decide the chunk plan; building a transcriber does no I/O and needs no key.
  capabilities: createTranscriber({ provider: env.VOXPIPE_PROVIDER, model }).capabilities,
  parallelism: env.VOXPIPE_CONCURRENCY,
  notifier: eventBridgeNotifier(env),
  onJobReady: aggregateHandoff(sqs, env.VOXPIPE_AGGREGATE_QUEUE_URL),
};

export const handler = async (event: SQSEvent) => {
  try {
    await ffmpegUsable();
    return await processSqsBatch(event, splitRecord, logger, { sqs, baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS });
  } finally {
    flushMetrics(metrics);
  }
};

/**
 * The layer's ffmpeg/ffprobe are checked (version, options, filters) once per execution environment, before any
 * upload is touched. An unusable ffmpeg fails the whole invocation, so every message goes back to the queue
 * (and to the DLQ after its redrive count) with no job failed as the user's fault; the `FfmpegUnusable`
 * metric raises the alarm of the same name.
 */
async function ffmpegUsable(): Promise<void> {
  try {
    const caps = await deps.audio.check();
    if (!ffmpegLogged) logger.info('ffmpeg checked', { ...caps });
    ffmpegLogged = true;
  } catch (err) {
    metrics.addMetric('FfmpegUnusable', 'Count', 1);
    logger.error('ffmpeg unusable: no upload is split until the layer is fixed', { error: errorMessage(err), ffmpeg: env.VOXPIPE_FFMPEG, ffprobe: env.VOXPIPE_FFPROBE });
    throw err;
  }
}
let ffmpegLogged = false;

/** A record that failed for infrastructure (a tool fault, a full disk): counted for the alarm, then retried by the queue. */
async function splitRecord(record: SQSRecord): Promise<void> {
  try {
    const receives = Number(record.attributes.ApproximateReceiveCount || '1');
    for (const upload of uploadsOf(jsonBody(record))) await splitUpload(upload, record.messageId, receives);
  } catch (err) {
    if (err instanceof InfrastructureError) metrics.addMetric('InfrastructureErrors', 'Count', 1);
    throw err;
  }
}

async function splitUpload(upload: Upload, messageId: string, receives = 1): Promise<void> {
  const source = `s3://${upload.bucket}/${upload.key}`;
  if (upload.bucket !== env.VOXPIPE_BUCKET) throw new PermanentError(`${source}: notification from a bucket this splitter does not serve`);
  const drop = dropFolder && !upload.jobId ? parseDropKey(upload.key) : undefined;
  if (drop && dropFolder) return splitDrop(upload, drop, dropFolder, messageId, receives);
  const jobId = uploadJobId(upload);
  const log = logger.createChild({ persistentKeys: { jobId, source } });
  const decision = await claimSource(store, jobId, source, { now: Date.now(), splitTimeoutMs: env.VOXPIPE_SPLIT_TIMEOUT_SECONDS * 1000, owner: messageId });
  if (decision === 'duplicate' || decision === 'in-progress') {
    log.info('duplicate upload notification dropped', { decision });
    // It may be our own redelivery after a crash past splitting: finish what that run left (event, hand-off).
    if (decision === 'duplicate') await finishAfterSplit(store, jobId, deps);
    return;
  }
  // Jobs of the job API carry the client's options (language, chunk length, …) in jobs/<id>/request.json.
  const requested = upload.jobId ? (await readJobRequest(store, jobId))?.options : undefined;
  await downloadAndSplit(upload, jobId, withRequestedOptions(options, requested), log);
}

/**
 * An upload under `inbox/<profile>/…`: the profile and the object's metadata decide the options, the content
 * decides the job (a duplicate drop is moved to `processed/` at once), and a job that fails here ends in `failed/`.
 */
async function splitDrop(upload: Upload, drop: DropRef, folder: { profiles: ProfilesConfig; area: DropArea }, messageId: string, receives: number): Promise<void> {
  const source = `s3://${upload.bucket}/${upload.key}`;
  const log = logger.createChild({ persistentKeys: { source, profile: drop.profile } });
  const admitted = await admitS3Drop(upload, drop, {
    s3,
    bucket: env.VOXPIPE_BUCKET,
    store,
    area: folder.area,
    profiles: folder.profiles,
    defaults: { provider: options.provider, model: options.model, chunkSeconds: options.chunkSeconds, timestamps: options.timestamps, language: options.language },
    deployed: { provider: options.provider, model: options.model },
    logger: portLogger(log),
    now: Date.now(),
    splitTimeoutMs: env.VOXPIPE_SPLIT_TIMEOUT_SECONDS * 1000,
    owner: messageId,
    // 30 × the retry base (5 min by default), ×4 per receive (5, 20, 80, 320 min: the split queue redelivers 4
    // times before its DLQ, so a copy waits about 7 h for a long job), capped at SQS's 12 h.
    waitRetryMs: Math.min(12 * 3600_000, env.VOXPIPE_RETRY_BASE_SECONDS * 30_000 * 4 ** (receives - 1)),
  });
  if (!admitted) return;
  if (admitted.outcome.outcome === 'in-progress') {
    // A redelivery of this drop: finish what an earlier run left past its split (fan-in hand-off, outbox).
    await finishAfterSplit(store, admitted.jobId, deps);
    return;
  }
  const jobLog = log.createChild({ persistentKeys: { jobId: admitted.jobId } });
  const manifest = await downloadAndSplit(upload, admitted.jobId, admitted.options, jobLog);
  // Rejected input: the job failed with a reason (failJob); its source goes to failed/ now.
  if (!manifest) await finalizeDropJob(admitted.jobId, { store, drop: folder.area, logger: portLogger(jobLog) });
}

async function downloadAndSplit(upload: Upload, jobId: string, jobOptions: JobOptions, log: typeof logger): Promise<JobManifest | undefined> {
  const source = `s3://${upload.bucket}/${upload.key}`;
  const workDir = join(env.VOXPIPE_TMP_DIR, `voxpipe-${randomUUID()}`);
  await mkdir(workDir, { recursive: true });
  try {
    const started = Date.now();
    // Read in place through ranged GETs (lib/s3-input.ts): /tmp holds only the 16 kHz working copy.
    const localPath = await presignedInput(s3, upload.bucket, upload.key);
    const manifest = await splitJob(
      { jobId, source, name: basename(upload.key, extname(upload.key)), localPath, options: jobOptions },
      { ...deps, logger: portLogger(log), workDir },
    );
    if (manifest) {
      metrics.addMetric('AudioSeconds', 'Seconds', manifest.probe.durationSeconds);
      metrics.addMetric('Chunks', 'Count', manifest.pending.length);
      metrics.addMetric('SplitMilliseconds', 'Milliseconds', Date.now() - started);
    }
    return manifest;
  } finally {
    // Ephemeral storage outlives the invocation: leave nothing for the next one.
    await rm(workDir, { recursive: true, force: true });
  }
}
