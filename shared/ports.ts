/**
 * The small interfaces the stages need. Each runtime (local CLI, Lambda, tests) passes its own adapters.
 * Adapters translate their vendor errors into the classes of `core/errors.ts` at this boundary.
 */
import type { AnalysisFrontier } from './core/plan-stream.js';
import type { AudioProbe, ChunkTranscript, Pause } from './core/types.js';

/** Where audio, chunks, manifests and results live. Keys are plain strings, never URL-encoded. */
export interface BlobStore {
  /** Whole object. Throws `NotFoundError` when the key does not exist. */
  get(key: string): Promise<Uint8Array>;
  /**
   * Write an object. A put is atomic: readers see the old or the new body, never a part.
   * With `ifNoneMatch: '*'` the write only succeeds when the key does not exist yet and throws
   * `AlreadyExistsError` otherwise; of concurrent conditional writers exactly one wins.
   */
  put(key: string, body: Uint8Array | string, opts?: PutOptions): Promise<void>;
  /** Upload a local file (streamed, constant memory). Same semantics as `put`. */
  putFile(key: string, path: string, opts?: PutOptions): Promise<void>;
  /** Download to a local file (streamed, constant memory). Throws `NotFoundError`. */
  getFile(key: string, path: string): Promise<void>;
  /** True when the key exists. */
  exists(key: string): Promise<boolean>;
  /** Every key under `prefix`, in lexicographic order. Pages through any number of keys. */
  list(prefix: string): AsyncIterable<string>;
  /** Remove a key; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
}

export interface PutOptions {
  readonly ifNoneMatch?: '*';
  readonly contentType?: string;
}

/**
 * Sends work to the transcriber stage. Delivery is at-least-once; consumers must be idempotent.
 * How messages are consumed is the runtime's business (SQS event source mapping, in-process loop).
 */
export interface WorkQueue<T> {
  /** Enqueue messages. Adapters batch as their service allows (SQS: 10 per call). */
  send(messages: readonly T[]): Promise<void>;
}

/** Audio input for the audio tools: a local file path (Lambda downloads S3 objects to ephemeral storage first). */
export interface AudioTools {
  /** ffprobe. Throws `PermanentError` naming the file for 0-byte, corrupt or non-audio input. */
  probe(path: string): Promise<AudioProbe>;
  /**
   * Decode once to a 16 kHz mono working copy (`workPath`, a WAV/PCM file the adapter chooses the format of)
   * while detecting pauses in the same pass. Constant memory for any input length. `durationSeconds` is the
   * exact decoded length (the probe's can be an estimate). `pauseFinder`: which detector found the pauses, when the
   * tools know (`withPauseFinder`: `silero` for the Silero VAD, `energy` for the energy detector).
   */
  analyze(path: string, opts: AnalyzeOptions): Promise<{ pauses: Pause[]; workPath: string; durationSeconds: number; pauseFinder?: 'silero' | 'energy' }>;
  /** Encode `[start, end)` of the working copy as 16 kHz mono FLAC with a correct duration header. */
  encodeChunk(workPath: string, start: number, end: number): Promise<Uint8Array>;
}

export interface AnalyzeOptions {
  /** Directory for the working copy. */
  readonly workDir: string;
  /**
   * Level below which audio counts as silence, in dB (ffmpeg silencedetect `noise`, on the full band: the energy
   * detector, for test signals). `auto`: estimated from the recording's noise floor, detected in the speech band.
   */
  readonly noiseDb: number | 'auto';
  /** Shortest silence reported, in seconds (ffmpeg silencedetect `d`). */
  readonly minSilenceSeconds: number;
  /**
   * Called while decoding runs with what is known so far: seconds decoded (and already readable from the
   * working copy), the pauses that have ended, a silence still open. Lets the splitter send early chunks
   * before the whole file is decoded.
   */
  readonly onProgress?: (frontier: AnalysisFrontier, workPath: string) => void;
}

/** What a speech-to-text provider can do; decides the chunk plan. */
export interface TranscriberCapabilities {
  /** The provider returns segment timestamps. When false, chunks are short (≤ 30 s) and timed from the cut plan. */
  readonly timestamps: boolean;
  /** The provider can return word timestamps. */
  readonly words: boolean;
  /** Largest upload the provider accepts, in bytes. */
  readonly maxUploadBytes: number;
  /** Longest audio per request the provider accepts, in seconds. */
  readonly maxAudioSeconds: number;
  /** The provider translates speech into English natively (`task: 'translate'`). */
  readonly translate: boolean;
}

export interface TranscribeRequest {
  /** 16 kHz mono FLAC. */
  readonly audio: Uint8Array;
  readonly durationSeconds: number;
  readonly language?: string;
  readonly words?: boolean;
  readonly diarize?: boolean;
  /**
   * `translate`: English text of the speech, timed like a transcription (only when `capabilities.translate`;
   * `language` is then the language spoken). @default 'transcribe'
   */
  readonly task?: 'transcribe' | 'translate';
  /** Words and phrases to bias recognition towards, where the API has a field for it (Mistral `context_bias`). */
  readonly vocabulary?: readonly string[];
  /**
   * Sampling temperature, where the API has one. Unset: the provider's default (0 for transcription). The content
   * guard sets it on a second call of a suspect chunk.
   */
  readonly temperature?: number;
  /** Used in error messages and logs, e.g. `job 3fa2… chunk 7`. */
  readonly label: string;
}

/** One model call per chunk. Throws `TransientError` / `PermanentError`; never retries by itself. */
export interface Transcriber {
  readonly provider: string;
  readonly model: string;
  readonly capabilities: TranscriberCapabilities;
  transcribe(req: TranscribeRequest, signal: AbortSignal): Promise<ChunkTranscript>;
}

/** Where job lifecycle events go (EventBridge, webhooks, the CLI's progress bar). */
export interface Notifier {
  notify(event: JobEvent): Promise<void>;
}

export type JobEvent =
  | { readonly type: 'job.progress'; readonly jobId: string; readonly chunksDone: number; readonly chunksTotal: number }
  | {
      readonly type: 'job.completed';
      readonly jobId: string;
      readonly source: string;
      readonly resultKeys: readonly string[];
      /** Present when the job asked for translations, a summary, an extraction or a question (AWS: sent once they ran). */
      readonly enrichment?: EnrichmentOutcome;
      /** The job's attempt when it was retried (absent: the first); part of the event's id (shared/stages/attempt.ts). */
      readonly attempt?: number;
    }
  | {
      readonly type: 'job.failed';
      readonly jobId: string;
      readonly source: string;
      readonly reason: string;
      readonly resultKeys: readonly string[];
      /** As for `job.completed`. */
      readonly attempt?: number;
    }
  /** A person corrected the transcript (`POST /jobs/{id}/transcript/revisions`): `revision` is the new revision's number. */
  | { readonly type: 'job.transcript.edited'; readonly jobId: string; readonly source: string; readonly revision: number; readonly resultKeys: readonly string[] };

/**
 * How a job's enrichments ended: `ok` (every part), `partial` (some failed), `failed` (none succeeded).
 * `parts` is keyed `translation:<lang>`, `summary`, `extraction`, `answer`; a failed part carries its reason.
 */
export interface EnrichmentOutcome {
  readonly status: 'ok' | 'partial' | 'failed';
  readonly parts: Readonly<Record<string, { readonly status: 'ok' | 'failed'; readonly reason?: string }>>;
}

/** Time, injectable so tests can run backoff policies without sleeping. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Structured logger (Powertools Logger on Lambda, a JSON-lines logger locally). */
export interface Logger {
  debug(msg: string, extra?: Record<string, unknown>): void;
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

/**
 * How provider calls are made: global concurrency cap, per-attempt timeout, retries with backoff
 * for `TransientError` (honouring Retry-After). `PermanentError` passes through at once.
 * When attempts run out the last error is thrown with an `attempts` property.
 */
export interface CallPolicy {
  run<T>(label: string, fn: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; attempts: number }>;
}

/** What a chat model can do; decides batch sizes and whether audio is sent. */
export interface ChatCapabilities {
  /** Context window in tokens (prompt + reply). Requests are planned to stay inside it. */
  readonly contextTokens: number;
  /** Longest audio the model takes in a chat message, in seconds; 0 when it takes no audio. */
  readonly maxAudioSeconds: number;
  /** The endpoint honours `response_format: json_schema`. */
  readonly structuredOutput: boolean;
}

/** One part of a user message. Audio is sent in the vendor's own `input_audio` shape. */
export type ChatPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'audio'; readonly data: Uint8Array; readonly format: 'mp3' | 'wav'; readonly seconds: number };

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string | readonly ChatPart[];
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  /** Ask for JSON matching `schema` (structured output). The reply is still only text: callers validate it. */
  readonly json?: { readonly name: string; readonly schema: Record<string, unknown>; readonly strict?: boolean };
  /** Upper bound of the reply, in tokens. */
  readonly maxTokens?: number;
  /** Used in error messages and logs, e.g. `job 3fa2… translate:fr batch 2`. */
  readonly label: string;
}

