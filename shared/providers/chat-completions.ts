/**
 * `POST …/chat/completions` over raw fetch, in the three dialects voxpipe's vendors speak. They differ
 * only in the audio part: OpenAI / vLLM / OpenRouter take `input_audio: {data, format}`, Mistral takes
 * `input_audio: "<base64>"` (see test/specs/API-CONTRACTS.md §1.2, §2.3, §3.4).
 */
import { z } from 'zod';
import { ContextLengthError, isContextLengthMessage } from '../core/chat-errors.js';
import { PermanentError } from '../core/errors.js';
import type { ChatCapabilities, ChatMessage, ChatModel, ChatPart, ChatReply, ChatRequest } from '../ports.js';
import { httpStatusError, unexpectedResponse } from './http-errors.js';
import { sendJsonRequest } from './http-request.js';

/** Wire dialect of a chat endpoint. */
export type ChatDialect = 'openai' | 'mistral';

/** Configuration of one chat endpoint. */
export interface ChatCompletionsConfig {
  /** Names the provider in results and error messages, e.g. `openrouter`. */
  readonly provider: string;
  readonly dialect: ChatDialect;
  /** The full endpoint URL, e.g. `https://api.mistral.ai/v1/chat/completions`. */
  readonly url: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly capabilities: ChatCapabilities;
  /** Sampling temperature. @default 0.2 (the Voxtral model card's advice for chat) */
  readonly temperature?: number;
  readonly fetch?: typeof fetch;
}

/** A `ChatModel` calling an OpenAI-style chat completions endpoint. */
export function createChatCompletionsModel(cfg: ChatCompletionsConfig): ChatModel {
  return {
    provider: cfg.provider,
    model: cfg.model,
    capabilities: cfg.capabilities,
    async complete(req, signal) {
      const body = {
        model: cfg.model,
        messages: req.messages.map((m) => toWireMessage(m, cfg.dialect)),
        temperature: cfg.temperature ?? 0.2,
        ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
        ...(req.json && cfg.capabilities.structuredOutput
          ? {
              response_format: {
                type: 'json_schema',
                json_schema: { name: req.json.name, schema: req.json.schema, ...(req.json.strict ? { strict: true } : {}) },
              },
            }
          : {}),
      };
      let answer: unknown;
      try {
        answer = await sendJsonRequest({
          label: req.label,
          vendor: cfg.provider,
          fetch: cfg.fetch ?? fetch,
          url: cfg.url,
          init: { method: 'POST', body: JSON.stringify(body), headers: headers(cfg.apiKey) },
          signal,
        });
      } catch (err) {
        if (err instanceof PermanentError && isContextLengthMessage(err.message)) {
          throw new ContextLengthError(err.message, { cause: err });
        }
        throw err;
      }
      return toReply(req, cfg.provider, answer);
    },
  };
}

const Completion = z
  .object({
    choices: z
      .array(
        z
          .object({
            message: z.object({ content: z.union([z.string(), z.array(z.object({ text: z.string().nullish() }).loose())]).nullish() }).loose(),
            finish_reason: z.string().nullish(),
          })
          .loose(),
      )
      .min(1),
    usage: z
      .object({
        prompt_tokens: z.number().nullish(),
        completion_tokens: z.number().nullish(),
        cost: z.number().nullish(),
        prompt_audio_seconds: z.number().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

const InBandError = z.object({ error: z.object({ code: z.number().optional(), message: z.string() }).loose() }).loose();

function toReply(req: ChatRequest, provider: string, answer: unknown): ChatReply {
  const parsed = Completion.safeParse(answer);
  if (!parsed.success) {
    // OpenRouter can answer 200 with an error object (a provider failed mid-way).
    const err = InBandError.safeParse(answer);
    if (err.success) throw httpStatusError(req.label, provider, err.data.error.code ?? 502, answer);
    throw unexpectedResponse(req.label, provider, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const choice = parsed.data.choices[0];
  const content = choice?.message.content;
  const text = typeof content === 'string' ? content : (content ?? []).map((part) => part.text ?? '').join('');
  const usage = parsed.data.usage;
  return {
    text,
    usage: {
      ...(usage?.prompt_tokens != null ? { inputTokens: usage.prompt_tokens } : {}),
      ...(usage?.completion_tokens != null ? { outputTokens: usage.completion_tokens } : {}),
      ...(usage?.cost != null ? { costUsd: usage.cost } : {}),
      ...(usage?.prompt_audio_seconds != null ? { audioSeconds: usage.prompt_audio_seconds } : {}),
    },
  };
}

function toWireMessage(m: ChatMessage, dialect: ChatDialect): Record<string, unknown> {
  if (typeof m.content === 'string') return { role: m.role, content: m.content };
  return { role: m.role, content: m.content.map((part) => toWirePart(part, dialect)) };
}

function toWirePart(part: ChatPart, dialect: ChatDialect): Record<string, unknown> {
  if (part.type === 'text') return { type: 'text', text: part.text };
  const data = Buffer.from(part.data).toString('base64');
  return dialect === 'mistral'
    ? { type: 'input_audio', input_audio: data }
    : { type: 'input_audio', input_audio: { data, format: part.format } };
}

function headers(apiKey: string | undefined): Record<string, string> {
  return { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}
