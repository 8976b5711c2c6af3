/**
 * The wire protocol of each vendor the provider double imitates: route, auth, request schema,
 * error body and answer shape. Shapes follow the vendor specs in test/specs/ and test/specs/API-CONTRACTS.md.
 */
import type { Word } from '../../shared/core/types.js';
import { decodeForm } from './form-fields.js';
import { type BodyValidator, schemaValidator, specRequestValidator } from './openapi-validator.js';

/** Vendors the double speaks. `vllm` is vLLM serving Voxtral: OpenAI routes, no `verbose_json`. */
export type Vendor = 'openai-compatible' | 'vllm' | 'mistral' | 'openrouter' | 'deepinfra';

/** A decoded, validated request. */
export interface DecodedRequest {
  readonly body: Record<string, unknown>;
  readonly audio?: Uint8Array;
  /** Schema violations; non-empty means the double answers `validationStatus`. */
  readonly errors: string[];
}

/** What the double answers. A string body is sent as text/plain. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** One vendor's protocol. */
export interface VendorProtocol {
  /** Path prefix of the base URL as the vendor documents it (`/v1`, `/api/v1`, or empty). */
  readonly basePath: string;
  readonly validationStatus: number;
  /** True for the transcription route (and the speech translation route where the vendor has one). */
  route(method: string, path: string): boolean;
  decode(request: Request): Promise<DecodedRequest>;
  errorBody(status: number, message: string): unknown;
  /** A refusal the schema cannot express (vLLM and `verbose_json`, Mistral and `language` + timestamps). */
  refuse?(body: Record<string, unknown>): Answer | undefined;
  /** `path` tells a translation request (`/v1/audio/translations`) from a transcription one. */
  answer(body: Record<string, unknown>, words: readonly Word[], audioSeconds: number, path: string, ctx?: AnswerContext): Answer;
  /**
   * Parse the spec and compile the validators now (the OpenAI document is 3 MB), so that cost is paid
   * when the double starts, not inside the first request, where a busy machine would time the client out.
   */
  warm?(): void;
}

/** Per-request facts an answer may use: the call's arrival number and a diarization oracle. */
export interface AnswerContext {
  readonly call: number;
  readonly speakerOf?: (word: string) => number;
}

/** How the doubles "translate" speech into English: each recognized word prefixed `en:`. */
export function speechTranslation(words: readonly Word[]): Word[] {
  return words.map((w) => ({ ...w, word: `en:${w.word}` }));
}

/** The protocol for `vendor`. */
export function vendorProtocol(vendor: Vendor): VendorProtocol {
  return PROTOCOLS[vendor]();
}

const PROTOCOLS: Record<Vendor, () => VendorProtocol> = {
  'openai-compatible': () => openAI(false),
  vllm: () => openAI(true),
  mistral,
  openrouter,
  deepinfra,
};

const TRANSLATIONS_PATH = '/v1/audio/translations';

