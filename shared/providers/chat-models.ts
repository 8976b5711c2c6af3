/** Builds the configured `ChatModel`: the one place that knows each vendor's chat endpoint. */
import type { ChatCapabilities, ChatModel } from '../ports.js';
import { createChatCompletionsModel } from './chat-completions.js';

/** Vendors with a chat endpoint. The offline provider has none. */
export const CHAT_PROVIDERS = ['openai-compatible', 'mistral', 'openrouter', 'deepinfra'] as const;
export type ChatProviderName = (typeof CHAT_PROVIDERS)[number];

/** Which chat endpoint to call. */
export interface ChatModelConfig {
  readonly provider: ChatProviderName;
  /** API root as the vendor documents it. @default `DEFAULT_CHAT_BASE_URLS[provider]` */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** @default `DEFAULT_CHAT_MODELS[provider]` */
  readonly model?: string;
  /** Context window in tokens. @default 32 768 (Voxtral) */
  readonly contextTokens?: number;
  readonly fetch?: typeof fetch;
}

/** API root per vendor; `chat/completions` is appended as each documents it. */
export const DEFAULT_CHAT_BASE_URLS = {
  'openai-compatible': 'http://127.0.0.1:8000/v1',
  mistral: 'https://api.mistral.ai',
  openrouter: 'https://openrouter.ai/api/v1',
  deepinfra: 'https://api.deepinfra.com',
} as const satisfies Record<ChatProviderName, string>;

/** Chat-capable Voxtral model per vendor. */
export const DEFAULT_CHAT_MODELS = {
  'openai-compatible': 'mistralai/Voxtral-Mini-3B-2507',
  mistral: 'voxtral-small-latest',
  openrouter: 'mistralai/voxtral-small-24b-2507',
  deepinfra: 'mistralai/Voxtral-Small-24B-2507',
} as const satisfies Record<ChatProviderName, string>;

/** Voxtral's context (32k tokens). */
const VOXTRAL_CONTEXT_TOKENS = 32_768;
/** Audio sent in one chat message at most: Voxtral understands ≈30–40 min; stay well inside. */
const AUDIO_IN_CHAT_SECONDS = 20 * 60;

/** Build the chat model `cfg` names. Never performs I/O. */
export function createChatModel(cfg: ChatModelConfig): ChatModel {
  const base = (cfg.baseUrl ?? DEFAULT_CHAT_BASE_URLS[cfg.provider]).replace(/\/+$/, '');
  const model = cfg.model ?? DEFAULT_CHAT_MODELS[cfg.provider];
  const caps = (maxAudioSeconds: number): ChatCapabilities => ({
    contextTokens: cfg.contextTokens ?? VOXTRAL_CONTEXT_TOKENS,
    maxAudioSeconds,
    structuredOutput: true,
  });
  const common = { apiKey: cfg.apiKey, model, fetch: cfg.fetch };
  switch (cfg.provider) {
    case 'mistral':
      return createChatCompletionsModel({ ...common, provider: 'mistral', dialect: 'mistral', url: `${base}/v1/chat/completions`, capabilities: caps(AUDIO_IN_CHAT_SECONDS) });
    case 'openrouter':
      return createChatCompletionsModel({ ...common, provider: 'openrouter', dialect: 'openai', url: `${base}/chat/completions`, capabilities: caps(AUDIO_IN_CHAT_SECONDS) });
    case 'openai-compatible':
      return createChatCompletionsModel({ ...common, provider: 'openai-compatible', dialect: 'openai', url: `${base}/chat/completions`, capabilities: caps(AUDIO_IN_CHAT_SECONDS) });
    case 'deepinfra':
      // DeepInfra serves chat on its OpenAI-compatible route; audio in chat there is undocumented, so questions
      // are answered over the transcript.
      return createChatCompletionsModel({ ...common, provider: 'deepinfra', dialect: 'openai', url: `${base}/v1/openai/chat/completions`, capabilities: caps(0) });
  }
}
