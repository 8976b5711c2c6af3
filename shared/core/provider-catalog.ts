/**
 * What the rest of voxpipe asks about providers: names, derived lists (chat-capable, deployable on AWS), defaults
 * and prices, all computed from the table in `provider-table.ts`. Pure.
 */
import { PROVIDER_CATALOG, type ProviderChat, type ProviderFeatures, type ProviderInfo } from './provider-table.js';

export { PROVIDER_CATALOG, type ProviderChat, type ProviderFeatures, type ProviderInfo } from './provider-table.js';

/** A provider's name, e.g. `mistral`. */
export type ProviderName = keyof typeof PROVIDER_CATALOG;

type NamesWhere<C> = { [K in ProviderName]: (typeof PROVIDER_CATALOG)[K] extends C ? K : never }[ProviderName];

/** Providers with a chat endpoint. */
export type ChatProviderName = NamesWhere<{ readonly chat: ProviderChat }>;
/** Providers a stack can deploy with. */
export type AwsProviderName = NamesWhere<{ readonly aws: true }>;

const names = Object.keys(PROVIDER_CATALOG) as ProviderName[];

/** Every provider name, in catalog order (the CLI's default first). */
export const PROVIDERS = names as unknown as readonly [ProviderName, ...ProviderName[]];

/** Providers with a chat endpoint (for `VOXPIPE_CHAT_PROVIDER`, `-c chatProvider`). */
export const CHAT_PROVIDERS = names.filter(hasChat) as unknown as readonly [ChatProviderName, ...ChatProviderName[]];

/** Providers a stack can deploy with (`-c provider`). */
export const AWS_PROVIDERS = names.filter((n) => providerInfo(n).aws) as unknown as readonly [AwsProviderName, ...AwsProviderName[]];

/** The entry of `name`, typed as the general shape. */
export function providerInfo(name: ProviderName): ProviderInfo {
  return PROVIDER_CATALOG[name];
}

/** Whether `name` is a provider voxpipe knows. */
export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(PROVIDER_CATALOG, name);
}

/** Whether `name` has a chat endpoint. */
export function hasChat(name: ProviderName): name is ChatProviderName {
  return providerInfo(name).chat !== undefined;
}

/** The model a job runs when none is configured. */
export function defaultModelOf(name: ProviderName): string {
  return PROVIDER_CATALOG[name].defaultModel;
}

/** The chat entry of a chat provider. */
export function chatInfo(name: ChatProviderName): ProviderChat {
  return PROVIDER_CATALOG[name].chat;
}

/** Providers whose API has `feature` (for help texts: `--diarize … (mistral)`). */
export function providersWith(feature: keyof ProviderFeatures): ProviderName[] {
  return names.filter((n) => providerInfo(n).features[feature]);
}

/** List price per audio minute, USD, by provider name. */
export const USD_PER_AUDIO_MINUTE: Readonly<Record<string, number>> = Object.fromEntries(
  names.map((n) => [n, providerInfo(n).usdPerAudioMinute]),
);
