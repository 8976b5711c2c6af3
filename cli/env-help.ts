/** The configuration help shown after `voxpipe --help` and `voxpipe transcribe --help`. */
export const ENV_HELP = `
Configuration (environment variables; the flags above override them):
  VOXPIPE_PROVIDER         offline | openai-compatible | mistral | openrouter | deepinfra   (default: offline)
                           offline = pocketsphinx, bundled English model, low accuracy, English only, no account.
  VOXPIPE_BASE_URL         API root exactly as the vendor documents it, e.g.
                             http://host:8000/v1            (vLLM / any OpenAI-compatible server)
                             https://api.mistral.ai         (Mistral)
                             https://openrouter.ai/api/v1   (OpenRouter)
                             https://api.deepinfra.com      (DeepInfra)
  VOXPIPE_API_KEY          API key; otherwise MISTRAL_API_KEY, OPENROUTER_API_KEY, OPENAI_API_KEY or
                           DEEPINFRA_API_KEY is used for the matching provider.
  VOXPIPE_MODEL            model id (default: the provider's Voxtral model)
  VOXPIPE_LANGUAGE         ISO 639-1 language of the audio (default: detected by the provider)
  VOXPIPE_CONCURRENCY      parallel provider calls, never exceeded, retries included (default 8)
  VOXPIPE_CHUNK_SECONDS    target chunk length; cuts are made only inside pauses (default 120)
  VOXPIPE_TIMESTAMPS       auto | provider | cut-plan (default auto: per provider capability)
  VOXPIPE_VOCABULARY       words and phrases to bias recognition towards, comma separated (Mistral)
  VOXPIPE_MAX_ATTEMPTS     attempts per provider call for 429/5xx/timeouts (default 6)
  VOXPIPE_TIMEOUT_SECONDS  per-attempt timeout; a hung call is abandoned and retried (default 300)
  VOXPIPE_WORK_DIR         job store and scratch space (default ~/.voxpipe)
  VOXPIPE_FFMPEG, VOXPIPE_FFPROBE   ffmpeg/ffprobe binaries (default: from PATH)
  VOXPIPE_CHAT_PROVIDER    chat model for --translate/--summary/--extract/--ask: openai-compatible | mistral |
                           openrouter | deepinfra (default: the transcription provider's; offline has none)
  VOXPIPE_CHAT_MODEL       chat model id (default: the vendor's Voxtral chat model)
  VOXPIPE_CHAT_BASE_URL    chat API root (default: the transcription base URL when the vendor is the same)
  VOXPIPE_CHAT_API_KEY     chat key when the chat vendor differs (else its vendor key variable)
  VOXPIPE_CHAT_CONTEXT_TOKENS  the chat model's context window (default 32768); requests are planned to fit
  VOXPIPE_TRANSLATE_SPEECH true: as --translate-speech (default false)
  VOXPIPE_CONTENT_GUARD    retry|off: re-ask suspect chunks (default retry)
  VOXPIPE_WEBHOOK_URL      POST job.completed / job.failed there, signed per Standard Webhooks
  VOXPIPE_WEBHOOK_SECRET   whsec_… signing secret (verify with the standardwebhooks library)
                           Locally a failing receiver is retried after 5 s, 30 s and 2 min (10 s timeout per
                           attempt), then the event is written to <work-dir>/store/webhooks/dead-letter/.

Outputs: <out>/<name>.json, .txt, .srt, .vtt per input (name = file name without extension).
Re-running the same file with the same options resumes its job: finished chunks are not sent again.
Exit code: 0 when every file completed, 1 when any failed, 2 for bad usage or configuration.
`;
