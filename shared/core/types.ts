/**
 * The data that flows between stages. Pure types: no runtime code, no I/O.
 * Every time is in seconds. "Chunk-relative" times start at the chunk's own `start`;
 * everything else is measured from the start of the original file.
 */

/** What ffprobe tells about an input, reduced to what the pipeline needs. */
export interface AudioProbe {
  readonly durationSeconds: number;
  /** ffprobe `format_name`, e.g. `mp3`, `mov,mp4,m4a,3gp,3g2,mj2`. */
  readonly formatName: string;
  /** Codec of the audio stream that will be transcribed. */
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
  readonly sizeBytes: number;
}

/** A stretch without speech, as found by silence detection. */
export interface Pause {
  readonly start: number;
  readonly end: number;
}

/** How one edge of a chunk was chosen. */
export type CutKind = 'edge' | 'pause' | 'forced';

/**
 * One planned chunk. The audio sent to the model is `[start, end)`.
 * `[keepFrom, keepUntil)` is the part this chunk is authoritative for: outside it lies a declared
 * overlap with the neighbour (at `forced` cuts, where no usable pause existed, half on each side; with
 * `PlanOptions.contextSeconds`, up to that much before `keepFrom` (the larger of the two at forced cuts), at pause cuts too).
 * Over a plan, the keep-spans tile `[0, duration)` exactly once.
 */
export interface PlannedChunk {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly keepFrom: number;
  readonly keepUntil: number;
  readonly startCut: CutKind;
  readonly endCut: CutKind;
  /** True when the whole chunk lies inside one pause: nothing to send to the model. */
  readonly silent: boolean;
  /**
   * Speech stretches inside the chunk (absolute times), i.e. the chunk minus the pauses in it.
   * Used to time text from providers that return no timestamps.
   */
  readonly speech: readonly Pause[];
}

/** Inputs of the pure chunk planner. */
export interface PlanOptions {
  /** Preferred chunk length. */
  readonly targetSeconds: number;
  /** Hard upper bound of a chunk's audio (upload limit / model limit), overlap included. */
  readonly maxSeconds: number;
  /** Overlap added around a forced cut (half on each side). */
  readonly overlapSeconds: number;
  /** Pauses shorter than this are not used as cut points. */
  readonly minPauseSeconds: number;
  /**
   * Audio before a pause cut that the next chunk hears too (its `start` moves back, its `keepFrom` stays at the
   * cut), so that speaker labels of separately diarized chunks can be linked through speech both heard
   * (core/speakers.ts). Absent or 0: chunks cut at pauses do not overlap. Counted within `maxSeconds`.
   */
  readonly contextSeconds?: number;
}

/** The cut plan: data, produced by `planChunks` from probe + pause data. Stored in the job manifest. */
export interface ChunkPlan {
  readonly durationSeconds: number;
  readonly options: PlanOptions;
  readonly pauses: readonly Pause[];
  readonly chunks: readonly PlannedChunk[];
}

/** A timed word. */
export interface Word {
  readonly word: string;
  readonly start: number;
  readonly end: number;
  /**
   * True when the provider gave no time for this word and voxpipe placed it inside its segment (in proportion
   * to its length). Absent on measured times.
   */
  readonly estimated?: true;
}

/** A timed stretch of text. */
export interface Segment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly speaker?: string;
  /** Set when the chunk this text came from still looked wrong after a second call (see `warnings`). */
  readonly suspect?: true;
}

/** What a provider returned for one chunk. Times are chunk-relative. */
export interface ChunkTranscript {
  readonly text: string;
  readonly language?: string;
  /** Present when the provider returned segment timestamps. */
  readonly segments?: readonly Segment[];
  /** Present when the provider returned word timestamps. */
  readonly words?: readonly Word[];
  readonly provider: string;
  readonly model: string;
  readonly usage: ChunkUsage;
  /** Things the user should know (e.g. "server rejected verbose_json; timing from cut plan"). */
  readonly warnings?: readonly string[];
  /**
   * Why the content guard still distrusts this output after a second call (loop, early stop, text over silence).
   * The text is kept; its segments are marked `suspect` in the result.
   */
  readonly suspect?: readonly string[];
}