export interface ChatReply {
  readonly text: string;
  readonly usage: { readonly inputTokens?: number; readonly outputTokens?: number; readonly costUsd?: number; readonly audioSeconds?: number };
}

/**
 * One chat completion per call. Throws `TransientError` / `PermanentError` (a prompt over the model's
 * context is a `ContextLengthError`, a `PermanentError`); never retries by itself.
 */
export interface ChatModel {
  readonly provider: string;
  readonly model: string;
  readonly capabilities: ChatCapabilities;
  complete(req: ChatRequest, signal: AbortSignal): Promise<ChatReply>;
}

/**
 * The drop folder's own area: where dropped sources are moved when their job ends and where their results
 * are published (S3: the bucket, `CopyObject`; locally: the watched directory and the `--out` directory).
 * Keys follow `core/profile-paths.ts` and are plain strings, never URL-encoded.
 */
export interface DropArea {
  /** Move a dropped file; overwrites `to`. Throws `NotFoundError` when `from` does not exist (already moved). */
  move(from: string, to: string): Promise<void>;
  /** Write a small object, e.g. the `.reason.json` beside a moved source. */
  put(key: string, body: string): Promise<void>;
  /** Copy a job's result (a job-store key such as `results/<jobId>/transcript.json`) to `to`. */
  publish(from: string, to: string): Promise<void>;
}
