/**
 * Builds the result JSON (`Transcript`, a public contract) from the job manifest and the stored chunk results.
 */
import { majorityLanguage, normalizeLanguage } from './language.js';
import { type StitchInput, stitchChunks } from './stitch.js';
import { GUARD, speechWithin, wordsOf } from './content-guard.js';
import { linkSpeakers } from './speakers.js';
import type { ChunkResult, Completeness, JobManifest, Pause, PlannedChunk, Segment, Transcript, Word } from './types.js';

/** Warning of a file in which no chunk produced text. */
export const NO_SPEECH_WARNING = 'no speech detected';

/**
 * Stitches the results of a job into its transcript.
 *
 * A chunk in `manifest.pending` without a result counts as failed. With any failed chunk the transcript
 * is `failed`, its `error` names each failed chunk with the provider's message, and it still carries the
 * text of the chunks that succeeded. Duplicate results for one chunk (at-least-once delivery) are
 * harmless: a success wins over a failure, else the last one counts.
 * Times are rounded to milliseconds; segment ids run 0..n-1.
 */
export function assembleTranscript(manifest: JobManifest, results: readonly ChunkResult[]): Transcript {
  const { plan } = manifest;
  const byIndex = latestResults(results);
  const sent = [...manifest.pending].sort((a, b) => a - b);
  const failures = sent.flatMap((index) => failureOf(manifest, index, byIndex.get(index)));
  const answered = sent.flatMap((index) => {
    const r = byIndex.get(index);
    const chunk = plan.chunks[index];
    return r?.status === 'ok' && chunk ? [{ chunk, transcript: r.transcript } satisfies StitchInput] : [];
  });
  // Each chunk was diarized by its own call: make its labels the file's (see core/speakers.ts).
  const ok = manifest.options.diarize ? linkSpeakers(answered) : answered;

  const stitched = stitchChunks(ok, { timing: manifest.timestamps });
  const quality = assessChunks(ok, stitched.segments);
  const segments = markSuspect(stitched.segments, ok, quality.suspect).map((s, id) => roundSegment(s, id));
  const text = segments.map((s) => s.text).join(' ');
  const warnings = [
    ...(manifest.warnings ?? []),
    ...ok.flatMap(({ chunk, transcript }) => (transcript.warnings ?? []).map((w) => `chunk ${chunk.index}: ${w}`)),
    ...stitched.warnings,
    ...quality.warnings,
  ];
  if (text === '' && failures.length === 0) warnings.push(NO_SPEECH_WARNING);
  const costs = ok.map(({ transcript }) => transcript.usage.costUsd).filter((c): c is number => c !== undefined);

  const transcript: Transcript = {
    id: manifest.jobId,
    source: manifest.source,
    status: failures.length > 0 ? 'failed' : 'completed',
    ...(failures.length > 0 ? { error: failureMessage(failures, sent.length) } : {}),
    durationSeconds: round(plan.durationSeconds),
    language: languageOf(manifest, ok),
    text,
    segments,
    ...(stitched.words ? { words: stitched.words.map(roundWord) } : {}),
    chunks: sent.map((index) => chunkEntry(manifest, index, byIndex.get(index))),
    model: modelOf(manifest, ok),
    usage: {
      audioSeconds: round(sent.reduce((sum, index) => sum + audioSeconds(plan.chunks[index]), 0)),
      ...(costs.length > 0 ? { costUsd: Math.round(costs.reduce((a, b) => a + b, 0) * 1e6) / 1e6 } : {}),
    },
    timestamps: manifest.timestamps,
    warnings: [...new Set(warnings)],
    completeness: quality.completeness,
  };
  return transcript;
}

interface Failure {
  readonly index: number;
  readonly provider: string;
  readonly error: string;
}

function latestResults(results: readonly ChunkResult[]): Map<number, ChunkResult> {
  const byIndex = new Map<number, ChunkResult>();
  for (const r of results) {
    const seen = byIndex.get(r.index);
    if (seen?.status === 'ok' && r.status === 'failed') continue;
    byIndex.set(r.index, r);
  }
  return byIndex;
}

function failureOf(manifest: JobManifest, index: number, r: ChunkResult | undefined): Failure[] {
  if (r?.status === 'ok') return [];
  if (!r) return [{ index, provider: manifest.options.provider, error: 'no result stored' }];
  return [{ index, provider: r.provider, error: r.error }];
}

