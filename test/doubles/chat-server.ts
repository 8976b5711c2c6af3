/**
 * A real HTTP chat-completions server on 127.0.0.1 speaking one vendor's protocol: it checks the bearer key,
 * validates each request against the vendor's OpenAPI spec (`openapi-validator.ts`), enforces a context
 * window, and answers deterministically:
 * - translation (`response_format` named `translation`): each word prefixed with the language, `fr:hello`;
 * - extraction (named `extraction`): the smallest instance of the requested schema;
 * - anything else: a short text naming the call and the first words it was given.
 * Faults (429, 5xx, malformed JSON, wrong segment counts, empty texts, context-length errors) are injected
 * per call by a picker that sees what the call asks for.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fault } from './faults.js';
import { type BodyValidator, SPEC_DIR, type Schema, schemaValidator, type SpecName } from './openapi-validator.js';
import { parse } from 'yaml';
import { type Answer, vendorProtocol } from './vendors.js';

/** Vendors whose chat endpoint the double speaks. */
export type ChatVendor = 'openai-compatible' | 'mistral' | 'openrouter';

/** One way a chat call can go wrong. */
export type ChatFault =
  | Extract<Fault, { kind: 'rate-limit' | 'status' | 'hang' | 'reset' }>
  /** 200 with a reply that is not JSON. */
  | { readonly kind: 'malformed' }
  /** 200 with one translated segment missing. */
  | { readonly kind: 'wrong-count' }
  /** 200 with the first translated segment's text empty. */
  | { readonly kind: 'empty-text' }
  /** 200 with JSON that does not match the extraction schema. */
  | { readonly kind: 'invalid-extraction' }
  /** The vendor's context-length error, whatever the size. */
  | { readonly kind: 'context-length' };

/** What the fault picker (and the test) knows of a call. */
export interface ChatCallInfo {
  /** 1-based arrival order. */
  readonly call: number;
  readonly task: 'translation' | 'extraction' | 'text';
  /** Target language of a translation call. */
  readonly language?: string;
  /** Segment ids of a translation call. */
  readonly ids?: readonly number[];
  /** Estimated prompt tokens (the planner's measure: 3 characters a token). */
  readonly promptTokens: number;
  /** True when a message carries audio. */
  readonly audio: boolean;
}

export interface RecordedChatRequest extends ChatCallInfo {
  readonly body: Record<string, unknown>;
  readonly validationErrors: readonly string[];
  status?: number;
  fault?: ChatFault['kind'];
}

export interface ChatDoubleOptions {
  readonly vendor: ChatVendor;
  readonly apiKey?: string;
  /** Context window: prompt tokens + `max_tokens` above this get the vendor's context-length error. @default 32768 */
  readonly contextTokens?: number;
  readonly faults?: (info: ChatCallInfo) => ChatFault | undefined;
  /** Time taken by each successful answer. @default 0 */
  readonly latencyMs?: number;
}

export interface ChatDouble {
  /** API root as the vendor documents it (`…/v1`, bare origin, `…/api/v1`). */
  readonly url: string;
  readonly requests: readonly RecordedChatRequest[];
  /** Most requests in flight at once. */
  readonly maxConcurrent: number;
  close(): Promise<void>;
}

const ROUTES: Record<ChatVendor, { basePath: string; path: string; spec: SpecName; specPath: string; validationStatus: number }> = {
  'openai-compatible': { basePath: '/v1', path: '/v1/chat/completions', spec: 'openai', specPath: '/chat/completions', validationStatus: 400 },
  mistral: { basePath: '', path: '/v1/chat/completions', spec: 'mistral', specPath: '/v1/chat/completions', validationStatus: 422 },
  openrouter: { basePath: '/api/v1', path: '/api/v1/chat/completions', spec: 'openrouter', specPath: '/chat/completions', validationStatus: 400 },
};

