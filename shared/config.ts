import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './core/errors.js';
import { CHAT_PROVIDERS, type ChatProviderName, hasChat, PROVIDERS, type ProviderName, providerInfo } from './core/provider-catalog.js';

/** Providers voxpipe can call (from the provider registry). `offline` is pocketsphinx, English only, no account needed. */
export { PROVIDERS, type ProviderName } from './core/provider-catalog.js';

/** The vendor's usual API-key variable, accepted when `VOXPIPE_API_KEY` is unset. */
const vendorKeyVar = (provider: ProviderName): string | undefined => providerInfo(provider).apiKeyVar;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** Environment variables, parsed once at start-up. CLI flags override them (same names, see `voxpipe --help`). */
export const EnvSchema = z.object({
  VOXPIPE_PROVIDER: z.enum(PROVIDERS).default('offline'),
  VOXPIPE_BASE_URL: optionalString.pipe(z.url().optional()),
  VOXPIPE_API_KEY: optionalString,
  VOXPIPE_MODEL: optionalString,
  VOXPIPE_LANGUAGE: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z]{2}$/, 'an ISO 639-1 code such as en, fr, de')
      .optional(),
  ),
  VOXPIPE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  VOXPIPE_CHUNK_SECONDS: z.coerce.number().min(10).max(3600).default(120),
  VOXPIPE_TIMESTAMPS: z.enum(['auto', 'provider', 'cut-plan']).default('auto'),
  VOXPIPE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  VOXPIPE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(300),
  /** Words and phrases to bias recognition towards, comma separated (Mistral `context_bias`; `--vocabulary`). */
  VOXPIPE_VOCABULARY: optionalString,
  VOXPIPE_WORK_DIR: optionalString,
  /** ffmpeg / ffprobe executables (default: found on PATH, else the bundled @ffmpeg-installer packages). */
  VOXPIPE_FFMPEG: optionalString,
  VOXPIPE_FFPROBE: optionalString,
  /** `pocketsphinx_continuous` of the offline provider (default: found on PATH). */
  VOXPIPE_POCKETSPHINX: optionalString,
  /** Chat model for translations, summaries, extraction and questions. Default: the transcription provider's. */
  VOXPIPE_CHAT_PROVIDER: optionalString.pipe(z.enum(CHAT_PROVIDERS).optional()),
  VOXPIPE_CHAT_MODEL: optionalString,
  VOXPIPE_CHAT_BASE_URL: optionalString.pipe(z.url().optional()),
  /** Key of the chat provider when it differs from the transcription provider's. */
  VOXPIPE_CHAT_API_KEY: optionalString,
  /** The chat model's context window in tokens (requests are planned to fit it). */
  VOXPIPE_CHAT_CONTEXT_TOKENS: z.coerce.number().int().min(1000).max(10_000_000).optional(),
  /** Also translate the speech into English with the provider's native speech translation (`--translate-speech`). */
  VOXPIPE_TRANSLATE_SPEECH: z
    .enum(['true', 'false', '1', '0', ''])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** The content guard after each provider call (`off`: store the first answer unchecked, e.g. for non-speech audio). */
  VOXPIPE_CONTENT_GUARD: z.enum(['retry', 'off']).default('retry'),
  /** How the splitter finds pauses (see adapters/silero-vad.ts): Silero VAD unless it hears no speech (`auto`), always Silero, or the energy detector. */
  VOXPIPE_PAUSES: z.enum(['auto', 'silero', 'energy']).default('auto'),
  VOXPIPE_WEBHOOK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  VOXPIPE_WEBHOOK_SECRET: optionalString.pipe(
    z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'a Standard Webhooks secret: whsec_ followed by base64')
      .optional(),
  ),
});

