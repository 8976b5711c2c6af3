/**
 * Finished jobs written straight into a `voxpipe serve` store, for the dashboard benchmark and the README
 * screenshots: a synthetic transcript of any length (speakers, words, optional enrichments, suspect
 * segments, warnings), its renderings, the API's job record and a silent source of the right duration.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createFsStore } from '../shared/adapters/fs-store.js';
import { type ApiJobRecord, apiKeys } from '../shared/api/records.js';
import { jobKeys } from '../shared/core/keys.js';
import { renderSrt, renderTxt, renderVtt } from '../shared/core/render.js';
import type { JobStatus, Transcript, Word } from '../shared/core/types.js';
import { mulberry32 } from '../test/fixtures/prng.js';

const run = promisify(execFile);

const LEXICON =
  'the a we it this that and so but then data model audio meeting budget quarter plan team customer product launch release question answer point next week today really think know right well okay yes no maybe because numbers design review latency cost speaker transcript pipeline chunk'.split(
    ' ',
  );

/** A transcript of `words` words over `seconds`, in segments of 6–16 words, speakers taking turns. */
export function syntheticTranscript(opts: { id: string; source: string; seconds: number; words: number; speakers?: number; seed?: number }): Transcript {
  const rand = mulberry32(opts.seed ?? 1);
  const speakers = opts.speakers ?? 3;
  const step = opts.seconds / opts.words;
  const words: Word[] = [];
  const segments: Transcript['segments'][number][] = [];
  let t = 0.4;
  let speaker = 0;
  while (words.length < opts.words) {
    const n = Math.min(opts.words - words.length, 6 + Math.floor(rand() * 11));
    const segWords: Word[] = [];
    for (let k = 0; k < n; k++) {
      const len = step * (0.6 + rand() * 0.3);
      const w = LEXICON[Math.floor(rand() * LEXICON.length)] as string;
      segWords.push({ word: k === 0 ? w[0]?.toUpperCase() + w.slice(1) : w, start: round(t), end: round(t + len) });
      t += step;
    }
    const text = `${segWords.map((w) => w.word).join(' ')}.`;
    (segWords.at(-1) as { word: string }).word += '.';
    words.push(...segWords);
    segments.push({ id: segments.length, start: (segWords[0] as Word).start, end: (segWords.at(-1) as Word).end, text, speaker: `SPEAKER_${speaker}` });
    if (rand() < 0.35) speaker = (speaker + 1 + Math.floor(rand() * (speakers - 1))) % speakers;
  }
  return {
    id: opts.id,
    source: opts.source,
    status: 'completed',
    durationSeconds: opts.seconds,
    language: 'en',
    text: segments.map((s) => s.text).join(' '),
    segments,
    words,
    chunks: [],
    model: 'voxtral-mini-latest',
    usage: { audioSeconds: opts.seconds, costUsd: Math.round((opts.seconds / 60) * 0.001 * 10000) / 10000 },
    timestamps: 'provider',
    warnings: [],
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Write a finished job for `tenant` into the store under `<workDir>/store`. */
export async function seedJob(
  workDir: string,
  tenant: string,
  transcript: Transcript,
  opts: { fileName: string; sourceFile?: string; createdAt?: Date; state?: JobStatus['state']; reason?: string; chunks?: { done: number; total: number } },
): Promise<void> {
  const store = createFsStore(`${workDir}/store`);
  const jobId = transcript.id;
  const sourceKey = apiKeys.upload(jobId, opts.fileName);
  const createdAt = (opts.createdAt ?? new Date()).toISOString();
  const record: ApiJobRecord = { jobId, tenant, createdAt, sourceKey, sourceKind: 'upload', options: {} };
  await store.put(apiKeys.tenantJob(tenant, jobId), JSON.stringify(record));
  if (opts.sourceFile) await store.putFile(sourceKey, opts.sourceFile);
  else await store.put(sourceKey, 'x');
  const state = opts.state ?? 'completed';
  const status: JobStatus = {
    jobId,
    source: sourceKey,
    state,
    updatedAt: new Date(Date.parse(createdAt) + 60_000).toISOString(),
    ...(opts.reason ? { reason: opts.reason } : {}),
    ...(opts.chunks ? { chunksTotal: opts.chunks.total, chunksDone: opts.chunks.done } : {}),
  };
  await store.put(jobKeys(jobId).status, JSON.stringify(status));
  for (let k = 0; k < (opts.chunks?.done ?? 0); k++) {
    const chunk = { index: k, start: k * 600, end: (k + 1) * 600 };
    const result = { status: 'ok', jobId, index: k, attempts: 1, transcript: { text: '', provider: 'mistral', model: 'voxtral-mini-latest', usage: { audioSeconds: 600, costUsd: 0.01 } } };
    await store.put(jobKeys(jobId).chunkResult(chunk), JSON.stringify(result));
  }
  if (state !== 'completed') return;
  const plain = transcript.segments.map(({ id: _id, ...s }) => s);
  await store.put(jobKeys(jobId).result('json'), JSON.stringify(transcript));
  await store.put(jobKeys(jobId).result('txt'), renderTxt(plain));
  await store.put(jobKeys(jobId).result('srt'), renderSrt(plain, transcript.words));
  await store.put(jobKeys(jobId).result('vtt'), renderVtt(plain, transcript.words));
}

/** A silent mono mp3 of `seconds` (8 kHz, 8 kb/s: about 1 MB per 17 minutes). */
export async function silentMp3(path: string, seconds: number): Promise<string> {
  await run('ffmpeg', ['-y', '-loglevel', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', String(seconds), '-c:a', 'libmp3lame', '-b:a', '8k', path]);
  return path;
}
