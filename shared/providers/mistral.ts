/**
 * Mistral La Plateforme native `POST {base}/v1/audio/transcriptions` (multipart), with raw fetch:
 * Mistral expects array fields as repeated keys without `[]`, which the openai SDK cannot send.
 */
import { z } from 'zod';
import type { ChunkTranscript } from '../core/types.js';
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
  /** Words or phrases to bias recognition towards (≤ 100). Spaces and commas become `_`, as Mistral asks. */
  readonly contextBias?: readonly string[];
  readonly fetch?: typeof fetch;
}

const VENDOR = 'mistral';

/**
 * Transcriber for Mistral's Voxtral transcription models. Requests `segment` timestamps only:
 * Voxtral 3 answers 400 to `word`, and the response has no field for words anyway.
 * Limits: the transcription upload cap is undocumented (Files API: 512 MB), so 100 MB is assumed;
 * 900 s per request stays inside the "≈15 minutes" documented for Voxtral Mini Transcribe and Small
 * (Transcribe 2 takes ≈3 h, but short requests retry cheaper).
 */
export function createMistralTranscriber(cfg: MistralConfig): Transcriber {
  const timestamps = cfg.timestamps ?? true;
  const url = `${cfg.baseUrl.replace(/\/+$/, '')}/v1/audio/transcriptions`;
  const contextBias = (cfg.contextBias ?? []).map((t) => t.trim().replace(/[\s,]+/g, '_')).filter(Boolean).slice(0, 100);
  return {
    provider: VENDOR,
    model: cfg.model,
    capabilities: { timestamps, words: false, maxUploadBytes: 100 * 1024 * 1024, maxAudioSeconds: 900, translate: false },
    async transcribe(req, signal) {
      const warnings: string[] = [];
      const form = new FormData();
      form.append('model', cfg.model);
      form.append('file', new Blob([req.audio], { type: 'audio/flac' }), 'chunk.flac');
      if (timestamps) form.append('timestamp_granularities', 'segment');
      if (req.language && !timestamps) form.append('language', req.language);
      if (req.language && timestamps) {
        warnings.push(`language hint '${req.language}' not sent: Mistral does not accept a language together with timestamps`);
      }
      if (req.diarize) form.append('diarize', 'true');
      for (const term of contextBias) form.append('context_bias', term);
      const body = await sendJsonRequest({
        label: req.label,
        vendor: VENDOR,
        fetch: cfg.fetch ?? fetch,
        url,
        init: { method: 'POST', body: form, headers: authHeaders(cfg.apiKey) },
        signal,
      });
      return toTranscript(req, body, cfg.model, warnings);
    },
  };
}

const Response = z
  .object({
    model: z.string().nullish(),
    text: z.string(),
    language: z.string().nullish(),
    segments: z
      .array(z.object({ text: z.string(), start: z.number(), end: z.number(), speaker_id: z.string().nullish() }).loose())
      .nullish(),
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

function toTranscript(req: TranscribeRequest, body: unknown, model: string, warnings: string[]): ChunkTranscript {
  const parsed = Response.safeParse(body);
  if (!parsed.success) throw unexpectedResponse(req.label, VENDOR, parsed.error.message);
  const r = parsed.data;
  const segments = r.segments?.map((s) => ({
    start: s.start,
    end: s.end,
    text: s.text.trim(),
    ...(s.speaker_id ? { speaker: s.speaker_id } : {}),
  }));
  return {
    text: r.text.trim(),
    ...(r.language ? { language: r.language } : {}),
    ...(segments && segments.length > 0 ? { segments } : {}),
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

function authHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}
