/**
 * Mistral La Plateforme native `POST {base}/v1/audio/transcriptions` (multipart), with raw fetch:
 * Mistral expects array fields as repeated keys without `[]`, which the openai SDK cannot send.
 *
 * Voxtral 3 (`voxtral-mini-transcribe-3`, `voxtral-small-transcribe-3`, their `-latest` aliases) changed the API:
 * - `timestamp_granularities=word` is a 400 (segment only);
 * - a 65,536-token context window shared by the audio and `context_bias` (400 when exceeded, nothing is cut);
 * - diarization requires `segment` granularity.
 * Capabilities are learnt per model: a 400 that names a granularity drops that granularity for the model (for the
 * life of the process), the call is made again without it, and the chunk gets a warning. A job never fails
 * because a model dropped a granularity.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors.js';
import type { ChunkTranscript, Segment, Word } from '../core/types.js';
import type { Transcriber, TranscribeRequest } from '../ports.js';
import { unexpectedResponse } from './http-errors.js';
import { sendJsonRequest } from './http-request.js';

/** Configuration of the Mistral transcriber. */
export interface MistralConfig {
  /** @default https://api.mistral.ai (also `https://api.eu.mistral.ai`, `https://api.us.mistral.ai`) */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** e.g. `voxtral-mini-latest`, `voxtral-mini-transcribe-3`. Model ids change often: keep them configuration. */
  readonly model: string;
  /**
   * Ask for segment timestamps. @default true
   * Mistral documents `timestamp_granularities` as not compatible with `language`, so with timestamps
   * on the language hint is not sent (the chunk gets a warning); with timestamps off it is.
   */
  readonly timestamps?: boolean;
  /** Words or phrases to bias recognition towards (≤ 100), for every request; a request's `vocabulary` adds to it. */
  readonly contextBias?: readonly string[];
  readonly fetch?: typeof fetch;
}

const VENDOR = 'mistral';

/**
 * Audio tokens per second of a Voxtral model: the Whisper-style encoder makes 50 frames/s, downsampled 4× before
 * the decoder (Voxtral model card: 32k tokens ≈ 40 min of audio).
 */
export const AUDIO_TOKENS_PER_SECOND = 12.5;
/** Tokens kept free for the request's own prompt tokens (instruction, language, special tokens). */
const PROMPT_RESERVE_TOKENS = 256;
/** Most `context_bias` entries Mistral accepts. */
const MAX_CONTEXT_BIAS = 100;
/** Longest audio per request voxpipe sends (see `createMistralTranscriber`). */
const MAX_AUDIO_SECONDS = 900;

/** True for Voxtral 3 transcription models (and their aliases). */
export function isVoxtral3(model: string): boolean {
  return /^voxtral-(mini|small)-transcribe-(3|latest)(\b|-)/.test(model);
}

/** What voxpipe knows about a Mistral transcription model before it has called it. */
export interface MistralModelLimits {
  /** Context window shared by audio and `context_bias`, when documented. */
  readonly contextTokens?: number;
  /** Granularities the model is known to reject. */
  readonly rejects: readonly Granularity[];
}

type Granularity = 'segment' | 'word';

/** Documented limits of `model` (Voxtral 3: 65,536-token context, no word timestamps). */
export function mistralModelLimits(model: string): MistralModelLimits {
  return isVoxtral3(model) ? { contextTokens: 65_536, rejects: ['word'] } : { rejects: [] };
}

/**
 * Tokens `vocabulary` takes in the context: a conservative count of about one token per 3 characters
 * (Mistral's tokenizer averages about 4 on English) plus a separator per entry.
 */
export function vocabularyTokens(vocabulary: readonly string[]): number {
  return vocabulary.reduce((sum, term) => sum + Math.ceil(term.length / 3) + 1, 0);
}

/** Estimated context tokens of one request: audio seconds × tokens per second, plus `context_bias`, plus the prompt. */
export function requestTokens(audioSeconds: number, vocabulary: readonly string[]): number {
  return Math.ceil(audioSeconds * AUDIO_TOKENS_PER_SECOND) + vocabularyTokens(vocabulary) + PROMPT_RESERVE_TOKENS;
}

/** Mistral's spelling of a bias term: no spaces or commas (multi-word terms joined with `_`). */
export function contextBiasTerms(terms: readonly string[]): string[] {
  const out = terms.map((t) => t.trim().replace(/[\s,]+/g, '_')).filter(Boolean);
  return [...new Set(out)].slice(0, MAX_CONTEXT_BIAS);
}

