/**
 * Runs the embedded pipeline (the CLI's composition root) against a provider double that decodes
 * tone-language audio, and compares what comes out with the generated truth.
 */
import { createLocalPipeline } from '../../cli/local-pipeline.js';
import { loadConfig } from '../../shared/config.js';
import type { Transcript, Word } from '../../shared/core/types.js';
import type { Logger } from '../../shared/ports.js';
import { scratchDir } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { type FaultPlan, type ProviderDouble, type ProviderDoubleOptions, startProviderDouble, type Vendor } from '../doubles/provider-server.js';

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const PROVIDER_OF: Record<Vendor, { provider: string; model: string }> = {
  'openai-compatible': { provider: 'openai-compatible', model: 'whisper-1' },
  vllm: { provider: 'openai-compatible', model: 'mistralai/Voxtral-Mini-3B-2507' },
  mistral: { provider: 'mistral', model: 'voxtral-mini-latest' },
  openrouter: { provider: 'openrouter', model: 'mistralai/voxtral-mini-transcribe' },
  deepinfra: { provider: 'deepinfra', model: 'mistralai/Voxtral-Small-24B-2507' },
};

export interface LocalRun {
  readonly double: ProviderDouble;
  readonly workDir: string;
  transcribe(file: string, opts?: { words?: boolean; force?: boolean; diarize?: boolean }): Promise<Transcript>;
  close(): Promise<void>;
}

/** A provider double for `vendor` plus a local pipeline pointed at it. */
export async function startLocalRun(opts: {
  vendor: Vendor;
  chunkSeconds?: number;
  concurrency?: number;
  faults?: FaultPlan;
  timeoutSeconds?: number;
  workDir?: string;
  double?: ProviderDouble;
  /** Model id instead of the vendor's usual one in these tests. */
  model?: string;
  /** More VOXPIPE_* settings. */
  env?: Record<string, string>;
  /** A misbehaving model (see `misbehavingModel`). */
  distort?: ProviderDoubleOptions['distort'];
  guard?: 'retry' | 'off';
}): Promise<LocalRun> {
  const double =
    opts.double ?? (await startProviderDouble({ vendor: opts.vendor, recognize: recognizeTones, faults: opts.faults, apiKey: 'test-key', distort: opts.distort }));
  const workDir = opts.workDir ?? (await scratchDir('e2e'));
  const { provider } = PROVIDER_OF[opts.vendor];
  const model = opts.model ?? PROVIDER_OF[opts.vendor].model;
  const config = loadConfig({
    VOXPIPE_PROVIDER: provider,
    VOXPIPE_MODEL: model,
    VOXPIPE_BASE_URL: double.url,
    VOXPIPE_API_KEY: 'test-key',
    VOXPIPE_WORK_DIR: workDir,
    VOXPIPE_CONCURRENCY: String(opts.concurrency ?? 4),
    VOXPIPE_CHUNK_SECONDS: String(opts.chunkSeconds ?? 60),
    VOXPIPE_TIMEOUT_SECONDS: String(opts.timeoutSeconds ?? 10),
    ...opts.env,
  });
  const pipeline = createLocalPipeline({ config, logger: silentLogger, guard: opts.guard });
  return {
    double,
    workDir,
    async transcribe(file, run = {}) {
      const result = await pipeline.transcribe(file, 'x', { words: run.words ?? true, diarize: run.diarize ?? false, force: run.force ?? false });
      return result.transcript;
    },
    close: () => double.close(),
  };
}

/** The words a transcript holds, in order: timed words when present, else the text's tokens. */
export function transcriptWords(t: Transcript): string[] {
  if (t.words?.length) return t.words.map((w) => w.word);
  return t.text.split(/\s+/).filter(Boolean);
}

/** Largest distance between transcript word times and the truth (the sequences must match first). */
export function maxWordTimeError(words: readonly Word[], truth: readonly Word[]): number {
  let worst = 0;
  words.forEach((w, i) => {
    const t = truth[i];
    if (!t) return;
    worst = Math.max(worst, Math.abs(w.start - t.start), Math.abs(w.end - t.end));
  });
  return worst;
}

/**
 * For cut-plan timing: each segment's start/end against the truth words it holds (matched in order), split into
 * edges that lie at a pause in the truth and edges inside continuous speech (forced cuts).
 */
export function segmentEdgeErrors(t: Transcript, truth: readonly Word[]): { atPauses: number[]; atForcedCuts: number[] } {
  const atPauses: number[] = [];
  const atForcedCuts: number[] = [];
  let cursor = 0;
  const gapBefore = (i: number) => (i === 0 ? Infinity : truth[i]!.start - truth[i - 1]!.end);
  const gapAfter = (i: number) => (i === truth.length - 1 ? Infinity : truth[i + 1]!.start - truth[i]!.end);
  for (const seg of t.segments) {
    const n = seg.text.split(/\s+/).filter(Boolean).length;
    const i = cursor;
    const j = cursor + n - 1;
    cursor += n;
    const first = truth[i];
    const last = truth[j];
    if (!first || !last) continue;
    (gapBefore(i) >= 0.3 ? atPauses : atForcedCuts).push(Math.abs(seg.start - first.start));
    (gapAfter(j) >= 0.3 ? atPauses : atForcedCuts).push(Math.abs(seg.end - last.end));
  }
  return { atPauses, atForcedCuts };
}
