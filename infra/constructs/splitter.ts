import { Duration, Size } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { FfmpegLayer } from './ffmpeg-layer.js';
import { SileroLayer } from './silero-layer.js';
import { apiKeys, INBOX_PREFIX, jobKeys, RESULTS_PREFIX, everyObjectUnder as under, UPLOADS_PREFIX } from '../../shared/core/keys.js';
import type { ProfilesConfig } from '../../shared/core/profile-schema.js';
import { access, DROP_MOVER, grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';
import type { WorkQueue } from './queues.js';

/** The splitter's timeout: Lambda's maximum. The split queue's visibility timeout is 6× this. */
export const SPLITTER_TIMEOUT = Duration.minutes(15);

export interface SplitterProps {
  readonly bucket: IBucket;
  /** Queue of S3 ObjectCreated notifications (from `Ingest`). */
  readonly splitQueue: WorkQueue;
  /** Queue of chunk tasks the splitter fills (from `TranscriberStage`). */
  readonly workQueue: IQueue;
  /** Where a job with nothing to transcribe (all silence) goes straight to (from `Aggregator`). */
  readonly aggregateQueue: IQueue;
  readonly eventBus: IEventBus;
  /** Provider id; decides the chunk plan through its capabilities. */
  readonly provider: string;
  readonly model: string;
  /** Preferred chunk length in seconds. @default 120 */
  readonly chunkSeconds?: number;
  /** Transcribers' max concurrency; chunk lengths are balanced to fill whole rounds of calls. @default 8 */
  readonly concurrency?: number;
  /**
   * Memory in MB. ffmpeg decode + silence detection measured 2.7 s per audio hour on one local core, FLAC
   * encoding 0.8 s per hour: a 10-hour file needs about 35 s of CPU, plus moving 5 GB from S3 (≈ 30–60 s at
   * Lambda's network share at this size). 3008 MB buys ~2 vCPUs and network: ≈ 3 min of the 15-min limit.
   * @default 3008
   */
  readonly memorySize?: number;
  /**
   * /tmp size: the source (≤ 5 GB) + the 16 kHz mono working copy (115 MB per hour, 1.2 GB for 10 h)
   * + chunks in flight. @default Size.mebibytes(10240)
   */
  readonly ephemeralStorageSize?: Size;
  /**
   * CPU architecture of the function and its ffmpeg layer. arm64 is ~20% cheaper per GB-second and needs
   * the `@ffmpeg-installer/linux-arm64` + `@ffprobe-installer/linux-arm64` packages installed.
   * @default Architecture.X86_64
   */
  readonly architecture?: Architecture;
  /**
   * Drop-folder profiles: uploads under `inbox/<profile>/…` run with that profile's settings. Deployed as the
   * `VOXPIPE_PROFILES` environment variable (JSON), so a change is a function update, with no extra runtime
   * read, and the handler validates it again at cold start. Lambda's 4 KB environment limit bounds its size.
   * @default no drop folder (every `inbox/` upload runs with the stack's settings)
   */
  readonly profiles?: ProfilesConfig;
  /** An existing ffmpeg layer version ARN instead of the bundled 2018 build (see `FfmpegLayer`). */
  readonly ffmpegLayerArn?: string;
  /** A zip (bin/ffmpeg, bin/ffprobe) to publish as the ffmpeg layer instead of the bundled build. */
  readonly ffmpegLayerZip?: string;
  /**
   * The pause finder (`VOXPIPE_PAUSES`): `auto` (Silero VAD, the energy detector for non-speech), `silero` or `energy`.
   * `auto` and `silero` deploy the Silero layer (`SileroLayer`: onnxruntime-node's binding + the model, ≈ 47 MB
   * unzipped); `energy` deploys neither. @default 'auto'
   */
  readonly pauses?: 'auto' | 'silero' | 'energy';
}

/** Bytes of serialized profiles the splitter's environment can hold next to its other variables. */
export const MAX_PROFILES_BYTES = 3072;

/**
 * The split stage on Lambda: consumes S3 upload notifications, downloads the upload to ephemeral storage,
 * runs ffprobe/ffmpeg from a layer, writes chunk audio + manifest, enqueues one message per chunk.
 */
export class Splitter extends Construct {
  readonly fn: NodejsFunction;
  readonly layer: FfmpegLayer;
  /** The Silero VAD layer; absent with `pauses: 'energy'`. */
  readonly sileroLayer?: SileroLayer;

  constructor(scope: Construct, id: string, props: SplitterProps) {
    super(scope, id);
    const architecture = props.architecture ?? Architecture.X86_64;
    this.layer = new FfmpegLayer(this, 'Ffmpeg', { architecture, layerArn: props.ffmpegLayerArn, layerZip: props.ffmpegLayerZip });
    const pauses = props.pauses ?? 'auto';
    if (pauses !== 'energy') this.sileroLayer = new SileroLayer(this, 'Silero', { architecture });
    this.fn = createHandler(this, 'Function', {
      entryName: 'splitter',
      service: 'voxpipe-splitter',
      description: 'voxpipe split stage: probe, detect pauses, cut chunks, enqueue',
      memorySize: props.memorySize ?? 3008,
      ephemeralStorageSize: props.ephemeralStorageSize ?? Size.mebibytes(10240),
      timeout: SPLITTER_TIMEOUT,
      architecture,
      layers: [this.layer.layer, ...(this.sileroLayer ? [this.sileroLayer.layer] : [])],
      // The layers provide the binaries; the installer packages only locate them on a dev machine. onnxruntime-node
      // (native) is required from the Silero layer's /opt/nodejs/node_modules (NODE_PATH); with `pauses: 'energy'`
      // it is absent and never loaded.
      externalModules: ['@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe', ...SileroLayer.modules],
      environment: {
        VOXPIPE_BUCKET: props.bucket.bucketName,
        VOXPIPE_WORK_QUEUE_URL: props.workQueue.queueUrl,
        VOXPIPE_AGGREGATE_QUEUE_URL: props.aggregateQueue.queueUrl,
        VOXPIPE_EVENT_BUS_NAME: props.eventBus.eventBusName,
        VOXPIPE_PROVIDER: props.provider,
        VOXPIPE_MODEL: props.model,
        VOXPIPE_CHUNK_SECONDS: String(props.chunkSeconds ?? 120),
        VOXPIPE_CONCURRENCY: String(props.concurrency ?? 8),
        VOXPIPE_SPLIT_TIMEOUT_SECONDS: String(SPLITTER_TIMEOUT.toSeconds()),
        VOXPIPE_FFMPEG: FfmpegLayer.ffmpegPath,
        VOXPIPE_FFPROBE: FfmpegLayer.ffprobePath,
        VOXPIPE_PAUSES: pauses,
        ...(this.sileroLayer ? { VOXPIPE_SILERO_MODEL: SileroLayer.modelPath } : {}),
        ...(props.profiles ? { VOXPIPE_PROFILES: serializeProfiles(props.profiles) } : {}),
      },
    });
    // Untrusted input runs through ffmpeg here: no api-keys/, no tenants/ records, no results/ to read
    // (a failed job's result is written, not read), unless the drop folder moves rejected drops itself.
    grantBucketAccess(
      props.bucket,
      this.fn,
      access(JOB_STATE, { read: [under(INBOX_PREFIX), under(UPLOADS_PREFIX), under(apiKeys.tenantSourcesPrefix('*'))], write: [under(RESULTS_PREFIX)] }, props.profiles ? DROP_MOVER : {}),
    );
    // Nor chunk transcripts: job ids carry no tenant, so `jobs/*` cannot be scoped per tenant, but the stage only
    // needs to know which chunk results exist, which it lists (shared/stages/split.ts).
    this.fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.DENY, actions: ['s3:GetObject*'], resources: [props.bucket.arnForObjects(under(jobKeys('*').chunksPrefix))] }),
    );
    props.workQueue.grantSendMessages(this.fn);
    props.aggregateQueue.grantSendMessages(this.fn);
    props.eventBus.grantPutEventsTo(this.fn);
    this.fn.addEventSource(
      new SqsEventSource(props.splitQueue.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: 10 }),
    );
  }
}

/** Profiles as the splitter reads them (`profilesFromText`); fails synth when they do not fit the environment. */
function serializeProfiles(profiles: ProfilesConfig): string {
  const json = JSON.stringify({ version: 1, profiles: profiles.profiles });
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_PROFILES_BYTES) {
    throw new Error(
      `profilesFile: ${bytes} bytes of profiles as JSON, more than the ${MAX_PROFILES_BYTES} the splitter's environment holds; shorten the profiles (extract schemas are the usual culprit)`,
    );
  }
  return json;
}
