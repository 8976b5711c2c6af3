/**
 * Enrich stage: after aggregation, translate, summarise, extract and answer a question over the stored
 * transcript with a chat model. Each part has its own status: a failed part records its reason and never
 * touches the transcript or the other parts. Every chat call goes through the shared call policy
 * (same retries, timeout and concurrency cap as transcription). Safe to run again: same keys, new bodies.
 * `translateSpeech` needs no chat model: the transcriber translates the chunk audio itself (speech-translate.ts).
 */
import { ContextLengthError } from '../core/chat-errors.js';
import { askAudioInstruction, askTranscriptMessages } from '../core/chat-ask.js';
import { estimateMessagesTokens } from '../core/chat-tokens.js';
import { chatLedger, withChatUsage } from '../core/chat-usage.js';
import { errorMessage, PermanentError } from '../core/errors.js';
import { CHAT_PROVIDERS } from '../core/provider-catalog.js';
import { compileExtractionSchema, extractionMessages } from '../core/extract-validate.js';
import { jobKeys } from '../core/keys.js';
import { formatOf, renderFormat, TRANSLATION_FORMATS } from '../core/formats.js';
import { mapReduceSummary, type Summarize, timestampedLine } from '../core/summary-map-reduce.js';
import { summaryMessages } from '../core/summary-prompts.js';
import {
  planTranslationBatches,
  TRANSLATION_FORMAT_NAME,
  TRANSLATION_REPLY_SCHEMA,
  type TranslationItem,
  translationMessages,
  translationReplyTokens,
} from '../core/translate-batches.js';
import { checkTranslationReply } from '../core/translate-reply.js';
import type { ChatCallUsage, EnrichmentResult, JobOptions, Transcript, TranslationResult } from '../core/types.js';
import type { BlobStore, CallPolicy, ChatMessage, ChatModel, ChatReply, ChatRequest, Logger, Transcriber } from '../ports.js';
import { translateSpeech } from './speech-translate.js';
import { readJson, writeJson } from './store-json.js';

/** The enrichments asked for; a subset of the job's options. */
export type EnrichOptions = Pick<JobOptions, 'translate' | 'summary' | 'extract' | 'ask' | 'translateSpeech'>;

export interface EnrichDeps {
  readonly store: BlobStore;
  /** Undefined when no chat provider is configured: every requested part fails with `noChatReason`. */
  readonly chat?: ChatModel;
  readonly noChatReason?: string;
  readonly policy: CallPolicy;
  readonly logger: Logger;
  /** The source audio for `--ask` on short files (mp3 or wav). Without it questions are answered over the transcript. */
  readonly loadAudio?: () => Promise<{ readonly data: Uint8Array; readonly format: 'mp3' | 'wav' }>;
  /** The job's speech-to-text provider, for `translateSpeech` (native speech → English; needs no chat model). */
  readonly transcriber?: Transcriber;
}

/** What the enrich stage wrote. */
export interface EnrichOutput {
  readonly transcript: Transcript;
  /** Result keys written (translations, summary, extraction), besides the updated `transcript.json`. */
  readonly resultKeys: readonly string[];
}

/** Re-asks of a batch whose reply failed validation, before it is split. */
const TRANSLATION_ATTEMPTS = 2;
/** How many times a bad batch is halved before its language is given up. */
const MAX_SPLIT_DEPTH = 3;

/** True when any enrichment is asked for. */
export function wantsEnrichment(options: EnrichOptions): boolean {
  return Boolean(options.translate?.length || options.summary || options.extract !== undefined || options.ask || options.translateSpeech);
}

/** Keys of the enrichment results of a job, next to `results/<jobId>/transcript.<ext>`. */
export function enrichKeys(jobId: string) {
  const { translation, summary, extraction } = jobKeys(jobId);
  return { translation, summary, extraction };
}

/**
 * The enrichment files of `transcript` as `[key, suffix]` pairs, where a local copy is named `<name>.<suffix>`
 * (`fr.srt`, `summary.md`, `extract.json`). Only parts that succeeded have files.
 */
export function enrichmentFiles(transcript: Transcript, formats: readonly string[]): [key: string, suffix: string][] {
  const keys = enrichKeys(transcript.id);
  const out: [string, string][] = [];
  for (const [language, t] of Object.entries(transcript.translations ?? {})) {
    if (t.status !== 'ok') continue;
    for (const ext of TRANSLATION_FORMATS) if (formats.includes(ext)) out.push([keys.translation(language, ext), `${language}.${ext}`]);
  }
  if (transcript.summary?.status === 'ok') out.push([keys.summary, 'summary.md']);
  if (transcript.extraction?.status === 'ok') out.push([keys.extraction, 'extract.json']);
  return out;
}