function openAI(vllm: boolean): VendorProtocol {
  const errorBody = (status: number, message: string) =>
    vllm
      ? { object: 'error', message, type: status === 400 ? 'BadRequestError' : 'Error', param: null, code: status }
      : { error: { message, type: status === 429 ? 'rate_limit_error' : 'invalid_request_error', param: null, code: null } };
  return {
    basePath: '/v1',
    validationStatus: 400,
    route: (method, path) => method === 'POST' && (path === '/v1/audio/transcriptions' || path === TRANSLATIONS_PATH),
    decode: (request) => {
      const route = new URL(request.url).pathname === TRANSLATIONS_PATH ? '/audio/translations' : '/audio/transcriptions';
      return decodeMultipart(request, () => specRequestValidator('openai', route, 'multipart/form-data'));
    },
    warm: () => {
      specRequestValidator('openai', '/audio/transcriptions', 'multipart/form-data');
      specRequestValidator('openai', '/audio/translations', 'multipart/form-data');
    },
    errorBody,
    refuse(body) {
      if (vllm && body.response_format === 'verbose_json') {
        return { status: 400, body: errorBody(400, `Currently do not support verbose_json for voxtral (model ${String(body.model)})`) };
      }
      return undefined;
    },
    answer(body, heard, seconds, path) {
      const translation = path === TRANSLATIONS_PATH;
      const words = translation ? speechTranslation(heard) : heard;
      const text = joinWords(words);
      const usage = { type: 'duration', seconds: Math.ceil(seconds) };
      if (body.response_format === 'text') return { status: 200, body: text };
      // CreateTranslationResponseJson / …VerboseJson carry no usage; verbose segments only, no words.
      if (body.response_format !== 'verbose_json') return { status: 200, body: translation ? { text } : { text, usage } };
      if (translation) {
        const segments = segmentsOf(words).map((s, id) => ({
          id, seek: 0, start: s.start, end: s.end, text: ` ${s.text}`, tokens: [],
          temperature: 0, avg_logprob: -0.2, compression_ratio: 1.1, no_speech_prob: 0.01,
        }));
        return { status: 200, body: { language: 'english', duration: seconds, text, segments } };
      }
      const granularities = (body.timestamp_granularities as string[] | undefined) ?? ['segment'];
      return {
        status: 200,
        body: {
          task: 'transcribe',
          language: 'english',
          duration: seconds,
          text,
          ...(granularities.includes('segment')
            ? {
                segments: segmentsOf(words).map((s, id) => ({
                  id, seek: 0, start: s.start, end: s.end, text: ` ${s.text}`, tokens: [],
                  temperature: 0, avg_logprob: -0.2, compression_ratio: 1.1, no_speech_prob: 0.01,
                })),
              }
            : {}),
          ...(granularities.includes('word') ? { words: words.map((w) => ({ word: w.word, start: w.start, end: w.end })) } : {}),
          usage,
        },
      };
    },
  };
}

function mistral(): VendorProtocol {
  const errorBody = (status: number, message: string) =>
    status === 422
      ? { detail: [{ loc: ['body'], msg: message, type: 'value_error' }] }
      : { object: 'error', message, type: status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : 'invalid_request_error', param: null, code: null };
  return {
    basePath: '',
    validationStatus: 422,
    route: (method, path) => method === 'POST' && path === '/v1/audio/transcriptions',
    // Strict fields: Mistral would silently ignore `timestamp_granularities[]` and return no segments.
    decode: (request) =>
      decodeMultipart(request, () => specRequestValidator('mistral', '/v1/audio/transcriptions', 'multipart/form-data', true), {
        bracketArrays: false,
      }),
    warm: () => {
      specRequestValidator('mistral', '/v1/audio/transcriptions', 'multipart/form-data', true);
    },
    errorBody,
    refuse(body) {
      const granularities = (body.timestamp_granularities as string[] | undefined) ?? [];
      const v3 = isVoxtral3Model(String(body.model));
      // Voxtral 3 (migration guide): "`timestamp_granularities` accepts `segment` only, and `word` returns a 400 error."
      if (v3 && granularities.includes('word')) {
        return { status: 400, body: errorBody(400, "Invalid timestamp_granularities: 'word' is not supported by this model; use 'segment'") };
      }
      // Diarize speakers: "Diarization labels segments, so the request fails without segment timestamps."
      if (v3 && body.diarize === true && !granularities.includes('segment')) {
        return { status: 400, body: errorBody(400, 'diarize requires timestamp_granularities=segment') };
      }
      if (granularities.length > 0 && body.language != null) {
        return { status: 400, body: errorBody(400, 'timestamp_granularities is not compatible with language') };
      }
      if (body.file === undefined) return { status: 400, body: errorBody(400, 'one of file, file_url or file_id is required') };
      return undefined;
    },
    answer(body, words, seconds, _path, ctx) {
      if (isVoxtral3Model(String(body.model))) {
        // Limits page: "Context window, shared by the audio and `context_bias`: 65,536 tokens → 400 error, nothing is cut".
        const bias = (body.context_bias as string[] | undefined) ?? [];
        const tokens = Math.ceil(seconds * VOXTRAL_AUDIO_TOKENS_PER_SECOND) + bias.reduce((n, t) => n + Math.ceil(t.length / 4) + 1, 0);
        if (tokens > VOXTRAL3_CONTEXT_TOKENS) {
          return { status: 400, body: errorBody(400, `Prompt contains ${tokens} tokens, too large for model with ${VOXTRAL3_CONTEXT_TOKENS} maximum context length`) };
        }
      }
      const timed = ((body.timestamp_granularities as string[] | undefined) ?? []).length > 0 || body.diarize === true;
      return {
        status: 200,
        body: {
          model: String(body.model),
          text: joinWords(words),
          language: (body.language as string | undefined) ?? null,
          segments: timed
            ? body.diarize === true && ctx?.speakerOf
              ? diarizedSegments(words, ctx.speakerOf, ctx.call)
              : segmentsOf(words).map((s, i) => ({
                  type: 'transcription_segment', text: s.text, start: s.start, end: s.end, score: null,
                  speaker_id: body.diarize === true ? `speaker_${(i % 2) + 1}` : null,
                }))
            : [],
          usage: { prompt_audio_seconds: Math.ceil(seconds), prompt_tokens: 4, completion_tokens: words.length, total_tokens: 4 + words.length },
        },
      };
    },
  };
}

