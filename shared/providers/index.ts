/** Builds the configured `Transcriber`: the one place that knows every provider. */
import type { Transcriber } from '../ports.js';
import { createDeepInfraTranscriber } from './deepinfra.js';
import { createMistralTranscriber } from './mistral.js';
import { createOpenAICompatibleTranscriber } from './openai-compatible.js';
import { createOpenRouterTranscriber } from './openrouter.js';
import { createPocketsphinxTranscriber } from './pocketsphinx.js';

/** Every provider voxpipe can call. `offline` runs PocketSphinx locally (no network). */
export type ProviderName = 'openai-compatible' | 'mistral' | 'openrouter' | 'deepinfra' | 'offline';

/** Which provider to call and how. Parsed from env / CLI flags by the composition root. */
export interface ProviderConfig {
  readonly provider: ProviderName;
  /** @default `DEFAULT_BASE_URLS[provider]` */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** @default `DEFAULT_MODELS[provider]` */
  readonly model?: string;
  /**
   * Whether to ask for provider timestamps (openai-compatible, mistral).
   * @default true, except for openai-compatible models whose name contains "voxtral" (vLLM gives none)
   */
  readonly timestamps?: boolean;
  /** Injectable fetch, for tests and proxies. */
  readonly fetch?: typeof fetch;
}

/** Base URL per provider, as each vendor documents it. */
export const DEFAULT_BASE_URLS = {
  'openai-compatible': 'http://127.0.0.1:8000/v1',
  mistral: 'https://api.mistral.ai',
  openrouter: 'https://openrouter.ai/api/v1',
  deepinfra: 'https://api.deepinfra.com',
} as const satisfies Record<Exclude<ProviderName, 'offline'>, string>;

/** Model per provider when none is configured. */
export const DEFAULT_MODELS = {
  'openai-compatible': 'mistralai/Voxtral-Mini-3B-2507',
  mistral: 'voxtral-mini-latest',
  openrouter: 'mistralai/voxtral-mini-transcribe',
  deepinfra: 'mistralai/Voxtral-Small-24B-2507',
} as const satisfies Record<Exclude<ProviderName, 'offline'>, string>;

/** Build the transcriber `cfg` names. Never performs I/O. */
export function createTranscriber(cfg: ProviderConfig): Transcriber {
  if (cfg.provider === 'offline') return createPocketsphinxTranscriber();
  const common = {
    baseUrl: cfg.baseUrl ?? DEFAULT_BASE_URLS[cfg.provider],
    apiKey: cfg.apiKey,
    model: cfg.model ?? DEFAULT_MODELS[cfg.provider],
    fetch: cfg.fetch,
  };
  switch (cfg.provider) {
    case 'openai-compatible':
      return createOpenAICompatibleTranscriber({ ...common, timestamps: cfg.timestamps ?? !/voxtral/i.test(common.model) });
    case 'mistral':
      return createMistralTranscriber({ ...common, timestamps: cfg.timestamps });
    case 'openrouter':
      return createOpenRouterTranscriber(common);
    case 'deepinfra':
      return createDeepInfraTranscriber(common);
  }
}