/** Start a chat double on an ephemeral port. */
export async function startChatDouble(opts: ChatDoubleOptions): Promise<ChatDouble> {
  const route = ROUTES[opts.vendor];
  chatRequestValidator(route.spec, route.specPath); // parse the spec now, not inside the first (timed) request
  const errorBody = vendorProtocol(opts.vendor).errorBody;
  const context = opts.contextTokens ?? 32_768;
  const requests: RecordedChatRequest[] = [];
  const error = (status: number, message: string): Answer => ({ status, body: errorBody(status, message) });

  let inFlight = 0;
  let maxConcurrent = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    res.once('close', () => {
      inFlight -= 1;
    });
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, error(500, `double crashed: ${String(err)}`));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== route.path) return send(res, error(404, `no route ${req.method} ${path}`));
    if (opts.apiKey !== undefined && /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() !== opts.apiKey) {
      return send(res, error(401, 'Invalid API key'));
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(res, error(route.validationStatus, 'invalid request: body is not JSON'));
    }
    const validationErrors = chatRequestValidator(route.spec, route.specPath).validate(body);
    const info = describeCall(requests.length + 1, body);
    const record: RecordedChatRequest = { ...info, body, validationErrors };
    requests.push(record);
    const answer = (a: Answer) => {
      record.status = a.status;
      send(res, a);
    };
    if (validationErrors.length > 0) return answer(error(route.validationStatus, `invalid request: ${validationErrors.join('; ')}`));
    const problems = vendorRules(opts.vendor, body);
    if (problems) return answer(error(400, problems));
    const fault = opts.faults?.(info);
    record.fault = fault?.kind;
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 0;
    if (fault?.kind === 'context-length' || info.promptTokens + maxTokens > context) {
      return answer(error(400, contextMessage(opts.vendor, context, info.promptTokens + maxTokens)));
    }
    switch (fault?.kind) {
      case 'rate-limit': {
        const a = error(429, 'Rate limit exceeded');
        return answer(fault.retryAfterSeconds === undefined ? a : { ...a, headers: { 'retry-after': String(fault.retryAfterSeconds) } });
      }
      case 'status':
        return answer(error(fault.status, fault.message ?? `injected ${fault.status}`));
      case 'hang':
        return;
      case 'reset':
        res.socket?.destroy();
        return;
    }
    if (opts.latencyMs) await new Promise((resolve) => setTimeout(resolve, opts.latencyMs));
    const content = replyContent(body, info, fault);
    answer({ status: 200, body: completion(opts.vendor, body, content, info) });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${route.basePath}`,
    requests,
    get maxConcurrent() {
      return maxConcurrent;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const chatValidators = new Map<string, BodyValidator>();

/**
 * Validator of the chat request body in the vendor's spec. The OpenAI document uses OpenAPI 3.0
 * `nullable` (without `type` in places), which JSON Schema 2020 refuses: it is rewritten as a `null` branch.
 */
function chatRequestValidator(spec: SpecName, path: string): BodyValidator {
  const key = `${spec} ${path}`;
  let v = chatValidators.get(key);
  if (!v) {
    const doc = withoutNullable(parse(readFileSync(`${SPEC_DIR}${spec}.openapi.yaml`, 'utf8'), { maxAliasCount: -1 })) as Schema;
    const paths = doc.paths as Record<string, { post: { requestBody: { content: Record<string, { schema: Schema }> } } }>;
    const media = paths[path]?.post.requestBody.content['application/json']?.schema;
    if (!media) throw new Error(`spec ${spec} has no JSON chat request at POST ${path}`);
    v = schemaValidator(media, doc);
    chatValidators.set(key, v);
  }
  return v;
}

function withoutNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNullable);
  if (typeof node !== 'object' || node === null) return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, withoutNullable(v)]));
  return nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

/** The deterministic translation of a text: each word prefixed with the language code. */
export function doubleTranslation(language: string, text: string): string {
  return text.split(/\s+/).filter(Boolean).map((w) => `${language}:${w}`).join(' ');
}

type Message = { role?: string; content?: unknown };

function describeCall(call: number, body: Record<string, unknown>): ChatCallInfo {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as Message[];
  const format = body.response_format as { json_schema?: { name?: string } } | undefined;
  const name = format?.json_schema?.name;
  const task = name === 'translation' ? 'translation' : name === 'extraction' ? 'extraction' : 'text';
  const text = messages.map((m) => textOf(m.content)).join('\n');
  const audio = messages.some((m) => Array.isArray(m.content) && m.content.some((p) => (p as { type?: string }).type === 'input_audio'));
  let language: string | undefined;
  let ids: number[] | undefined;
  if (task === 'translation') {
    const request = translationRequest(messages);
    language = request?.target_language;
    ids = request?.segments.map((s) => s.id);
  }
  return { call, task, language, ids, promptTokens: Math.ceil(text.length / 3) + 4 * messages.length, audio };
}

function translationRequest(messages: readonly Message[]): { target_language: string; segments: { id: number; text: string }[] } | undefined {
  for (const m of messages) {
    if (m.role !== 'user') continue;
    try {
      const parsed = JSON.parse(textOf(m.content)) as { target_language?: string; segments?: { id: number; text: string }[] };
      if (parsed.target_language && Array.isArray(parsed.segments)) return { target_language: parsed.target_language, segments: parsed.segments };
    } catch {
      // a re-ask note, not the request
    }
  }
  return undefined;
}

function replyContent(body: Record<string, unknown>, info: ChatCallInfo, fault: ChatFault | undefined): string {
  const messages = body.messages as Message[];
  if (fault?.kind === 'malformed') return 'Sure! Here is the translation you asked for: {"segments": [';
  if (info.task === 'translation') {
    const request = translationRequest(messages);
    let segments = (request?.segments ?? []).map((s) => ({ id: s.id, text: doubleTranslation(request?.target_language ?? '??', s.text) }));
    if (fault?.kind === 'wrong-count') segments = segments.slice(0, -1);
    if (fault?.kind === 'empty-text' && segments[0]) segments[0] = { ...segments[0], text: '' };
    return JSON.stringify({ segments });
  }
  if (info.task === 'extraction') {
    if (fault?.kind === 'invalid-extraction') return JSON.stringify({ unexpected: true });
    const schema = (body.response_format as { json_schema: { schema: unknown } }).json_schema.schema;
    return JSON.stringify(sampleOf(schema));
  }
  const system = textOf(messages.find((m) => m.role === 'system')?.content);
  const user = messages.filter((m) => m.role === 'user').map((m) => textOf(m.content)).join(' ');
  const firstWords = user.split('\n').slice(1).join(' ').split(/\s+/).filter(Boolean).slice(0, 8).join(' ');
  if (info.audio) return `Answer from the audio (${audioBytes(messages)} bytes heard).`;
  const kind = /one section/.test(system) ? 'section summary' : /merge/.test(system) ? 'combined summary' : /relevant/.test(system) ? 'notes' : /Answer the question/.test(system) ? 'answer' : 'summary';
  return `${kind} of ${user.split('\n').length - 1} lines: ${firstWords}`;
}

function completion(vendor: ChatVendor, body: Record<string, unknown>, content: string, info: ChatCallInfo) {
  const completionTokens = Math.ceil(content.length / 3);
  const usage = { prompt_tokens: info.promptTokens, completion_tokens: completionTokens, total_tokens: info.promptTokens + completionTokens };
  return {
    id: `chatcmpl-${info.call}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: String(body.model),
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage:
      vendor === 'openrouter'
        ? { ...usage, cost: Math.round((info.promptTokens * 1e-7 + completionTokens * 3e-7) * 1e9) / 1e9 }
        : vendor === 'mistral' && info.audio
          ? { ...usage, prompt_audio_seconds: 10 }
          : usage,
  };
}

