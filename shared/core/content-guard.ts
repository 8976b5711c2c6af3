/**
 * Content guard: does a provider's 200 answer look like a transcript of this chunk? Speech models misbehave
 * inside a success: they loop on one phrase, stop half way through the chunk, or write text over silence.
 * Pure: works on the transcript, the chunk's span and the speech stretches the splitter found.
 */
import { normalizeToken, tokenize } from './text.js';
import type { ChunkTranscript, Pause } from './types.js';

/** What the guard knows about the chunk a transcript is for. Times absolute (seconds from the file start). */
export interface GuardChunk {
  readonly start: number;
  readonly end: number;
  /** Speech stretches inside the chunk (the chunk minus its pauses). */
  readonly speech: readonly Pause[];
  /** True when the transcript has timestamps to check; false when it is text only. */
  readonly timed: boolean;
  /** Median words per second of speech of the job's other chunks, when known (text-only early-stop check). */
  readonly baselineRate?: number;
}

/** One finding, with the kind first (`loop`, `early-stop`, `over-silence`, `sparse`). */
export interface GuardFinding {
  readonly kind: 'loop' | 'early-stop' | 'over-silence' | 'sparse';
  readonly detail: string;
}

/** Thresholds, exported so the README and the tests name the same numbers. */
export const GUARD = {
  /** A phrase of n words repeated back to back at least this many times is a loop (n = 1: a word said 6 times). */
  repeatsFor: (n: number) => (n === 1 ? 6 : n === 2 ? 4 : 3),
  /** …and the repeats cover at least this many words. */
  minLoopWords: 8,
  /** Share of distinct 4-grams below which a transcript of ≥ 40 words is a loop even with variation inside. */
  minDistinct4grams: 0.3,
  /** Speech after the last transcribed word, in seconds, beyond which the model stopped early… */
  earlyStopSeconds: 3,
  /** …when it is also at least this share of the chunk's speech. */
  earlyStopShare: 0.2,
  /** A segment lying this much (share of its length) outside speech is text over silence… */
  silenceShare: 0.8,
  /** …when it is at least this long. */
  silenceMinSeconds: 1,
  /** Without timestamps: fewer words per second of speech than this is too sparse (ordinary speech: 2–3). */
  minWordsPerSecond: 0.5,
  /** Without timestamps, against the job's other chunks: below this share of their median rate is suspect. */
  relativeRate: 0.45,
} as const;

/** Seconds of `speech` inside `[from, to)`. */
export function speechWithin(speech: readonly Pause[], from: number, to: number): number {
  let sum = 0;
  for (const s of speech) sum += Math.max(0, Math.min(s.end, to) - Math.max(s.start, from));
  return sum;
}

/** Everything suspicious about `t` as the transcript of `chunk`; empty when it looks right. */
export function inspectTranscript(t: ChunkTranscript, chunk: GuardChunk): GuardFinding[] {
  const findings: GuardFinding[] = [];
  const tokens = wordsOf(t.text);
  const loop = findLoop(tokens);
  if (loop) findings.push({ kind: 'loop', detail: loop });
  const speechSeconds = speechWithin(chunk.speech, chunk.start, chunk.end);
  if (chunk.timed) {
    const stop = earlyStop(t, chunk, speechSeconds, tokens.length);
    if (stop) findings.push({ kind: 'early-stop', detail: stop });
    const silent = overSilence(t, chunk);
    if (silent) findings.push({ kind: 'over-silence', detail: silent });
  } else {
    const rate = speechSeconds > 0 ? tokens.length / speechSeconds : 0;
    if (speechSeconds >= 8 && rate < GUARD.minWordsPerSecond) {
      findings.push({ kind: 'sparse', detail: `${tokens.length} words for ${speechSeconds.toFixed(1)} s of speech` });
    } else if (speechSeconds >= 8 && chunk.baselineRate !== undefined && rate < GUARD.relativeRate * chunk.baselineRate) {
      findings.push({
        kind: 'sparse',
        detail: `${rate.toFixed(2)} words per second of speech against ${chunk.baselineRate.toFixed(2)} in the job's other chunks`,
      });
    }
    if (speechSeconds < 0.5 && tokens.length >= 4) {
      findings.push({ kind: 'over-silence', detail: `${tokens.length} words where ${speechSeconds.toFixed(1)} s of speech was detected` });
    }
  }
  return findings;
}

