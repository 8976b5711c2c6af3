/**
 * Every speech-to-text provider voxpipe can call, as data (derived lists and helpers: `provider-catalog.ts`):
 * the one list that the configuration schema (`VOXPIPE_PROVIDER`, `VOXPIPE_CHAT_PROVIDER`), the profiles schema,
 * the CDK context (`-c provider`, `-c chatProvider`), the CLI's `--provider` choices and help, the chat models, the Lambda model defaults and
 * the backfill price estimate all derive from. Pure (no code of the vendors): the clients that go with each
 * entry are in `shared/providers/registry.ts`, which TypeScript refuses to build until every name here has one.
 *
 * Adding a provider: one entry here, its factory in `shared/providers/registry.ts` (see docs/ARCHITECTURE.md).
 */

/** What a provider's API offers, as documented: used for help texts and documentation, not for planning. */
export interface ProviderFeatures {
  /** Word-level timestamps (`--words`). */
  readonly wordTimestamps: boolean;
  /** Speaker labels (`--diarize`). */
  readonly diarization: boolean;
  /** A field that biases recognition towards given terms (`--vocabulary`; Mistral `context_bias`). */
  readonly contextBias: boolean;
  /** Native speech translation into English (`--translate-speech`). */
  readonly speechTranslation: boolean;
}

/** The vendor's chat endpoint (translations, summaries, extraction, questions). */
export interface ProviderChat {
  /** Chat-capable Voxtral model at this vendor. */
  readonly defaultModel: string;
  /** Path appended to the API root. */
  readonly path: string;
  /** Request/response spelling of the chat completions API. */
  readonly dialect: 'openai' | 'mistral';
  /** Audio accepted inside a chat message (questions about the audio itself); false: answered over the transcript. */
  readonly audioInChat: boolean;
}

/** One provider. */
export interface ProviderInfo {
  /** Human name, e.g. `Mistral`. */
  readonly label: string;
  /** One line for `voxpipe --help`, after the name. */
  readonly help: string;
  /** Model used when none is configured. */
  readonly defaultModel: string;
  /** API root exactly as the vendor documents it; absent for a local provider. */
  readonly defaultBaseUrl?: string;
  /** Example API root for the help text (defaults to `defaultBaseUrl`). */
  readonly baseUrlExample?: string;
  /** The vendor's usual API-key variable, accepted when `VOXPIPE_API_KEY` is unset. */
  readonly apiKeyVar?: string;
  /** Calls are refused without a key (self-hosted OpenAI-compatible servers often need none). */
  readonly keyRequired: boolean;
  /**
   * Transcription list price per audio minute, USD, for the default model, as published when this was written;
   * used only for estimates and for the backfill budget when a provider reports no cost (`--usd-per-minute`).
   */
  readonly usdPerAudioMinute: number;
  /** Where the price comes from. */
  readonly priceNote: string;
  readonly features: ProviderFeatures;
  /** Chat endpoint; absent when the vendor has none (offline). */
  readonly chat?: ProviderChat;
  /** Deployable on AWS (`cdk deploy -c provider=…`): Lambda can reach it. */
  readonly aws: boolean;
}

/** The providers, in the order help texts list them. `offline` is the default of the CLI. */
export const PROVIDER_CATALOG = {
  offline: {
    label: 'offline',
    help: 'pocketsphinx, bundled English model, low accuracy, English only, no account.',
    defaultModel: 'pocketsphinx-en-us',
    keyRequired: false,
    usdPerAudioMinute: 0,
    priceNote: 'local pocketsphinx, free',
    features: { wordTimestamps: true, diarization: false, contextBias: false, speechTranslation: false },
    aws: false,
  },
  'openai-compatible': {
    label: 'OpenAI-compatible',
    help: 'vLLM serving Voxtral, or any server speaking the OpenAI audio API.',
    defaultModel: 'mistralai/Voxtral-Mini-3B-2507',
    defaultBaseUrl: 'http://127.0.0.1:8000/v1',
    baseUrlExample: 'http://host:8000/v1',
    apiKeyVar: 'OPENAI_API_KEY',
    keyRequired: false,
    usdPerAudioMinute: 0.006,
    priceNote: "OpenAI's whisper-1 price; a self-hosted vLLM costs what your GPU costs",
    features: { wordTimestamps: true, diarization: false, contextBias: false, speechTranslation: true },
    chat: { defaultModel: 'mistralai/Voxtral-Mini-3B-2507', path: '/chat/completions', dialect: 'openai', audioInChat: true },
    aws: true,
  },
  mistral: {
    label: 'Mistral',
    help: "Mistral's API (Voxtral Mini Transcribe; word timestamps, speaker labels, context_bias).",
    defaultModel: 'voxtral-mini-latest',
    defaultBaseUrl: 'https://api.mistral.ai',
    apiKeyVar: 'MISTRAL_API_KEY',
    keyRequired: true,
    usdPerAudioMinute: 0.001,
    priceNote: 'Voxtral Mini Transcribe',
    features: { wordTimestamps: true, diarization: true, contextBias: true, speechTranslation: false },
    chat: { defaultModel: 'voxtral-small-latest', path: '/v1/chat/completions', dialect: 'mistral', audioInChat: true },
    aws: true,
  },
  openrouter: {
    label: 'OpenRouter',
    help: 'Voxtral through OpenRouter (no timestamps: text is timed from the cut plan).',
    defaultModel: 'mistralai/voxtral-mini-transcribe',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    apiKeyVar: 'OPENROUTER_API_KEY',
    keyRequired: true,
    usdPerAudioMinute: 0.001,
    priceNote: 'Voxtral Mini through OpenRouter',
    features: { wordTimestamps: false, diarization: false, contextBias: false, speechTranslation: false },
    chat: { defaultModel: 'mistralai/voxtral-small-24b-2507', path: '/chat/completions', dialect: 'openai', audioInChat: true },
    aws: true,
  },
  deepinfra: {
    label: 'DeepInfra',
    help: 'Voxtral Small on DeepInfra (word timestamps, speech translation).',
    defaultModel: 'mistralai/Voxtral-Small-24B-2507',
    defaultBaseUrl: 'https://api.deepinfra.com',
    apiKeyVar: 'DEEPINFRA_API_KEY',
    keyRequired: true,
    usdPerAudioMinute: 0.003,
    priceNote: 'Voxtral Small 24B',
    features: { wordTimestamps: true, diarization: false, contextBias: false, speechTranslation: true },
    // DeepInfra serves chat on its OpenAI-compatible route; audio in chat there is undocumented, so questions
    // are answered over the transcript.
    chat: { defaultModel: 'mistralai/Voxtral-Small-24B-2507', path: '/v1/openai/chat/completions', dialect: 'openai', audioInChat: false },
    aws: true,
  },
} as const satisfies Record<string, ProviderInfo>;
