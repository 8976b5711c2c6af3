/**
 * The provider registry: each provider's catalog entry (`shared/core/provider-catalog.ts`: default model, base
 * URL, key variable, features, chat endpoint, price) joined with the code that builds its client. Every place that
 * needs to know the providers asks here or the catalog; none lists them. `satisfies Record<ProviderName, …>` makes
 * a catalog entry without a factory a type error.
 */
import {
  type ChatProviderName,
  chatInfo,
  PROVIDER_CATALOG,
  type ProviderInfo,
  type ProviderName,
  providerInfo,
} from '../core/provider-catalog.js';
import type { Transcriber } from '../ports.js';
import { createDeepInfraTranscriber } from './deepinfra.js';
import { createMistralTranscriber } from './mistral.js';
import { createOpenAICompatibleTranscriber } from './openai-compatible.js';
import { createOpenRouterTranscriber } from './openrouter.js';
import { createPocketsphinxTranscriber } from './pocketsphinx.js';

export {
  AWS_PROVIDERS,
  CHAT_PROVIDERS,
  type ChatProviderName,
  chatInfo,
  defaultModelOf,
  isProviderName,
  PROVIDER_CATALOG,
  PROVIDERS,
  type ProviderInfo,
  type ProviderName,
  providerInfo,
  providersWith,
  USD_PER_AUDIO_MINUTE,
} from '../core/provider-catalog.js';

/** What a transcriber factory receives: the configuration with the catalog's defaults filled in. */
export interface TranscriberSettings {
  /** The vendor's API root (the catalog's `defaultBaseUrl` when none is configured; '' for a local provider). */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** The configured model, else the catalog's `defaultModel`. */
  readonly model: string;
  /** Whether to ask for provider timestamps; undefined: the provider's own default. */
  readonly timestamps?: boolean;
  readonly fetch?: typeof fetch;
  /** Where a local provider's programs are (`VoxpipeConfig.tools`); providers read no environment. */
  readonly tools?: LocalTools;
}

/** The programs a local provider runs: explicit paths and the directories searched for the others. */
export interface LocalTools {
  readonly pocketsphinxPath?: string;
  readonly ffmpegPath?: string;
  readonly searchPath?: string;
  readonly tmpDir?: string;
}

/** Builds a provider's `Transcriber`. Never performs I/O. */
export type TranscriberFactory = (s: TranscriberSettings) => Transcriber;

/** The client of each provider. */
export const TRANSCRIBER_FACTORIES = {
  offline: ({ tools }) =>
    createPocketsphinxTranscriber({ binary: tools?.pocketsphinxPath, ffmpegPath: tools?.ffmpegPath, searchPath: tools?.searchPath, tmpDir: tools?.tmpDir }),
  // vLLM serving Voxtral rejects verbose_json: do not ask for timestamps from a Voxtral model unless told to.
  'openai-compatible': (s) => createOpenAICompatibleTranscriber({ ...s, timestamps: s.timestamps ?? !/voxtral/i.test(s.model) }),
  mistral: (s) => createMistralTranscriber(s),
  openrouter: (s) => createOpenRouterTranscriber(s),
  deepinfra: (s) => createDeepInfraTranscriber(s),
} as const satisfies Record<ProviderName, TranscriberFactory>;

/** A provider's catalog entry with its client factory. */
export interface ProviderEntry extends ProviderInfo {
  readonly name: ProviderName;
  readonly createTranscriber: TranscriberFactory;
}

/** Every provider, catalog data and factory together. */
export const PROVIDER_REGISTRY: Readonly<Record<ProviderName, ProviderEntry>> = Object.fromEntries(
  (Object.keys(PROVIDER_CATALOG) as ProviderName[]).map((name) => [name, { ...providerInfo(name), name, createTranscriber: TRANSCRIBER_FACTORIES[name] }]),
) as Record<ProviderName, ProviderEntry>;

/** Base URL per provider that has one, as each vendor documents it. */
export const DEFAULT_BASE_URLS: Readonly<Partial<Record<ProviderName, string>>> = Object.fromEntries(
  Object.values(PROVIDER_REGISTRY).flatMap((p) => (p.defaultBaseUrl ? [[p.name, p.defaultBaseUrl]] : [])),
);

/** Model per provider when none is configured. */
export const DEFAULT_MODELS: Readonly<Record<ProviderName, string>> = Object.fromEntries(
  Object.values(PROVIDER_REGISTRY).map((p) => [p.name, p.defaultModel]),
) as Record<ProviderName, string>;

/** Chat API root per chat vendor (its transcription API root). */
export function defaultChatBaseUrl(name: ChatProviderName): string {
  return providerInfo(name).defaultBaseUrl ?? '';
}

/** Chat-capable model per chat vendor. */
export function defaultChatModel(name: ChatProviderName): string {
  return chatInfo(name).defaultModel;
}