/** Validated settings every runtime builds its adapters from. */
export interface VoxpipeConfig {
  readonly provider: ProviderName;
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** Undefined means "the provider's default model". */
  readonly model?: string;
  readonly language?: string;
  readonly concurrency: number;
  readonly chunkSeconds: number;
  readonly timestamps: 'auto' | 'provider' | 'cut-plan';
  /** Words and phrases to bias recognition towards (`VOXPIPE_VOCABULARY`, `--vocabulary`). Part of the job options. */
  readonly vocabulary?: readonly string[];
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly workDir: string;
  /** Where the external programs are (`VOXPIPE_FFMPEG`, `VOXPIPE_FFPROBE`, `VOXPIPE_POCKETSPHINX`, `PATH`). */
  readonly tools: ToolPaths;
  /** Chat endpoint for `--translate`, `--summary`, `--extract`, `--ask`; undefined when there is none. */
  readonly chat?: ChatConfig;
  /** Native speech translation into English as an extra result (`translations.en`, `mode: 'native-speech'`). */
  readonly translateSpeech: boolean;
  /** `VOXPIPE_CONTENT_GUARD`: `retry` (default) re-asks suspect chunks and flags what stays suspect; `off` skips it. */
  readonly contentGuard: 'retry' | 'off';
  /** `VOXPIPE_PAUSES`: pause finder of the splitter, `auto` (default: Silero VAD, the energy detector for non-speech or where the VAD cannot load), `silero`, `energy`. */
  readonly pauses: 'auto' | 'silero' | 'energy';
  /** Where job events are POSTed as signed Standard Webhooks; set together with `webhookSecret`. */
  readonly webhookUrl?: string;
  /** `whsec_…` signing secret of `webhookUrl`. */
  readonly webhookSecret?: string;
}

/** Values given as CLI flags; they win over the environment. */
export type ConfigOverrides = Partial<Record<keyof z.input<typeof EnvSchema>, string | number | undefined>>;

/**
 * Parse and validate configuration from the environment plus overrides.
 * Throws one `ConfigError` naming every bad variable and what it accepts.
 */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): VoxpipeConfig {
  const merged: Record<string, unknown> = { ...pickVoxpipe(env) };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const vendorVar = vendorKeyVar(e.VOXPIPE_PROVIDER);
  const apiKey = e.VOXPIPE_API_KEY ?? (vendorVar ? env[vendorVar]?.trim() || undefined : undefined);
  if (!apiKey && providerInfo(e.VOXPIPE_PROVIDER).keyRequired) {
    throw new ConfigError(
      `invalid configuration:\n  VOXPIPE_API_KEY: provider ${e.VOXPIPE_PROVIDER} needs an API key; set VOXPIPE_API_KEY or ${vendorVar}`,
    );
  }
  if ((e.VOXPIPE_WEBHOOK_URL === undefined) !== (e.VOXPIPE_WEBHOOK_SECRET === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  VOXPIPE_WEBHOOK_SECRET: a webhook needs both a URL and a whsec_ secret; set VOXPIPE_WEBHOOK_URL and VOXPIPE_WEBHOOK_SECRET (or --webhook and --webhook-secret)',
    );
  }
  return {
    provider: e.VOXPIPE_PROVIDER,
    baseUrl: e.VOXPIPE_BASE_URL,
    apiKey,
    model: e.VOXPIPE_MODEL,
    language: e.VOXPIPE_LANGUAGE,
    concurrency: e.VOXPIPE_CONCURRENCY,
    chunkSeconds: e.VOXPIPE_CHUNK_SECONDS,
    timestamps: e.VOXPIPE_TIMESTAMPS,
    ...(vocabularyList(e.VOXPIPE_VOCABULARY) ? { vocabulary: vocabularyList(e.VOXPIPE_VOCABULARY) } : {}),
    maxAttempts: e.VOXPIPE_MAX_ATTEMPTS,
    timeoutMs: e.VOXPIPE_TIMEOUT_SECONDS * 1000,
    workDir: e.VOXPIPE_WORK_DIR ?? join(homedir(), '.voxpipe'),
    tools: toolPathsOf(env, e),
    chat: chatConfig(e, apiKey, env),
    translateSpeech: e.VOXPIPE_TRANSLATE_SPEECH,
    contentGuard: e.VOXPIPE_CONTENT_GUARD,
    pauses: e.VOXPIPE_PAUSES,
    webhookUrl: e.VOXPIPE_WEBHOOK_URL,
    webhookSecret: e.VOXPIPE_WEBHOOK_SECRET,
  };
}

/**
 * Where the external programs are, as the adapters take it (`ffmpeg-binaries.ts`, `pocketsphinx.ts`): they read
 * no environment themselves.
 */
