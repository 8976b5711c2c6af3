/** Builds the configured `Transcriber` from the provider registry (`./registry.ts`). */
import type { Transcriber } from '../ports.js';
import { type LocalTools, PROVIDER_REGISTRY, type ProviderName } from './registry.js';

export { DEFAULT_BASE_URLS, DEFAULT_MODELS, type ProviderName } from './registry.js';

/** Which provider to call and how. Parsed from env / CLI flags by the composition root. */
export interface ProviderConfig {
  readonly provider: ProviderName;
  /** @default the registry's `defaultBaseUrl` of the provider */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** @default the registry's `defaultModel` of the provider */
  readonly model?: string;
  /**
   * Whether to ask for provider timestamps (the OpenAI-compatible and Mistral clients read it).
   * @default true, except for openai-compatible models whose name contains "voxtral" (vLLM gives none)
   */
  readonly timestamps?: boolean;
  /** Injectable fetch, for tests and proxies. */
  readonly fetch?: typeof fetch;
  /** Where a local provider's programs are (the offline provider's pocketsphinx and ffmpeg). */
  readonly tools?: LocalTools;
}

/** Build the transcriber `cfg` names. Never performs I/O. */
export function createTranscriber(cfg: ProviderConfig): Transcriber {
  const entry = PROVIDER_REGISTRY[cfg.provider];
  return entry.createTranscriber({
    baseUrl: cfg.baseUrl ?? entry.defaultBaseUrl ?? '',
    apiKey: cfg.apiKey,
    model: cfg.model ?? entry.defaultModel,
    timestamps: cfg.timestamps,
    fetch: cfg.fetch,
    tools: cfg.tools,
  });
}