/** Voxtral 3 transcription models and their aliases (`voxtral-mini-transcribe-3`, `voxtral-small-transcribe-latest`, …). */
export function isVoxtral3Model(model: string): boolean {
  return /^voxtral-(mini|small)-transcribe-(3|latest)(\b|-)/.test(model);
}
const VOXTRAL3_CONTEXT_TOKENS = 65_536;
const VOXTRAL_AUDIO_TOKENS_PER_SECOND = 12.5;

function openrouter(): VendorProtocol {
  const errorBody = (status: number, message: string) => ({ error: { code: status, message } });
  return {
    basePath: '/api/v1',
    validationStatus: 400,
    route: (method, path) => method === 'POST' && path === '/api/v1/audio/transcriptions',
    async decode(request) {
      if (!request.headers.get('content-type')?.includes('application/json')) {
        return decodeMultipart(request, () => specRequestValidator('openrouter', '/audio/transcriptions', 'multipart/form-data'));
      }
      const body = (await request.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      if (typeof body !== 'object' || body === null) return { body: {}, errors: ['(body) must be a JSON object'] };
      const errors = specRequestValidator('openrouter', '/audio/transcriptions', 'application/json').validate(body);
      const data = (body.input_audio as { data?: unknown } | undefined)?.data;
      const audio = typeof data === 'string' ? new Uint8Array(Buffer.from(data, 'base64')) : undefined;
      return { body, audio, errors };
    },
    warm: () => {
      specRequestValidator('openrouter', '/audio/transcriptions', 'multipart/form-data');
      specRequestValidator('openrouter', '/audio/transcriptions', 'application/json');
    },
    errorBody,
    refuse(body) {
      if (body.response_format === 'verbose_json') {
        return { status: 400, body: errorBody(400, 'verbose_json is not supported by provider Mistral') };
      }
      return undefined;
    },
    answer(_body, words, seconds) {
      return {
        status: 200,
        body: { text: joinWords(words), usage: { seconds, cost: round6((seconds / 60) * 0.003) } },
        headers: { 'x-generation-id': `gen-${Math.round(seconds * 1000)}` },
      };
    },
  };
}

/** DeepInfra publishes no spec: the documented fields of the native inference API. */
const DEEPINFRA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['audio'],
  properties: {
    audio: { type: 'string' },
    task: { enum: ['transcribe', 'translate'] },
    initial_prompt: { type: 'string' },
    temperature: { type: 'number', minimum: 0 },
    language: { type: 'string', pattern: '^[a-z]{2}$' },
    chunk_level: { enum: ['segment', 'word'] },
    chunk_length_s: { type: 'integer', minimum: 1, maximum: 30 },
    webhook: { type: 'string' },
  },
};

