/**
 * `POST {base}/audio/transcriptions` (and, for `task: 'translate'`, `POST {base}/audio/translations`, speech → English)
 * of OpenAI-compatible servers (OpenAI, vLLM, Groq, Together, …)
 * through the `openai` SDK, with SDK retries off: the call policy retries.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError, toFile } from 'openai';
import { z } from 'zod';
import { TransientError } from '../core/errors.js';
import type { ChunkTranscript, Word } from '../core/types.js';
import type { Transcriber, TranscriberCapabilities, TranscribeRequest } from '../ports.js';
import { httpStatusError, providerErrorMessage, requestFailure, unexpectedResponse } from './http-errors.js';

/** Configuration of an OpenAI-compatible transcriber. */
export interface OpenAICompatibleConfig {
  /** Base URL including the version path, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string;
  /** Bearer key. Self-hosted servers often need none. */
  readonly apiKey?: string;
  readonly model: string;
  /** Whether to ask for `verbose_json` segment timestamps. @default true */
  readonly timestamps?: boolean;
  readonly fetch?: typeof fetch;
}

const VENDOR = 'openai-compatible';

/**
 * Transcriber for OpenAI-compatible servers. Asks for `verbose_json` with segment (and, on request,
 * word) timestamps. A server that rejects `verbose_json` (vLLM serving Voxtral answers 400
 * "Currently do not support verbose_json for …") is remembered per instance: this and later chunks
 * use plain `json`, without segments, and carry a warning so the pipeline times text from the cut plan.
 * Translations follow the same rule (one server, one answer about `verbose_json`).
 */
export function createOpenAICompatibleTranscriber(cfg: OpenAICompatibleConfig): Transcriber {
  const errorBodies = new WeakMap<Headers, string>();
  const client = new OpenAI({
    apiKey: cfg.apiKey ?? 'none',
    baseURL: cfg.baseUrl,
    maxRetries: 0,
    timeout: 24 * 3600_000, // the call policy owns timeouts and aborts through the signal
    fetch: keepErrorBodies(cfg.fetch ?? fetch, errorBodies),
  });
  let verboseRejected: string | undefined;
  const wantsTimestamps = cfg.timestamps ?? true;
  const capabilities = (): TranscriberCapabilities => {
    const timestamps = wantsTimestamps && verboseRejected === undefined;
    return { timestamps, words: timestamps, maxUploadBytes: 25 * 1024 * 1024, maxAudioSeconds: 1500, translate: true };
  };

  async function call(req: TranscribeRequest, signal: AbortSignal, verbose: boolean): Promise<unknown> {
    const granularities: ('segment' | 'word')[] = req.words ? ['segment', 'word'] : ['segment'];
    try {
      const file = await toFile(Buffer.from(req.audio), 'chunk.flac', { type: 'audio/flac' });
      if (req.task === 'translate') {
        // CreateTranslationRequest has no `language` or `timestamp_granularities`: segments come with verbose_json.
        return await client.audio.translations.create({ file, model: cfg.model, response_format: verbose ? 'verbose_json' : 'json' }, { signal });
      }
      return await client.audio.transcriptions.create(
        {
          file,
          model: cfg.model,
          ...(req.language ? { language: req.language } : {}),
          ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
          ...(verbose ? { response_format: 'verbose_json', timestamp_granularities: granularities } : { response_format: 'json' }),
        },
        { signal },
      );
    } catch (err) {
      throw translate(req.label, err, errorBodies);
    }
  }

  return {
    provider: VENDOR,
    model: cfg.model,
    get capabilities() {
      return capabilities();
    },
    async transcribe(req, signal) {
      if (!wantsTimestamps) return toTranscript(req, await call(req, signal, false), cfg.model, []);
      if (verboseRejected === undefined) {
        try {
          return toTranscript(req, await call(req, signal, true), cfg.model, []);
        } catch (err) {
          const reason = verboseRejection(err, errorBodies);
          if (reason === undefined) throw err;
          verboseRejected = reason;
        }
      }
      const warning = `server rejected verbose_json (${verboseRejected}); no provider timestamps, timing from the cut plan`;
      return toTranscript(req, await call(req, signal, false), cfg.model, [warning]);
    },
  };
}

const Usage = z.union([
  z.object({ type: z.literal('duration'), seconds: z.coerce.number() }).loose(),
  z.object({ type: z.literal('tokens'), input_tokens: z.number(), output_tokens: z.number() }).loose(),
  z.object({}).loose(),
]);

const Response = z
  .object({
    text: z.string(),
    language: z.string().nullish(),
    segments: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() }).loose()).nullish(),
    words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() }).loose()).nullish(),
    usage: Usage.nullish(),
  })
  .loose();

function toTranscript(req: TranscribeRequest, body: unknown, model: string, warnings: string[]): ChunkTranscript {
  const parsed = Response.safeParse(body);
  if (!parsed.success) throw unexpectedResponse(req.label, VENDOR, parsed.error.message);
  const r = parsed.data;
  const usage = r.usage ?? {};
  const words: Word[] | undefined = req.words ? r.words?.map((w) => ({ word: w.word.trim(), start: w.start, end: w.end })) : undefined;
  return {
    text: r.text.trim(),
    ...(r.language ? { language: r.language } : {}),
    ...(r.segments ? { segments: r.segments.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })) } : {}),
    ...(words ? { words } : {}),
    provider: VENDOR,
    model,
    usage: {
      audioSeconds: 'seconds' in usage && typeof usage.seconds === 'number' ? usage.seconds : req.durationSeconds,
      ...('input_tokens' in usage && typeof usage.input_tokens === 'number' ? { inputTokens: usage.input_tokens } : {}),
      ...('output_tokens' in usage && typeof usage.output_tokens === 'number' ? { outputTokens: usage.output_tokens } : {}),
    },
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** The server's reason when `err` is a 400 refusing `verbose_json` / `response_format`. */
function verboseRejection(err: unknown, bodies: WeakMap<Headers, string>): string | undefined {
  const apiError = err instanceof Error ? err.cause : undefined;
  if (!(apiError instanceof APIError) || apiError.status !== 400) return undefined;
  const message = errorText(apiError, bodies);
  return /verbose_json|response_format/i.test(message) ? message : undefined;
}

function translate(label: string, err: unknown, bodies: WeakMap<Headers, string>): Error {
  if (err instanceof APIError && err.status !== undefined && err.headers) {
    return httpStatusError(label, VENDOR, err.status, errorText(err, bodies), { headers: err.headers, cause: err });
  }
  if (err instanceof APIUserAbortError) {
    return new TransientError(`${label}: ${VENDOR} request aborted (timed out or cancelled)`, { cause: err });
  }
  // Connection errors wrap the fetch failure (reset, refused, truncated body) in `cause`.
  return requestFailure(label, VENDOR, err instanceof APIConnectionError && err.cause !== undefined ? err.cause : err);
}

/** The provider's message. The SDK keeps only `body.error`, so flat vLLM `{message}` bodies are read from the raw text. */
function errorText(err: APIError, bodies: WeakMap<Headers, string>): string {
  const raw = err.headers ? bodies.get(err.headers) : undefined;
  let body: unknown = raw;
  try {
    body = raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    // plain-text body
  }
  return providerErrorMessage(body) ?? providerErrorMessage({ error: err.error }) ?? err.message;
}

/** Wrap fetch so the raw body of an error response can be read after the SDK has consumed it. */
function keepErrorBodies(inner: typeof fetch, bodies: WeakMap<Headers, string>): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (!res.ok) bodies.set(res.headers, await res.clone().text());
    return res;
  };
}