/** Rules the schemas cannot express. */
function vendorRules(vendor: ChatVendor, body: Record<string, unknown>): string | undefined {
  for (const m of body.messages as Message[]) {
    if (!Array.isArray(m.content)) continue;
    for (const part of m.content as { type?: string; input_audio?: unknown }[]) {
      if (part.type !== 'input_audio') continue;
      if (vendor === 'mistral' && typeof part.input_audio !== 'string') return 'input_audio must be a base64 string or a URL';
      if (vendor !== 'mistral' && typeof (part.input_audio as { data?: unknown }).data !== 'string') return 'input_audio.data must be base64';
    }
  }
  return undefined;
}

function contextMessage(vendor: ChatVendor, context: number, requested: number): string {
  switch (vendor) {
    case 'openai-compatible':
      return `This model's maximum context length is ${context} tokens. However, you requested ${requested} tokens. Please reduce the length of the messages or completion.`;
    case 'mistral':
      return `Prompt contains ${requested} tokens and max_tokens, too large for model with ${context} maximum context length`;
    case 'openrouter':
      return `This endpoint's maximum context length is ${context} tokens. However, you requested about ${requested} tokens.`;
  }
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => ((p as { type?: string }).type === 'text' ? String((p as { text?: unknown }).text ?? '') : '')).join('\n');
}

function audioBytes(messages: readonly Message[]): number {
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content as { type?: string; input_audio?: unknown }[]) {
      if (p.type !== 'input_audio') continue;
      const data = typeof p.input_audio === 'string' ? p.input_audio : (p.input_audio as { data: string }).data;
      return Buffer.from(data, 'base64').length;
    }
  }
  return 0;
}

/** The smallest value matching a (simple) JSON Schema. */
export function sampleOf(schema: unknown): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (Array.isArray(s.enum)) return s.enum[0];
  if ('const' in s) return s.const;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, sampleOf(v)]));
    }
    case 'array':
      return [sampleOf(s.items)].slice(0, typeof s.minItems === 'number' ? Math.max(1, s.minItems) : 1);
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return 'x';
  }
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.destroyed) return;
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