/** How bad a set of findings is: a loop worst (its text is wrong), then text over silence, then missing text. */
export function severity(findings: readonly GuardFinding[]): number {
  const weight = { loop: 4, 'over-silence': 3, 'early-stop': 2, sparse: 1 } as const;
  return findings.reduce((sum, f) => sum + weight[f.kind], 0);
}

/** `loop: "a b c" ×9`, for warnings. */
export function describeFindings(findings: readonly GuardFinding[]): string {
  return findings.map((f) => `${f.kind}: ${f.detail}`).join('; ');
}

/**
 * A phrase repeated back to back beyond what speech has, or a transcript made of very few distinct 4-grams.
 * Returns a description, or undefined.
 */
export function findLoop(tokens: readonly string[]): string | undefined {
  for (let n = 1; n <= 12; n += 1) {
    const need = GUARD.repeatsFor(n);
    for (let i = 0; i + n * need <= tokens.length; i += 1) {
      let reps = 1;
      while (i + (reps + 1) * n <= tokens.length && sameRun(tokens, i, i + reps * n, n)) reps += 1;
      if (reps >= need && reps * n >= GUARD.minLoopWords) return `"${tokens.slice(i, i + n).join(' ')}" ×${reps}`;
    }
  }
  if (tokens.length >= 40) {
    const grams = new Set<string>();
    for (let i = 0; i + 4 <= tokens.length; i += 1) grams.add(tokens.slice(i, i + 4).join(' '));
    const share = grams.size / (tokens.length - 3);
    if (share < GUARD.minDistinct4grams) return `only ${Math.round(share * 100)}% distinct 4-word phrases in ${tokens.length} words`;
  }
  return undefined;
}

function sameRun(tokens: readonly string[], a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k += 1) if (tokens[a + k] !== tokens[b + k]) return false;
  return true;
}

/** Absolute end of the last timed text, or undefined when the transcript has no times. */
function lastTextEnd(t: ChunkTranscript, chunkStart: number): number | undefined {
  const ends = [...(t.segments ?? []).filter((s) => s.text.trim() !== ''), ...(t.words ?? [])].map((x) => x.end);
  return ends.length > 0 ? chunkStart + Math.max(...ends) : undefined;
}

function earlyStop(t: ChunkTranscript, chunk: GuardChunk, speechSeconds: number, words: number): string | undefined {
  if (speechSeconds < GUARD.earlyStopSeconds) return undefined;
  const end = lastTextEnd(t, chunk.start);
  if (end === undefined) {
    return words === 0 ? `no text for ${speechSeconds.toFixed(1)} s of speech` : undefined;
  }
  const missing = speechWithin(chunk.speech, end + 0.5, chunk.end);
  if (missing >= GUARD.earlyStopSeconds && missing >= GUARD.earlyStopShare * speechSeconds) {
    return `text ends at ${end.toFixed(1)} s, ${missing.toFixed(1)} s of speech follow`;
  }
  return undefined;
}

function overSilence(t: ChunkTranscript, chunk: GuardChunk): string | undefined {
  for (const s of t.segments ?? []) {
    const from = chunk.start + s.start;
    const to = chunk.start + s.end;
    const length = to - from;
    if (length < GUARD.silenceMinSeconds || wordsOf(s.text).length < 3) continue;
    const outside = 1 - speechWithin(chunk.speech, from, to) / length;
    if (outside >= GUARD.silenceShare) return `"${s.text.slice(0, 40)}" at ${from.toFixed(1)}–${to.toFixed(1)} s lies in a pause`;
  }
  return undefined;
}

/** Words of `text` as speech models agree on them: lower case, punctuation dropped. */
export function wordsOf(text: string): string[] {
  return tokenize(text).map(normalizeToken).filter((w) => w !== '');
}
