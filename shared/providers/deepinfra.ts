/**
 * DeepInfra native inference `POST {base}/v1/inference/{model}` (multipart, field `audio`).
 * DeepInfra publishes no OpenAPI spec for it; fields follow the model's API page.
 */
import { z } from 'zod';
import type { ChunkTranscript } from '../core/types.js';
import type { Transcriber, TranscribeRequest } from '../ports.js';
import { unexpectedResponse } from './http-errors.js';
import { sendJsonRequest } from './http-request.js';

/** Configuration of the DeepInfra transcriber. */
export interface DeepInfraConfig {
  /** @default https://api.deepinfra.com */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** e.g. `mistralai/Voxtral-Small-24B-2507`. */
  readonly model: string;
  readonly fetch?: typeof fetch;
}

const VENDOR = 'deepinfra';

/**
 * Transcriber for DeepInfra's native inference API. Answers carry segments and words
 * (words as `{start,end,text}`) and the request's USD cost in `inference_status.cost`.
 * Limits are not documented: 25 MB per upload (the common STT cap) and 900 s per request
 * (a conservative share of Voxtral's 30-minute transcription window) are assumed.
 * `task: 'translate'` is sent as the endpoint's own `task=translate` (speech → English, same answer shape).
 */
export function createDeepInfraTranscriber(cfg: DeepInfraConfig): Transcriber {
  const modelPath = cfg.model.split('/').map(encodeURIComponent).join('/');
  const url = `${cfg.baseUrl.replace(/\/+$/, '')}/v1/inference/${modelPath}`;
  return {
    provider: VENDOR,
    model: cfg.model,
    capabilities: { timestamps: true, words: true, maxUploadBytes: 25 * 1024 * 1024, maxAudioSeconds: 900, translate: true },
    async transcribe(req, signal) {
      const form = new FormData();
      form.append('audio', new Blob([req.audio], { type: 'audio/flac' }), 'chunk.flac');
      form.append('task', req.task ?? 'transcribe');
      if (req.language) form.append('language', req.language);
      if (req.temperature !== undefined) form.append('temperature', String(req.temperature));
      const body = await sendJsonRequest({
        label: req.label,
        vendor: VENDOR,
        fetch: cfg.fetch ?? fetch,
        url,
        init: { method: 'POST', body: form, headers: cfg.apiKey ? { authorization: `bearer ${cfg.apiKey}` } : {} },
        signal,
      });
      return toTranscript(req, body, cfg.model);
    },
  };
}

const Timed = z.object({ start: z.number(), end: z.number(), text: z.string() }).loose();

const Response = z
  .object({
    text: z.string(),
    language: z.string().nullish(),
    segments: z.array(Timed).nullish(),
    words: z.array(Timed).nullish(),
    inference_status: z
      .object({ cost: z.number().nullish(), tokens_input: z.number().nullish(), tokens_generated: z.number().nullish() })
      .loose()
      .nullish(),
    input_length_ms: z.number().nullish(),
  })
  .loose();

function toTranscript(req: TranscribeRequest, body: unknown, model: string): ChunkTranscript {
  const parsed = Response.safeParse(body);
  if (!parsed.success) throw unexpectedResponse(req.label, VENDOR, parsed.error.message);
  const r = parsed.data;
  const status = r.inference_status;
  const segments = r.segments?.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() }));
  const words = req.words ? r.words?.map((w) => ({ word: w.text.trim(), start: w.start, end: w.end })) : undefined;
  return {
    text: r.text.trim(),
    ...(r.language ? { language: r.language } : {}),
    ...(segments && segments.length > 0 ? { segments } : {}),
    ...(words && words.length > 0 ? { words } : {}),
    provider: VENDOR,
    model,
    usage: {
      audioSeconds: r.input_length_ms ? r.input_length_ms / 1000 : req.durationSeconds,
      ...(status?.cost != null ? { costUsd: status.cost } : {}),
      ...(status?.tokens_input ? { inputTokens: status.tokens_input } : {}),
      ...(status?.tokens_generated ? { outputTokens: status.tokens_generated } : {}),
    },
  };
}