export interface ChunkUsage {
  readonly audioSeconds: number;
  readonly costUsd?: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

/** Stored per chunk under `jobs/<jobId>/chunks/<index>.json`. */
export type ChunkResult =
  | {
      readonly status: 'ok';
      readonly jobId: string;
      readonly index: number;
      readonly attempts: number;
      readonly transcript: ChunkTranscript;
      /** Seconds of detected speech in the chunk: the content guard compares words per second across a job's chunks. */
      readonly speechSeconds?: number;
    }
  | {
      readonly status: 'failed';
      readonly jobId: string;
      readonly index: number;
      readonly attempts: number;
      readonly provider: string;
      readonly model: string;
      readonly error: string;
    };

/** Per-job options that change what is produced. Part of the job id. */
export interface JobOptions {
  readonly provider: string;
  readonly model: string;
  readonly language?: string;
  readonly chunkSeconds: number;
  /** Ask the provider for word timestamps where it has them. */
  readonly words: boolean;
  readonly diarize: boolean;
  /** `provider`: trust provider timestamps; `cut-plan`: short chunks, timing from pauses; `auto`: per provider capability. */
  readonly timestamps: 'auto' | 'provider' | 'cut-plan';
  /** Languages (ISO 639-1) to translate the transcript into, segment by segment. */
  readonly translate?: readonly string[];
  /** Summarise the transcript; an object carries a custom prompt. */
  readonly summary?: boolean | { readonly prompt?: string };
  /** A JSON Schema: extract data matching it from the transcript. */
  readonly extract?: unknown;
  /** A question about the audio. */
  readonly ask?: string;
  /**
   * Also translate the speech into English with the provider's native speech translation (a second pass over
   * the chunk audio), stored as `translations.en` with `mode: 'native-speech'`.
   */
  readonly translateSpeech?: boolean;
  /** Words and phrases to bias recognition towards (`--vocabulary`; Mistral `context_bias`). */
  readonly vocabulary?: readonly string[];
}

/** Written by the split stage to `jobs/<jobId>/manifest.json`. */
export interface JobManifest {
  readonly jobId: string;
  /** Human-facing name of the source (file path or `s3://bucket/key`). */
  readonly source: string;
  /** Base name used for result files, e.g. `talk` for `talk.mp3`. */
  readonly name: string;
  readonly createdAt: string;
  readonly options: JobOptions;
  readonly probe: AudioProbe;
  readonly plan: ChunkPlan;
  /** Indexes of chunks sent to the model (non-silent ones). The job is complete when each has a result. */
  readonly pending: readonly number[];
  /** `provider` when the transcriber returns timestamps, else `cut-plan`. */
  readonly timestamps: 'provider' | 'cut-plan';
  /** Seconds of audio actually decoded (shorter than `probe.durationSeconds` for a truncated file). */
  readonly decodedSeconds?: number;
  /**
   * Which detector found the pauses the plan cuts at (`VOXPIPE_PAUSES`): `silero` (the Silero VAD) or `energy` (the
   * energy detector: chosen, or `auto`'s fallback for non-speech or where the VAD did not load). Absent: not reported.
   */
  readonly pauseFinder?: 'silero' | 'energy';
  /** Warnings about the input found while splitting (e.g. truncation), copied into the result's `warnings`. */
  readonly warnings?: readonly string[];
}

/** Job lifecycle, stored at `jobs/<jobId>/status.json`. */
export type JobState = 'splitting' | 'transcribing' | 'aggregating' | 'completed' | 'failed';

export interface JobStatus {
  readonly jobId: string;
  readonly source: string;
  readonly state: JobState;
  readonly updatedAt: string;
  readonly reason?: string;
  readonly chunksTotal?: number;
  readonly chunksDone?: number;
  /** Set on the terminal status of a retried job: which attempt ended (absent: the first). See shared/stages/attempt.ts. */
  readonly attempt?: number;
}

/** The result JSON (`<name>.json` locally, `results/<jobId>/transcript.json` on AWS). Keep stable. */
export interface Transcript {
  readonly id: string;
  readonly source: string;
  readonly status: 'completed' | 'failed';
  readonly error?: string;
  readonly durationSeconds: number;
  readonly language: string | null;
  readonly text: string;
  readonly segments: readonly (Segment & { readonly id: number })[];
  readonly words?: readonly Word[];
  readonly chunks: readonly {
    readonly index: number;
    readonly start: number;
    readonly end: number;
    readonly attempts: number;
    readonly provider: string;
    readonly model: string;
  }[];
  readonly model: string;
  readonly usage: TranscriptUsage;
  readonly timestamps: 'provider' | 'cut-plan';
  readonly warnings: readonly string[];
  /** Detected speech against transcribed coverage, per chunk (see `Completeness`). */
  readonly completeness?: Completeness;
  /** Per language, when translation was asked for (`--translate`). */
  readonly translations?: Readonly<Record<string, EnrichmentResult<TranslationResult>>>;
  /** When a summary was asked for (`--summary`). */
  readonly summary?: EnrichmentResult<{ readonly text: string }>;
  /** When extraction was asked for (`--extract`): `data` matches the user's schema. */
  readonly extraction?: EnrichmentResult<{ readonly data: unknown }>;
  /** When a question was asked (`--ask`): `mode` says whether the model heard the audio or read the transcript. */
  readonly answer?: EnrichmentResult<{ readonly text: string }> & { readonly mode: 'audio' | 'transcript' };
}

/**
 * How much of the detected speech the transcript covers. `speechSeconds`: speech the splitter found (the chunk's
 * keep-span minus its pauses); `coveredSeconds`: the part of that speech inside transcribed segments. With
 * cut-plan timing the segments are spread over the speech by construction, so `wordsPerSecond` (words per
 * second of speech) is the telling figure there.
 */
export interface Completeness {
  readonly speechSeconds: number;
  readonly coveredSeconds: number;
  /** `coveredSeconds / speechSeconds` (1 when there is no speech). */
  readonly ratio: number;
  readonly chunks: readonly {
    readonly index: number;
    readonly speechSeconds: number;
    readonly coveredSeconds: number;
    readonly words: number;
    readonly wordsPerSecond: number;
    readonly suspect?: true;
  }[];
}

/** Cost ledger of a job: transcription plus, when enrichments ran, every chat call. */
export interface TranscriptUsage {
  readonly audioSeconds: number;
  /** Total known cost (transcription + chat), when any provider reported one. */
  readonly costUsd?: number;
  /** Transcription part of `costUsd`. */
  readonly transcriptionCostUsd?: number;
  /** Chat calls made by the enrichments. */
  readonly chat?: ChatUsageLedger;
}

/** Token and cost totals of the chat calls of one job, with one line per call. */
export interface ChatUsageLedger {
  readonly provider: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Sum of the costs the provider reported (OpenRouter does; others report tokens only). */
  readonly costUsd?: number;
  readonly calls: readonly ChatCallUsage[];
}

/** One chat call in the ledger. */
export interface ChatCallUsage {
  /** e.g. `translate:fr`, `summary`, `extract`, `ask`. */
  readonly task: string;
  readonly attempts: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly audioSeconds?: number;
  readonly costUsd?: number;
}

/** Outcome of one enrichment: its own status, so a failure never loses the transcript. */
export type EnrichmentResult<T> = ({ readonly status: 'ok' } & T) | { readonly status: 'failed'; readonly reason: string };

/** One translated language: the transcript's segments with the same ids and timing. */
export interface TranslationResult {
  readonly text: string;
  readonly segments: readonly { readonly id: number; readonly start: number; readonly end: number; readonly text: string }[];
  /**
   * `native-speech`: the provider translated the audio itself into English (`--translate-speech`); segments are
   * the provider's, stitched like the transcript's. Absent: the chat model translated the transcript's segments.
   */
  readonly mode?: 'native-speech';
}

/** One SQS / in-process queue message: everything the transcriber stage needs for one chunk. */
export interface ChunkTask {
  readonly jobId: string;
  readonly index: number;
  /** Absolute start/end of the chunk audio in the source, seconds. */
  readonly start: number;
  readonly end: number;
  /** BlobStore key of the chunk's FLAC. */
  readonly audioKey: string;
  readonly language?: string;
  readonly words: boolean;
  readonly diarize: boolean;
  /** Words and phrases to bias recognition towards (`JobOptions.vocabulary`). */
  readonly vocabulary?: readonly string[];
  /** Speech stretches of the chunk (absolute times, from the splitter's pause finding), for the content guard. */
  readonly speech?: readonly Pause[];
}