/** Run the requested enrichments over `results/<jobId>/transcript.json` and store the extended result. */
export async function enrichJob(jobId: string, options: EnrichOptions, deps: EnrichDeps): Promise<EnrichOutput> {
  const transcriptKey = jobKeys(jobId).result('json');
  const transcript = await readJson<Transcript>(deps.store, transcriptKey);
  const keys = enrichKeys(jobId);
  const calls: ChatCallUsage[] = [];
  const blocked = blockedReason(transcript, deps);
  const run = <T>(work: (chat: ChatModel) => Promise<T>, failed: (reason: string) => T): Promise<T> =>
    blocked || !deps.chat ? Promise.resolve(failed(blocked ?? 'no chat model')) : work(deps.chat).catch((err) => failed(errorMessage(err)));
  const ctx = (chat: ChatModel): PartContext => ({ chat, deps, transcript, calls, jobId });

  // Native speech translation owns `en` when asked for: the chat does not translate into English as well.
  const chatLanguages = (options.translate ?? []).filter((language) => !(options.translateSpeech && language === 'en'));
  const [chatTranslations, speech, summary, extraction, answer] = await Promise.all([
    chatLanguages.length
      ? Promise.all(
          chatLanguages.map(async (language) => [language, await run((chat) => translate(ctx(chat), language), failedPart)] as const),
        ).then((entries) => Object.fromEntries(entries))
      : undefined,
    options.translateSpeech
      ? transcript.status === 'completed'
        ? translateSpeech(jobId, deps).catch((err: unknown) => failedPart(`native speech translation to en failed: ${errorMessage(err)}`))
        : Promise.resolve(failedPart(`no transcript to work from: ${transcript.error ?? 'transcription failed'}`))
      : undefined,
    options.summary ? run((chat) => summarize(ctx(chat), typeof options.summary === 'object' ? options.summary.prompt : undefined), failedPart) : undefined,
    options.extract !== undefined ? run((chat) => extract(ctx(chat), options.extract), failedPart) : undefined,
    options.ask
      ? run((chat) => ask(ctx(chat), options.ask ?? ''), (reason) => ({ status: 'failed' as const, reason, mode: 'transcript' as const }))
      : undefined,
  ]);

  const translations = chatTranslations || speech ? { ...chatTranslations, ...(speech ? { en: speech } : {}) } : undefined;
  const written: string[] = [];
  const put = async (key: string, body: string, contentType: string) => {
    await deps.store.put(key, body, { contentType });
    written.push(key);
  };
  for (const [language, t] of Object.entries(translations ?? {})) {
    for (const ext of TRANSLATION_FORMATS) {
      if (t.status === 'ok') await put(keys.translation(language, ext), renderFormat(ext, { transcript: t, segments: t.segments }), formatOf(ext).contentType);
      else await deps.store.delete(keys.translation(language, ext));
    }
  }
  if (summary?.status === 'ok') await put(keys.summary, `# Summary of ${transcript.source}\n\n${summary.text}\n`, 'text/markdown; charset=utf-8');
  else if (summary) await deps.store.delete(keys.summary);
  if (extraction?.status === 'ok') await put(keys.extraction, `${JSON.stringify(extraction.data, null, 2)}\n`, 'application/json');
  else if (extraction) await deps.store.delete(keys.extraction);

  const enriched: Transcript = {
    ...transcript,
    ...(translations ? { translations } : {}),
    ...(summary ? { summary } : {}),
    ...(extraction ? { extraction } : {}),
    ...(answer ? { answer } : {}),
    ...(deps.chat && calls.length > 0 ? { usage: withChatUsage(transcript.usage, chatLedger(deps.chat.provider, deps.chat.model, calls)) } : {}),
  };
  await writeJson(deps.store, transcriptKey, enriched);
  deps.logger.info('job enriched', {
    jobId,
    translations: Object.fromEntries(Object.entries(translations ?? {}).map(([l, t]) => [l, t.status])),
    summary: summary?.status,
    extraction: extraction?.status,
    answer: answer?.status,
    chatCalls: calls.length,
  });
  return { transcript: enriched, resultKeys: written };
}

interface PartContext {
  readonly chat: ChatModel;
  readonly deps: EnrichDeps;
  readonly transcript: Transcript;
  readonly calls: ChatCallUsage[];
  readonly jobId: string;
}

function failedPart(reason: string): { status: 'failed'; reason: string } {
  return { status: 'failed', reason };
}

function blockedReason(transcript: Transcript, deps: EnrichDeps): string | undefined {
  if (transcript.status !== 'completed') return `no transcript to work from: ${transcript.error ?? 'transcription failed'}`;
  if (!deps.chat) {
    return deps.noChatReason ?? `no chat provider configured: set VOXPIPE_CHAT_PROVIDER (${CHAT_PROVIDERS.join(', ')})`;
  }
  return undefined;
}

