/**
 * OpenRouter `POST {base}/audio/transcriptions` with the JSON encoding (`input_audio` base64),
 * which has no 25 MB multipart cap and carries the request's USD cost in `usage.cost`.
 */
import { z } from 'zod';
import type { ChunkTranscript } from '../core/types.js';
import type { Transcriber, TranscribeRequest } from '../ports.js';
import { unexpectedResponse } from './http-errors.js';
import { sendJsonRequest } from './http-request.js';

/** Configuration of the OpenRouter transcriber. */
export interface OpenRouterConfig {
  /** @default https://openrouter.ai/api/v1 */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** e.g. `mistralai/voxtral-mini-transcribe` (slug seen on mirrors only: keep it configuration). */
  readonly model: string;
  readonly fetch?: typeof fetch;
}

const VENDOR = 'openrouter';

/**
 * Transcriber for OpenRouter speech-to-text. Sends plain `json` requests: `verbose_json` only works
 * on OpenAI-compatible upstreams and Mistral is not one, so no timestamps (text is timed from the
 * cut plan). Limits: upstreams time out after 60 s of processing per request, so requests are kept
 * to 60 s of audio; 18 MB of FLAC stays under 25 MB once base64-encoded.
 */
export function createOpenRouterTranscriber(cfg: OpenRouterConfig): Transcriber {
  const url = `${cfg.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`;
  return {
    provider: VENDOR,
    model: cfg.model,
    capabilities: { timestamps: false, words: false, maxUploadBytes: 18 * 1024 * 1024, maxAudioSeconds: 60, translate: false },
    async transcribe(req, signal) {
      const payload = {
        model: cfg.model,
        input_audio: { data: Buffer.from(req.audio).toString('base64'), format: 'flac' },
        ...(req.language ? { language: req.language } : {}),
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      };
      const body = await sendJsonRequest({
        label: req.label,
        vendor: VENDOR,
        fetch: cfg.fetch ?? fetch,
        url,
        init: {
          method: 'POST',
          body: JSON.stringify(payload),
          headers: { 'content-type': 'application/json', ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) },
        },
        signal,
      });
      return toTranscript(req, body, cfg.model);
    },
  };
}

const Response = z
  .object({
    text: z.string(),
    language: z.string().nullish(),
    usage: z
      .object({
        seconds: z.number().nullish(),
        cost: z.number().nullish(),
        input_tokens: z.number().nullish(),
        output_tokens: z.number().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

function toTranscript(req: TranscribeRequest, body: unknown, model: string): ChunkTranscript {
  const parsed = Response.safeParse(body);
  if (!parsed.success) throw unexpectedResponse(req.label, VENDOR, parsed.error.message);
  const { text, language, usage } = parsed.data;
  return {
    text: text.trim(),
    ...(language ? { language } : {}),
    provider: VENDOR,
    model,
    usage: {
      audioSeconds: usage?.seconds ?? req.durationSeconds,
      ...(usage?.cost != null ? { costUsd: usage.cost } : {}),
      ...(usage?.input_tokens != null ? { inputTokens: usage.input_tokens } : {}),
      ...(usage?.output_tokens != null ? { outputTokens: usage.output_tokens } : {}),
    },
  };
}
