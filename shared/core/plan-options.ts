import type { PlanOptions } from './types.js';

/** Bytes per second of 16 kHz mono 16-bit PCM: a FLAC chunk is never larger than this (plus headers). */
const PCM_BYTES_PER_SECOND = 32_000;

/** Longest chunk used when timing comes from the cut plan: each chunk becomes a subtitle-usable segment. */
export const CUT_PLAN_MAX_SECONDS = 30;

/** Shortest pause the planner cuts in, and the shortest silence the detector reports. */
export const MIN_PAUSE_SECONDS = 0.3;

/** Audio shared by both neighbours around a forced cut (speech with no usable pause). */
export const OVERLAP_SECONDS = 2;

/**
 * Audio before a cut that the next chunk of a diarized job hears too, to link speaker labels across the cut
 * (core/speakers.ts). Simulated 20-minute calls in 120-s chunks, labels arbitrary per call
 * (test/unit/speakers.test.ts): three people keep one label each in 30 of 30 calls with 10 s or more, 0 without;
 * four people in 0 of 30 with 10 s, 3 with 15 s, 18 with 20 s. Cost: about 20 s more audio per chunk.
 */
export const SPEAKER_CONTEXT_SECONDS = 20;

/** How far past the target a chunk may run to reach a pause, before a forced (overlapping) cut. */
const STRETCH = 1.5;

/** What the planner needs to know about the provider. */
export interface PlanLimits {
  /** The provider returns timestamps (else chunks are short and timed from the cut plan). */
  readonly timestamps: boolean;
  readonly maxUploadBytes: number;
  readonly maxAudioSeconds: number;
}

/**
 * Chunk-plan options for a provider and a requested chunk length.
 * Without provider timestamps, chunks are ≤ 30 s (the WhisperX approach) so each text inherits usable timing.
 * The hard maximum keeps a chunk under the upload limit even for incompressible audio.
 */
export function planOptionsFor(limits: PlanLimits, chunkSeconds: number, job: { readonly diarize?: boolean } = {}): PlanOptions {
  const bySize = Math.floor((limits.maxUploadBytes * 0.95) / PCM_BYTES_PER_SECOND);
  const hardMax = Math.min(bySize, limits.maxAudioSeconds, limits.timestamps ? Infinity : CUT_PLAN_MAX_SECONDS);
  // A chunk may run past the target to reach a pause, but not far: users pick the length for a reason.
  const maxSeconds = Math.max(OVERLAP_SECONDS * 4, Math.min(hardMax, chunkSeconds * STRETCH));
  const targetSeconds = Math.min(chunkSeconds, limits.timestamps ? maxSeconds * 0.8 : 20);
  const base = { targetSeconds, maxSeconds, overlapSeconds: OVERLAP_SECONDS, minPauseSeconds: MIN_PAUSE_SECONDS };
  // Speaker context only where labels come with provider timestamps, and never more than a quarter of a chunk.
  const contextSeconds = Math.min(SPEAKER_CONTEXT_SECONDS, maxSeconds / 4);
  return job.diarize && limits.timestamps ? { ...base, contextSeconds } : base;
}

/** Balanced chunks are never made shorter than this: below it, per-call overhead outweighs parallelism. */
export const MIN_BALANCED_SECONDS = 30;

/**
 * The chunk length to plan with, so that the number of chunks fills whole rounds of `parallelism` calls.
 * 30 chunks on 8 slots take 4 rounds, with the last one 3/4 empty; 32 slightly shorter chunks take the same
 * 4 rounds of shorter calls. Short files are split into up to `parallelism` chunks (≥ 30 s each) so they
 * use the slots too. Never longer than asked.
 */
export function balancedChunkSeconds(durationSeconds: number, chunkSeconds: number, parallelism: number | undefined): number {
  if (!parallelism || parallelism <= 1 || !(durationSeconds > 0)) return chunkSeconds;
  const chunks = Math.ceil(durationSeconds / chunkSeconds);
  const rounds = Math.ceil(chunks / parallelism);
  const balanced = durationSeconds / (rounds * parallelism);
  return Math.min(chunkSeconds, Math.max(balanced, MIN_BALANCED_SECONDS));
}