export interface ToolPaths {
  readonly ffmpegPath?: string;
  readonly ffprobePath?: string;
  readonly pocketsphinxPath?: string;
  /** Directories searched for executables not given explicitly (`PATH`). */
  readonly searchPath?: string;
  /** Scratch directory for temporary files (`TMPDIR`); unset: the OS default. */
  readonly tmpDir?: string;
}

const ToolEnv = EnvSchema.pick({ VOXPIPE_FFMPEG: true, VOXPIPE_FFPROBE: true, VOXPIPE_POCKETSPHINX: true });

/** The tool paths of an environment (`loadConfig` does this too; commands that need only the tools call it directly). */
export function toolPathsOf(env: NodeJS.ProcessEnv, parsed: z.output<typeof ToolEnv> = ToolEnv.parse(pickVoxpipe(env))): ToolPaths {
  return {
    ffmpegPath: parsed.VOXPIPE_FFMPEG,
    ffprobePath: parsed.VOXPIPE_FFPROBE,
    pocketsphinxPath: parsed.VOXPIPE_POCKETSPHINX,
    searchPath: env.PATH,
    tmpDir: env.TMPDIR || undefined,
  };
}

/**
 * What `voxpipe backfill` reads beyond `EnvSchema`: on an s3:// source the deployed stack transcribes, so the
 * provider here only prices the estimate (unset: assumed), the ingest bucket, and a custom S3 endpoint
 * (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, e.g. MinIO) that needs path-style addressing.
 */
export const BackfillEnv = z.object({
  VOXPIPE_PROVIDER: optionalString,
  VOXPIPE_BUCKET: optionalString,
  AWS_ENDPOINT_URL_S3: optionalString.pipe(z.url().optional()),
  AWS_ENDPOINT_URL: optionalString.pipe(z.url().optional()),
});

/** Parse `BackfillEnv`; throws one `ConfigError` naming every bad variable. */
export function backfillEnvOf(env: NodeJS.ProcessEnv): z.output<typeof BackfillEnv> & { readonly s3Endpoint?: string } {
  const parsed = BackfillEnv.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return { ...parsed.data, s3Endpoint: parsed.data.AWS_ENDPOINT_URL_S3 ?? parsed.data.AWS_ENDPOINT_URL };
}

/** `"Voxtral, chunk plan,, Mistral"` → `['Voxtral', 'chunk plan', 'Mistral']`; undefined when empty. */
export function vocabularyList(v: string | undefined): string[] | undefined {
  const terms = (v ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  return terms.length > 0 ? [...new Set(terms)] : undefined;
}

function pickVoxpipe(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The chat endpoint the enrichments call; absent when none is configured (the offline provider has no chat). */
export interface ChatConfig {
  readonly provider: ChatProviderName;
  readonly baseUrl?: string;
  readonly apiKey?: string;
  readonly model?: string;
  readonly contextTokens?: number;
}

/**
 * The chat endpoint: `VOXPIPE_CHAT_*`, else the transcription provider's own chat endpoint (same base URL
 * and key; DeepInfra's chat lives under the same origin). `offline` has no chat.
 */
function chatConfig(e: z.output<typeof EnvSchema>, apiKey: string | undefined, env: NodeJS.ProcessEnv): ChatConfig | undefined {
  const sameVendor = e.VOXPIPE_CHAT_PROVIDER === undefined || e.VOXPIPE_CHAT_PROVIDER === e.VOXPIPE_PROVIDER;
  const provider = e.VOXPIPE_CHAT_PROVIDER ?? (hasChat(e.VOXPIPE_PROVIDER) ? e.VOXPIPE_PROVIDER : undefined);
  if (!provider) return undefined;
  const vendorVar = vendorKeyVar(provider);
  return {
    provider,
    baseUrl: e.VOXPIPE_CHAT_BASE_URL ?? (sameVendor ? e.VOXPIPE_BASE_URL : undefined),
    apiKey: e.VOXPIPE_CHAT_API_KEY ?? (sameVendor ? apiKey : vendorVar ? env[vendorVar]?.trim() || undefined : undefined),
    // vLLM serves one model for both: the transcription model is the chat model unless told otherwise.
    model: e.VOXPIPE_CHAT_MODEL ?? (sameVendor && provider === 'openai-compatible' ? e.VOXPIPE_MODEL : undefined),
    contextTokens: e.VOXPIPE_CHAT_CONTEXT_TOKENS,
  };
}