function deepinfra(): VendorProtocol {
  let validator: BodyValidator | undefined;
  return {
    basePath: '',
    validationStatus: 422,
    route: (method, path) => method === 'POST' && /^\/v1\/inference\/[^/]+\/[^/]+$/.test(path),
    decode: (request) =>
      decodeMultipart(request, () => (validator ??= schemaValidator(DEEPINFRA_SCHEMA)), { fileField: 'audio', bracketArrays: false }),
    errorBody: (status, message) =>
      status === 422 ? { detail: [{ loc: ['body'], msg: message, type: 'value_error' }] } : { detail: { error: message } },
    answer(body, heard, seconds) {
      const words = body.task === 'translate' ? speechTranslation(heard) : heard;
      const segments = segmentsOf(words).map((s, id) => ({ id, start: s.start, end: s.end, text: s.text }));
      return {
        status: 200,
        body: {
          text: joinWords(words),
          segments,
          language: (body.language as string | undefined) ?? 'en',
          input_length_ms: Math.round(seconds * 1000),
          words: words.map((w) => ({ start: w.start, end: w.end, text: w.word })),
          duration: seconds,
          request_id: null,
          inference_status: {
            status: 'succeeded', runtime_ms: 42, cost: round6((seconds / 60) * 0.003),
            tokens_generated: words.length, tokens_input: 0, output_length: words.length,
          },
        },
      };
    },
  };
}

async function decodeMultipart(
  request: Request,
  validator: () => BodyValidator,
  opts: { readonly fileField?: string; readonly bracketArrays?: boolean } = {},
): Promise<DecodedRequest> {
  const { fileField = 'file', bracketArrays = true } = opts;
  if (!request.headers.get('content-type')?.startsWith('multipart/form-data')) {
    return { body: {}, errors: ['request must be multipart/form-data'] };
  }
  const form = await request.formData().catch(() => undefined);
  if (!form) return { body: {}, errors: ['malformed multipart body'] };
  const v = validator();
  const { body, files } = await decodeForm(form, v, bracketArrays);
  return { body, audio: files.find((f) => f.field === fileField)?.bytes, errors: v.validate(body) };
}

/** Segments of the recognized words: a gap over 0.5 s starts a new one. */
export function segmentsOf(
  words: readonly Word[],
  sameSegment: (a: string, b: string) => boolean = () => true,
): { start: number; end: number; text: string }[] {
  const out: { start: number; end: number; words: string[] }[] = [];
  for (const w of words) {
    const last = out.at(-1);
    if (last && w.start - last.end <= 0.5 && sameSegment(last.words.at(-1) ?? '', w.word)) {
      last.end = w.end;
      last.words.push(w.word);
    } else out.push({ start: w.start, end: w.end, words: [w.word] });
  }
  return out.map((s) => ({ start: s.start, end: s.end, text: s.words.join(' ') }));
}

/**
 * One segment per turn (a new segment at a pause or where the speaker changes); labels `speaker_1…` go to the
 * people in an order drawn from `call`, so the same person gets different labels in different calls.
 */
function diarizedSegments(words: readonly Word[], speakerOf: (word: string) => number, call: number) {
  const turns = segmentsOf(words, (a, b) => speakerOf(a) === speakerOf(b));
  // A per-call rotation of label numbers, applied in order of first appearance (as diarizers number speakers).
  const offset = (call * 7) % 5;
  const labels = new Map<number, string>();
  return turns.map((t) => {
    const who = speakerOf(t.text.split(' ')[0] ?? '');
    if (!labels.has(who)) labels.set(who, `speaker_${((labels.size + offset) % 5) + 1}`);
    return { type: 'transcription_segment', text: t.text, start: t.start, end: t.end, score: null, speaker_id: labels.get(who) ?? null };
  });
}

function joinWords(words: readonly Word[]): string {
  return words.map((w) => w.word).join(' ');
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