/** One chat call through the policy, recorded in the ledger whether it succeeds or not. */
async function callChat(ctx: PartContext, task: string, req: ChatRequest): Promise<ChatReply> {
  try {
    const { value, attempts } = await ctx.deps.policy.run(req.label, (signal) => ctx.chat.complete(req, signal));
    ctx.calls.push({ task, attempts, ...value.usage });
    return value;
  } catch (err) {
    const attempts = (err as { attempts?: unknown }).attempts;
    ctx.calls.push({ task, attempts: typeof attempts === 'number' ? attempts : 1 });
    throw err;
  }
}

// ── translation ────────────────────────────────────────────────────────────────────────────────────

async function translate(ctx: PartContext, language: string): Promise<EnrichmentResult<TranslationResult>> {
  const items: TranslationItem[] = ctx.transcript.segments.map((s) => ({ id: s.id, text: s.text }));
  const batches = planTranslationBatches(items, { contextTokens: ctx.chat.capabilities.contextTokens });
  const state = { failed: false };
  let texts: Map<number, string>[];
  try {
    texts = await Promise.all(
      batches.map((batch, i) =>
        translateBatch(ctx, language, batch, `job ${ctx.jobId} translate:${language} batch ${i + 1}/${batches.length}`, 0, state).catch((err) => {
          state.failed = true; // stop the language's other batches from starting new calls
          throw err;
        }),
      ),
    );
  } catch (err) {
    return failedPart(`translation to ${language} failed: ${errorMessage(err)}`);
  }
  const byId = new Map(texts.flatMap((m) => [...m]));
  const segments = ctx.transcript.segments.map((s) => ({ id: s.id, start: s.start, end: s.end, text: byId.get(s.id) ?? '' }));
  return { status: 'ok', text: segments.map((s) => s.text).join(' '), segments };
}

async function translateBatch(
  ctx: PartContext,
  language: string,
  batch: readonly TranslationItem[],
  label: string,
  depth: number,
  state: { failed: boolean },
): Promise<Map<number, string>> {
  const split = async () => {
    const half = Math.ceil(batch.length / 2);
    const parts = await Promise.all([
      translateBatch(ctx, language, batch.slice(0, half), `${label}a`, depth + 1, state),
      translateBatch(ctx, language, batch.slice(half), `${label}b`, depth + 1, state),
    ]);
    return new Map([...parts[0], ...parts[1]]);
  };
  let reason = '';
  for (let attempt = 1; attempt <= TRANSLATION_ATTEMPTS; attempt += 1) {
    if (state.failed) throw new PermanentError(`${label}: abandoned, another batch of this language failed`);
    const messages: ChatMessage[] = translationMessages(language, batch);
    if (reason) {
      messages.push({
        role: 'user',
        content: `Your previous reply was rejected: ${reason}. Reply again with exactly ${batch.length} segments, ids ${batch.map((b) => b.id).join(', ')}, none empty.`,
      });
    }
    let reply: ChatReply;
    try {
      reply = await callChat(ctx, `translate:${language}`, {
        label,
        messages,
        json: { name: TRANSLATION_FORMAT_NAME, schema: TRANSLATION_REPLY_SCHEMA as unknown as Record<string, unknown>, strict: true },
        maxTokens: translationReplyTokens(batch),
      });
    } catch (err) {
      if (err instanceof ContextLengthError && batch.length > 1) return split();
      throw err;
    }
    const check = checkTranslationReply(reply.text, batch);
    if (check.ok) return new Map(check.texts);
    reason = check.reason;
    ctx.deps.logger.warn('translation reply rejected', { label, attempt, reason });
  }
  if (batch.length > 1 && depth < MAX_SPLIT_DEPTH) return split();
  const first = batch[0]?.id;
  const last = batch.at(-1)?.id;
  throw new PermanentError(`${label} (segments ${first}–${last}): ${reason}, still after a re-ask${depth > 0 ? ' and splitting the batch' : ''}`);
}

// ── summary, question ──────────────────────────────────────────────────────────────────────────────

function transcriptLines(t: Transcript): string[] {
  return t.segments.map((s) => timestampedLine(s.start, s.text));
}

/**
 * Map-reduce within the model's context. If the provider still says the context was exceeded (our token
 * estimate was off for this text), run again with half the budget once.
 */
async function boundedMapReduce(ctx: PartContext, lines: readonly string[], call: Summarize): Promise<string> {
  const contextTokens = ctx.chat.capabilities.contextTokens;
  try {
    return await mapReduceSummary(lines, { contextTokens }, call);
  } catch (err) {
    if (!(err instanceof ContextLengthError)) throw err;
    return mapReduceSummary(lines, { contextTokens: Math.floor(contextTokens / 2) }, call);
  }
}