/** `2 of 9 chunks failed: chunk 3 (mistral): 400 unsupported audio; chunk 5 (mistral): timeout`. */
function failureMessage(failures: readonly Failure[], total: number): string {
  const list = failures.map((f) => `chunk ${f.index} (${f.provider}): ${f.error}`).join('; ');
  return `${failures.length} of ${total} chunks failed: ${list}`;
}

/** The language the user asked for, else the one most of the transcribed audio was in. */
function languageOf(manifest: JobManifest, ok: readonly StitchInput[]): string | null {
  const asked = manifest.options.language === undefined ? undefined : normalizeLanguage(manifest.options.language);
  if (asked) return asked;
  return majorityLanguage(
    ok.map((i) => i.transcript.language),
    ok.map((i) => audioSeconds(i.chunk)),
  );
}

/** The model the provider reported for most chunks (it may name a dated variant), else the one requested. */
function modelOf(manifest: JobManifest, ok: readonly StitchInput[]): string {
  const counts = new Map<string, number>();
  for (const { transcript } of ok) counts.set(transcript.model, (counts.get(transcript.model) ?? 0) + 1);
  let best = manifest.options.model;
  let bestCount = 0;
  for (const [model, count] of counts) {
    if (count > bestCount) {
      best = model;
      bestCount = count;
    }
  }
  return best;
}

function chunkEntry(manifest: JobManifest, index: number, r: ChunkResult | undefined): Transcript['chunks'][number] {
  const chunk = manifest.plan.chunks[index];
  const provider = r?.status === 'ok' ? r.transcript.provider : (r?.provider ?? manifest.options.provider);
  const model = r?.status === 'ok' ? r.transcript.model : (r?.model ?? manifest.options.model);
  return {
    index,
    start: round(chunk?.start ?? 0),
    end: round(chunk?.end ?? 0),
    attempts: r?.attempts ?? 0,
    provider,
    model,
  };
}

function audioSeconds(chunk: PlannedChunk | undefined): number {
  return chunk ? chunk.end - chunk.start : 0;
}

function roundSegment(s: Segment, id: number): Segment & { readonly id: number } {
  const base = { id, start: round(s.start), end: round(s.end), text: s.text };
  const withSpeaker = s.speaker === undefined ? base : { ...base, speaker: s.speaker };
  return s.suspect ? { ...withSpeaker, suspect: true } : withSpeaker;
}

/** A job whose segments cover less of the detected speech than this gets a warning. */
export const COVERAGE_WARNING_RATIO = 0.85;
/** A chunk whose segments cover less of its speech than this gets a warning of its own. */
export const CHUNK_COVERAGE_WARNING_RATIO = 0.5;
/** Chunks with less speech than this are too short for a words-per-second comparison. */
const RATE_MIN_SPEECH_SECONDS = 8;

/**
 * Completeness per chunk (detected speech vs speech inside transcribed segments, words per second of speech) and
 * the job-level checks the transcriber stage cannot make alone: a chunk with far fewer words per second of speech
 * than the job's other chunks (the model stopped early; the only sign of it without timestamps) is suspect.
 */