/**
 * Transcriber for Mistral's Voxtral transcription models. Requests `segment` timestamps, plus `word` when the
 * request asks for words and the model has not rejected them. Word times the model did not give are estimated
 * inside their segment and marked `estimated: true`.
 * Limits: the transcription upload cap is undocumented (Files API: 512 MB), so 100 MB is assumed;
 * 900 s per request stays inside the "≈15 minutes" documented for Voxtral Mini Transcribe and Small
 * (Transcribe 2 takes ≈3 h, but short requests retry cheaper) and far inside Voxtral 3's context
 * (900 s ≈ 11,250 audio tokens of 65,536).
 */
export function createMistralTranscriber(cfg: MistralConfig): Transcriber {
  const timestamps = cfg.timestamps ?? true;
  const url = `${cfg.baseUrl.replace(/\/+$/, '')}/v1/audio/transcriptions`;
  const limits = mistralModelLimits(cfg.model);
  /** Granularities this model rejected (documented ones up front, learnt ones from 400s). */
  const dropped = new Set<Granularity>(limits.rejects);
  const maxAudioSeconds = limits.contextTokens
    ? Math.min(MAX_AUDIO_SECONDS, Math.floor((limits.contextTokens - PROMPT_RESERVE_TOKENS - vocabularyTokens(contextBiasTerms(cfg.contextBias ?? []))) / AUDIO_TOKENS_PER_SECOND))
    : MAX_AUDIO_SECONDS;

  return {
    provider: VENDOR,
    model: cfg.model,
    capabilities: { timestamps, words: !dropped.has('word'), maxUploadBytes: 100 * 1024 * 1024, maxAudioSeconds, translate: false },
    async transcribe(req, signal) {
      const warnings: string[] = [];
      const contextBias = contextBiasTerms([...(cfg.contextBias ?? []), ...(req.vocabulary ?? [])]);
      const given = [...(cfg.contextBias ?? []), ...(req.vocabulary ?? [])].filter((t) => t.trim() !== '').length;
      if (given > contextBias.length && given > MAX_CONTEXT_BIAS) {
        warnings.push(`vocabulary has ${given} entries; Mistral takes ${MAX_CONTEXT_BIAS}, the first ${MAX_CONTEXT_BIAS} were sent`);
      }
      checkContext(req, contextBias, limits);
      const wantWords = req.words === true;
      for (;;) {
        const granularities = wanted(req, timestamps, dropped);
        try {
          const body = await sendJsonRequest({
            label: req.label,
            vendor: VENDOR,
            fetch: cfg.fetch ?? fetch,
            url,
            init: { method: 'POST', body: form(cfg.model, req, granularities, contextBias, warnings), headers: authHeaders(cfg.apiKey) },
            signal,
          });
          if (wantWords && dropped.has('word')) {
            warnings.push(`${cfg.model} gives no word timestamps: word times are estimated inside each segment (marked estimated)`);
          }
          return toTranscript(req, body, cfg.model, [...new Set(warnings)], wantWords);
        } catch (err) {
          const rejected = rejectedGranularity(err, granularities);
          if (!rejected) throw err;
          dropped.add(rejected);
          warnings.push(`${cfg.model} rejected timestamp granularity '${rejected}' (400); not asked for again`);
          if (rejected === 'segment' && req.diarize) warnings.push(`speaker labels not available: ${cfg.model} diarizes only with segment timestamps`);
        }
      }
    },
  };
}

/** Granularities to ask for: `segment` for timestamps or diarization (Voxtral 3 needs it for speakers), `word` on request. */
function wanted(req: TranscribeRequest, timestamps: boolean, dropped: ReadonlySet<Granularity>): Granularity[] {
  const out: Granularity[] = [];
  if ((timestamps || req.diarize || req.words) && !dropped.has('segment')) out.push('segment');
  if (req.words && !dropped.has('word')) out.push('word');
  return out;
}

function form(model: string, req: TranscribeRequest, granularities: readonly Granularity[], contextBias: readonly string[], warnings: string[]): FormData {
  const f = new FormData();
  f.append('model', model);
  f.append('file', new Blob([req.audio], { type: 'audio/flac' }), 'chunk.flac');
  for (const g of granularities) f.append('timestamp_granularities', g);
  const timed = granularities.length > 0;
  if (req.language && !timed) f.append('language', req.language);
  if (req.language && timed) {
    warnings.push(`language hint '${req.language}' not sent: Mistral does not accept a language together with timestamps`);
  }
  // Diarization labels segments: without segment granularity Voxtral 3 refuses it, so it is not asked for.
  if (req.diarize && granularities.includes('segment')) f.append('diarize', 'true');
  if (req.temperature !== undefined) f.append('temperature', String(req.temperature));
  for (const term of contextBias) f.append('context_bias', term);
  return f;
}

