/**
 * Builds the result JSON (`Transcript`, a public contract) from the job manifest and the stored chunk results.
 */
import { majorityLanguage, normalizeLanguage } from './language.js';
import { type StitchInput, stitchChunks } from './stitch.js';
import type { ChunkResult, JobManifest, PlannedChunk, Segment, Transcript, Word } from './types.js';

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
  const ok = sent.flatMap((index) => {
    const r = byIndex.get(index);
    const chunk = plan.chunks[index];
    return r?.status === 'ok' && chunk ? [{ chunk, transcript: r.transcript } satisfies StitchInput] : [];
  });

  const stitched = stitchChunks(ok, { timing: manifest.timestamps });
  const segments = stitched.segments.map((s, id) => roundSegment(s, id));
  const text = segments.map((s) => s.text).join(' ');
  const warnings = [
    ...ok.flatMap(({ chunk, transcript }) => (transcript.warnings ?? []).map((w) => `chunk ${chunk.index}: ${w}`)),
    ...stitched.warnings,
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
  return s.speaker === undefined ? base : { ...base, speaker: s.speaker };
}

function roundWord(w: Word): Word {
  const base = { word: w.word, start: round(w.start), end: round(w.end) };
  return w.estimated ? { ...base, estimated: true } : base;
}

/** Milliseconds: finer precision is noise from chunk-offset arithmetic. */
function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
