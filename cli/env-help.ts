/**
 * The configuration help shown after `voxpipe --help` and `voxpipe transcribe --help`, generated from one table
 * (`ENV_VARS`) and the provider registry. A unit test keeps the table equal to the configuration schema
 * (`shared/config.ts` `EnvSchema`) and to the README's configuration table.
 */
import { RESULT_FORMATS } from '../shared/core/formats.js';
import { CHAT_PROVIDERS, PROVIDER_CATALOG, PROVIDERS, providerInfo, providersWith } from '../shared/core/provider-catalog.js';

/** One line group of the help: the variables it documents (several share a line) and its text. */
export interface EnvVarHelp {
  readonly names: readonly string[];
  /** Lines of text; continuation lines are indented under the first. */
  readonly text: readonly string[];
}

const providerList = PROVIDERS.join(' | ');
const keyVars = PROVIDERS.flatMap((p) => providerInfo(p).apiKeyVar ?? []);
const baseUrls = PROVIDERS.flatMap((p) => {
  const info = providerInfo(p);
  const url = info.baseUrlExample ?? info.defaultBaseUrl;
  return url ? [`  ${url.padEnd(28)} (${info.label})`] : [];
});
const offline = Object.keys(PROVIDER_CATALOG)[0] as keyof typeof PROVIDER_CATALOG;

/** Every variable the CLI reads, in help order. */
export const ENV_VARS: readonly EnvVarHelp[] = [
  { names: ['VOXPIPE_PROVIDER'], text: [`${providerList}   (default: ${offline})`, ...PROVIDERS.filter((p) => !providerInfo(p).defaultBaseUrl).map((p) => `${p} = ${providerInfo(p).help}`)] },
  { names: ['VOXPIPE_BASE_URL'], text: ['API root exactly as the vendor documents it, e.g.', ...baseUrls] },
  { names: ['VOXPIPE_API_KEY'], text: [`API key; otherwise ${keyVars.slice(0, -1).join(', ')} or ${keyVars.at(-1)}`, 'is used for the matching provider.'] },
  { names: ['VOXPIPE_MODEL'], text: ["model id (default: the provider's Voxtral model)"] },
  { names: ['VOXPIPE_LANGUAGE'], text: ['ISO 639-1 language of the audio (default: detected by the provider)'] },
  { names: ['VOXPIPE_CONCURRENCY'], text: ['parallel provider calls, never exceeded, retries included (default 8)'] },
  { names: ['VOXPIPE_CHUNK_SECONDS'], text: ['target chunk length; cuts are made only inside pauses (default 120)'] },
  { names: ['VOXPIPE_TIMESTAMPS'], text: ['auto | provider | cut-plan (default auto: per provider capability)'] },
  { names: ['VOXPIPE_VOCABULARY'], text: [`words and phrases to bias recognition towards, comma separated (${providersWith('contextBias').join(', ')})`] },
  { names: ['VOXPIPE_MAX_ATTEMPTS'], text: ['attempts per provider call for 429/5xx/timeouts (default 6)'] },
  { names: ['VOXPIPE_TIMEOUT_SECONDS'], text: ['per-attempt timeout; a hung call is abandoned and retried (default 300)'] },
  { names: ['VOXPIPE_WORK_DIR'], text: ['job store and scratch space (default ~/.voxpipe)'] },
  { names: ['VOXPIPE_FFMPEG', 'VOXPIPE_FFPROBE'], text: ['ffmpeg/ffprobe binaries (default: from PATH)'] },
  { names: ['VOXPIPE_POCKETSPHINX'], text: ['pocketsphinx_continuous of the offline provider (default: from PATH)'] },
  {
    names: ['VOXPIPE_CHAT_PROVIDER'],
    text: ['chat model for --translate/--summary/--extract/--ask:', `${CHAT_PROVIDERS.join(' | ')} (default: the transcription provider's;`, `${PROVIDERS.filter((p) => !(CHAT_PROVIDERS as readonly string[]).includes(p)).join(', ')} has none)`],
  },
  { names: ['VOXPIPE_CHAT_MODEL'], text: ["chat model id (default: the vendor's Voxtral chat model)"] },
  { names: ['VOXPIPE_CHAT_BASE_URL'], text: ['chat API root (default: the transcription base URL when the vendor is the same)'] },
  { names: ['VOXPIPE_CHAT_API_KEY'], text: ['chat key when the chat vendor differs (else its vendor key variable)'] },
  { names: ['VOXPIPE_CHAT_CONTEXT_TOKENS'], text: ["the chat model's context window (default 32768); requests are planned to fit"] },
  { names: ['VOXPIPE_TRANSLATE_SPEECH'], text: ['true: as --translate-speech (default false)'] },
  { names: ['VOXPIPE_CONTENT_GUARD'], text: ['retry|off: re-ask suspect chunks (default retry)'] },
  { names: ['VOXPIPE_PAUSES'], text: ['auto|silero|energy: pause finder (default auto: Silero VAD, energy detector for non-speech)'] },
  { names: ['VOXPIPE_WEBHOOK_URL'], text: ['POST job.completed / job.failed there, signed per Standard Webhooks'] },
  {
    names: ['VOXPIPE_WEBHOOK_SECRET'],
    text: [
      'whsec_… signing secret (verify with the standardwebhooks library)',
      'Locally a failing receiver is retried after 5 s, 30 s and 2 min (10 s timeout per',
      'attempt), then the event is written to <work-dir>/store/webhooks/dead-letter/.',
    ],
  },
];

/** Every variable documented by `ENV_VARS`. */
export const ENV_VAR_NAMES: readonly string[] = ENV_VARS.flatMap((v) => v.names);

const NAME_WIDTH = 28;

function helpLines(v: EnvVarHelp): string[] {
  const label = `  ${v.names.join(', ')}`;
  const [first = '', ...rest] = v.text;
  const head = label.length < NAME_WIDTH - 1 ? `${label.padEnd(NAME_WIDTH)}${first}` : `${label} ${first}`;
  return [head, ...rest.map((line) => `${' '.repeat(NAME_WIDTH)}${line}`)];
}

/** The help text: the variables, then what is written and the exit codes. `formats`: the result formats. */
export function envHelp(formats: readonly string[]): string {
  return [
    '',
    'Configuration (environment variables; the flags above override them):',
    ...ENV_VARS.flatMap(helpLines),
    '',
    `Outputs: <out>/<name>.${formats[0]}, ${formats.slice(1).map((f) => `.${f}`).join(', ')} per input (name = file name without extension).`,
    'Re-running the same file with the same options resumes its job: finished chunks are not sent again.',
    'Exit code: 0 when every file completed, 1 when any failed, 2 for bad usage or configuration.',
    '',
  ].join('\n');
}

/** The help shown after `voxpipe --help` and `voxpipe transcribe --help`. */
export const ENV_HELP = envHelp(RESULT_FORMATS);