/** A 400 whose message names one of the granularities sent (`word`, `segment`, or `timestamp_granularities` alone). */
function rejectedGranularity(err: unknown, sent: readonly Granularity[]): Granularity | undefined {
  if (!(err instanceof PermanentError) || !/\bmistral 400\b/.test(err.message)) return undefined;
  const detail = err.message.slice(err.message.indexOf('mistral 400') + 'mistral 400'.length).toLowerCase();
  if (sent.includes('word') && /\bword/.test(detail)) return 'word';
  if (sent.includes('segment') && /\bsegment/.test(detail)) return 'segment';
  if (/granularit/.test(detail)) return sent.includes('word') ? 'word' : sent[0];
  return undefined;
}

/** Refuse before calling when the chunk cannot fit the model's context: the 400 would come anyway. */
function checkContext(req: TranscribeRequest, contextBias: readonly string[], limits: MistralModelLimits): void {
  if (!limits.contextTokens) return;
  const tokens = requestTokens(req.durationSeconds, contextBias);
  if (tokens <= limits.contextTokens) return;
  throw new PermanentError(
    `${req.label}: ${req.durationSeconds.toFixed(1)} s of audio (≈${Math.ceil(req.durationSeconds * AUDIO_TOKENS_PER_SECOND)} tokens at ${AUDIO_TOKENS_PER_SECOND}/s) plus ${contextBias.length} vocabulary entries (≈${vocabularyTokens(contextBias)} tokens) exceed the model's ${limits.contextTokens}-token context; use shorter chunks (VOXPIPE_CHUNK_SECONDS) or a shorter vocabulary`,
  );
}

const Response = z
  .object({
    model: z.string().nullish(),
    text: z.string(),
    language: z.string().nullish(),
    segments: z
      .array(z.object({ text: z.string(), start: z.number(), end: z.number(), speaker_id: z.string().nullish() }).loose())
      .nullish(),
    /** Not in the published schema; read when a model returns it. */
    words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() }).loose()).nullish(),
    usage: z
      .object({
        prompt_audio_seconds: z.number().nullish(),
        prompt_tokens: z.number().nullish(),
        completion_tokens: z.number().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

function toTranscript(req: TranscribeRequest, body: unknown, model: string, warnings: string[], wantWords: boolean): ChunkTranscript {
  const parsed = Response.safeParse(body);
  if (!parsed.success) throw unexpectedResponse(req.label, VENDOR, parsed.error.message);
  const r = parsed.data;
  const segments: Segment[] | undefined = r.segments?.map((s) => ({
    start: s.start,
    end: s.end,
    text: s.text.trim(),
    ...(s.speaker_id ? { speaker: s.speaker_id } : {}),
  }));
  const measured = r.words?.map((w) => ({ word: w.word.trim(), start: w.start, end: w.end })).filter((w) => w.word !== '');
  const words = wantWords ? (measured && measured.length > 0 ? measured : estimateWords(segments ?? [])) : undefined;
  if (wantWords && (!measured || measured.length === 0) && !warnings.some((w) => w.includes('estimated'))) {
    warnings.push(`${model} returned no word timestamps: word times are estimated inside each segment (marked estimated)`);
  }
  return {
    text: r.text.trim(),
    ...(r.language ? { language: r.language } : {}),
    ...(segments && segments.length > 0 ? { segments } : {}),
    ...(words && words.length > 0 ? { words } : {}),
    provider: VENDOR,
    model,
    usage: {
      audioSeconds: r.usage?.prompt_audio_seconds ?? req.durationSeconds,
      ...(r.usage?.prompt_tokens != null ? { inputTokens: r.usage.prompt_tokens } : {}),
      ...(r.usage?.completion_tokens != null ? { outputTokens: r.usage.completion_tokens } : {}),
    },
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Words of each segment placed inside it in proportion to their length (characters + 1), marked `estimated`.
 * Never presented as measured: a renderer or a user can tell them apart.
 */
export function estimateWords(segments: readonly Segment[]): Word[] {
  const out: Word[] = [];
  for (const s of segments) {
    const tokens = s.text.split(/\s+/).filter(Boolean);
    const weights = tokens.map((t) => t.length + 1);
    const total = weights.reduce((a, b) => a + b, 0);
    const span = Math.max(0, s.end - s.start);
    let t = s.start;
    tokens.forEach((word, i) => {
      const d = total > 0 ? (span * (weights[i] ?? 0)) / total : 0;
      out.push({ word, start: t, end: t + d, estimated: true });
      t += d;
    });
  }
  return out;
}

function authHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}