function assessChunks(ok: readonly StitchInput[], segments: readonly Segment[]) {
  const warnings: string[] = [];
  const suspect = new Set<number>(ok.filter((i) => i.transcript.suspect?.length).map((i) => i.chunk.index));
  const rows = ok.map(({ chunk }) => {
    const speech = clipPauses(chunk.speech, chunk.keepFrom, chunk.keepUntil);
    const speechSeconds = speechWithin(speech, chunk.keepFrom, chunk.keepUntil);
    // A segment can span several chunks (a run-on sentence across forced cuts): each chunk counts its own part,
    // and the segment's words in proportion to that part.
    const own = segments.filter((s) => s.end > chunk.keepFrom && s.start < chunk.keepUntil);
    let coveredSeconds = 0;
    for (const s of mergeSpans(own)) coveredSeconds += speechWithin(speech, s.start, s.end);
    const words = Math.round(
      own.reduce((n, s) => {
        const length = s.end - s.start;
        const share = length > 0 ? (Math.min(s.end, chunk.keepUntil) - Math.max(s.start, chunk.keepFrom)) / length : 1;
        return n + wordsOf(s.text).length * share;
      }, 0),
    );
    return { index: chunk.index, speechSeconds, coveredSeconds, words, wordsPerSecond: speechSeconds > 0 ? words / speechSeconds : 0 };
  });
  const rates = rows.filter((r) => r.speechSeconds >= RATE_MIN_SPEECH_SECONDS).map((r) => r.wordsPerSecond).sort((a, b) => a - b);
  const median = rates.length >= 3 ? (rates[Math.floor((rates.length - 1) / 2)] ?? 0) : undefined;
  for (const r of rows) {
    if (median !== undefined && r.speechSeconds >= RATE_MIN_SPEECH_SECONDS && r.wordsPerSecond < GUARD.relativeRate * median && !suspect.has(r.index)) {
      suspect.add(r.index);
      warnings.push(
        `chunk ${r.index}: ${r.wordsPerSecond.toFixed(2)} words per second of speech against the job's median ${median.toFixed(2)}: the model may have stopped early (segments marked suspect)`,
      );
    }
    if (r.speechSeconds >= RATE_MIN_SPEECH_SECONDS && r.coveredSeconds < CHUNK_COVERAGE_WARNING_RATIO * r.speechSeconds) {
      warnings.push(`chunk ${r.index}: transcribed segments cover ${percent(r.coveredSeconds, r.speechSeconds)} of its ${r.speechSeconds.toFixed(1)} s of detected speech`);
    }
  }
  const speechSeconds = rows.reduce((a, r) => a + r.speechSeconds, 0);
  const coveredSeconds = rows.reduce((a, r) => a + r.coveredSeconds, 0);
  const ratio = speechSeconds > 0 ? coveredSeconds / speechSeconds : 1;
  if (speechSeconds >= RATE_MIN_SPEECH_SECONDS && ratio < COVERAGE_WARNING_RATIO) {
    warnings.push(
      `incomplete: transcribed segments cover ${percent(coveredSeconds, speechSeconds)} of ${speechSeconds.toFixed(1)} s of detected speech (warning below ${Math.round(COVERAGE_WARNING_RATIO * 100)}%; see completeness)`,
    );
  }
  const completeness: Completeness = {
    speechSeconds: round(speechSeconds),
    coveredSeconds: round(coveredSeconds),
    ratio: Math.round(ratio * 1000) / 1000,
    chunks: rows.map((r) => ({
      index: r.index,
      speechSeconds: round(r.speechSeconds),
      coveredSeconds: round(r.coveredSeconds),
      words: r.words,
      wordsPerSecond: Math.round(r.wordsPerSecond * 100) / 100,
      ...(suspect.has(r.index) ? { suspect: true as const } : {}),
    })),
  };
  return { completeness, suspect, warnings };
}

/** Segments whose middle lies in the keep-span of a suspect chunk get `suspect: true`. */
function markSuspect(segments: readonly Segment[], ok: readonly StitchInput[], suspect: ReadonlySet<number>): Segment[] {
  const spans = ok.filter((i) => suspect.has(i.chunk.index)).map((i) => i.chunk);
  if (spans.length === 0) return [...segments];
  return segments.map((s) => {
    const mid = (s.start + s.end) / 2;
    return spans.some((c) => mid >= c.keepFrom && mid < c.keepUntil) ? { ...s, suspect: true } : s;
  });
}

function clipPauses(speech: readonly Pause[], from: number, to: number): Pause[] {
  return speech.flatMap((s) => (Math.min(s.end, to) > Math.max(s.start, from) ? [{ start: Math.max(s.start, from), end: Math.min(s.end, to) }] : []));
}

/** Overlapping spans merged, so covered speech is not counted twice. */
function mergeSpans(spans: readonly { start: number; end: number }[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    const last = out.at(-1);
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}

function percent(part: number, whole: number): string {
  return `${Math.round((whole > 0 ? part / whole : 1) * 100)}%`;
}

function roundWord(w: Word): Word {
  const base = { word: w.word, start: round(w.start), end: round(w.end) };
  return w.estimated ? { ...base, estimated: true } : base;
}

/** Milliseconds: finer precision is noise from chunk-offset arithmetic. */
function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