async function summarize(ctx: PartContext, prompt: string | undefined): Promise<EnrichmentResult<{ text: string }>> {
  let n = 0;
  const text = await boundedMapReduce(ctx, transcriptLines(ctx.transcript), async (part, step, replyTokens) => {
    n += 1;
    const reply = await callChat(ctx, 'summary', {
      label: `job ${ctx.jobId} summary ${step} ${n}`,
      messages: summaryMessages(part, step, prompt),
      maxTokens: replyTokens,
    });
    if (reply.text.trim() === '') throw new PermanentError(`job ${ctx.jobId} summary: the model returned an empty ${step} summary`);
    return reply.text.trim();
  });
  return { status: 'ok', text };
}

async function ask(ctx: PartContext, question: string): Promise<EnrichmentResult<{ text: string }> & { mode: 'audio' | 'transcript' }> {
  const { chat, deps, transcript } = ctx;
  if (deps.loadAudio && chat.capabilities.maxAudioSeconds > 0 && transcript.durationSeconds <= chat.capabilities.maxAudioSeconds) {
    try {
      const audio = await deps.loadAudio();
      const reply = await callChat(ctx, 'ask', {
        label: `job ${ctx.jobId} ask (audio)`,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'audio', data: audio.data, format: audio.format, seconds: transcript.durationSeconds },
              { type: 'text', text: askAudioInstruction(question) },
            ],
          },
        ],
        maxTokens: 1024,
      });
      if (reply.text.trim() !== '') return { status: 'ok', text: reply.text.trim(), mode: 'audio' };
      deps.logger.warn('empty answer from audio; answering over the transcript', { jobId: ctx.jobId });
    } catch (err) {
      // The transcript is a faithful fallback: a model or route that refuses audio can still read text.
      deps.logger.warn('question over audio failed; answering over the transcript', { jobId: ctx.jobId, error: errorMessage(err) });
    }
  }
  let n = 0;
  const text = await boundedMapReduce(ctx, transcriptLines(transcript), async (part, step, replyTokens) => {
    n += 1;
    const reply = await callChat(ctx, 'ask', {
      label: `job ${ctx.jobId} ask ${step} ${n}`,
      messages: askTranscriptMessages(part, step, question),
      maxTokens: replyTokens,
    });
    return reply.text.trim();
  });
  if (text === '') throw new PermanentError(`job ${ctx.jobId} ask: the model returned an empty answer`);
  return { status: 'ok', text, mode: 'transcript' };
}

// ── extraction ─────────────────────────────────────────────────────────────────────────────────────

/** Reply tokens allowed for extracted JSON. */
const EXTRACTION_REPLY_TOKENS = 2048;

async function extract(ctx: PartContext, schema: unknown): Promise<EnrichmentResult<{ data: unknown }>> {
  const check = compileExtractionSchema(schema);
  const messages: ChatMessage[] = extractionMessages(transcriptLines(ctx.transcript).join('\n'), schema);
  const context = ctx.chat.capabilities.contextTokens;
  const needed = estimateMessagesTokens(messages as { content: string }[]) + EXTRACTION_REPLY_TOKENS;
  if (needed > context) {
    return failedPart(
      `extraction needs the whole transcript in one call (≈${needed} tokens) but the model's context is ${context} tokens; ` +
        'use a model with a larger context (VOXPIPE_CHAT_MODEL, VOXPIPE_CHAT_CONTEXT_TOKENS) or a shorter file',
    );
  }
  const request = (msgs: ChatMessage[], attempt: number): ChatRequest => ({
    label: `job ${ctx.jobId} extract attempt ${attempt}`,
    messages: msgs,
    json: { name: 'extraction', schema: schema as Record<string, unknown> },
    maxTokens: EXTRACTION_REPLY_TOKENS,
  });
  const first = await callChat(ctx, 'extract', request(messages, 1));
  const firstCheck = check(first.text);
  if (firstCheck.ok) return { status: 'ok', data: firstCheck.data };
  const correction: ChatMessage = {
    role: 'user',
    content: `Your JSON did not match the schema: ${firstCheck.errors.slice(0, 20).join('; ')}. Reply with corrected JSON only.`,
  };
  const withReply: ChatMessage[] = [...messages, { role: 'assistant', content: first.text.slice(0, EXTRACTION_REPLY_TOKENS * 3) }, correction];
  // Show the model its own reply when that still fits the context; else only the errors.
  const fits = estimateMessagesTokens(withReply as { content: string }[]) + EXTRACTION_REPLY_TOKENS <= context;
  const retry = fits ? withReply : [...messages, correction];
  const second = await callChat(ctx, 'extract', request(retry, 2));
  const secondCheck = check(second.text);
  if (secondCheck.ok) return { status: 'ok', data: secondCheck.data };
  return failedPart(`the extracted JSON does not match the schema, also after a retry: ${secondCheck.errors.join('; ')}`);
}
