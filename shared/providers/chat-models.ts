/** Builds the configured `ChatModel` from its provider registry entry (`chat`: path, dialect, default model). */
import { type ChatProviderName, chatInfo } from '../core/provider-catalog.js';
import type { ChatModel } from '../ports.js';
import { createChatCompletionsModel } from './chat-completions.js';
import { defaultChatBaseUrl, defaultChatModel } from './registry.js';

export { CHAT_PROVIDERS, type ChatProviderName } from '../core/provider-catalog.js';

/** Which chat endpoint to call. */
export interface ChatModelConfig {
  readonly provider: ChatProviderName;
  /** API root as the vendor documents it. @default the provider's `defaultBaseUrl` */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** @default the registry's `chat.defaultModel` */
  readonly model?: string;
  /** Context window in tokens. @default 32 768 (Voxtral) */
  readonly contextTokens?: number;
  readonly fetch?: typeof fetch;
}

/** Voxtral's context (32k tokens). */
const VOXTRAL_CONTEXT_TOKENS = 32_768;
/** Audio sent in one chat message at most: Voxtral understands ≈30–40 min; stay well inside. */
const AUDIO_IN_CHAT_SECONDS = 20 * 60;

/** Build the chat model `cfg` names, as its registry entry describes the vendor's endpoint. Never performs I/O. */
export function createChatModel(cfg: ChatModelConfig): ChatModel {
  const chat = chatInfo(cfg.provider);
  const base = (cfg.baseUrl ?? defaultChatBaseUrl(cfg.provider)).replace(/\/+$/, '');
  return createChatCompletionsModel({
    provider: cfg.provider,
    dialect: chat.dialect,
    url: `${base}${chat.path}`,
    apiKey: cfg.apiKey,
    model: cfg.model ?? defaultChatModel(cfg.provider),
    fetch: cfg.fetch,
    capabilities: {
      contextTokens: cfg.contextTokens ?? VOXTRAL_CONTEXT_TOKENS,
      maxAudioSeconds: chat.audioInChat ? AUDIO_IN_CHAT_SECONDS : 0,
      structuredOutput: true,
    },
  });
}
