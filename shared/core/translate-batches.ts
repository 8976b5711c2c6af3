/**
 * Translation requests, planned segment by segment so timing survives: each batch carries segment ids,
 * fits the model's context together with its reply, and is independent of the others (they run in parallel).
 */
import { estimateTokens } from './chat-tokens.js';

/** One segment to translate. */
export interface TranslationItem {
  readonly id: number;
  readonly text: string;
}

/** Limits of one translation batch. */
export interface TranslationBudget {
  /** The model's context window, in tokens. */
  readonly contextTokens: number;
  /** Most segments per batch, so a bad reply costs little to redo. @default 40 */
  readonly maxSegments?: number;
}

/** Tokens of the instructions and JSON wrapper around the segments. */
export const TRANSLATION_PROMPT_TOKENS = 400;

/** Reply tokens reserved per prompt token of segments: translations run longer, plus JSON keys. */
const REPLY_RATIO = 2;

/**
 * Cut `items` into batches, in order, each within the budget: prompt + segments + the reply they need
 * ≤ context. A segment too long for any batch still gets a batch of its own (the model will tell).
 */
export function planTranslationBatches(items: readonly TranslationItem[], budget: TranslationBudget): TranslationItem[][] {
  const maxSegments = budget.maxSegments ?? 40;
  const segmentBudget = Math.max(1, Math.floor((budget.contextTokens - TRANSLATION_PROMPT_TOKENS) / (1 + REPLY_RATIO)));
  const batches: TranslationItem[][] = [];
  let current: TranslationItem[] = [];
  let tokens = 0;
  for (const item of items) {
    const cost = itemTokens(item);
    if (current.length > 0 && (tokens + cost > segmentBudget || current.length >= maxSegments)) {
      batches.push(current);
      current = [];
      tokens = 0;
    }
    current.push(item);
    tokens += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Reply tokens to allow for a batch. */
export function translationReplyTokens(batch: readonly TranslationItem[]): number {
  return 64 + REPLY_RATIO * batch.reduce((sum, item) => sum + itemTokens(item), 0);
}

/** JSON Schema of a translation reply (structured output). */
export const TRANSLATION_REPLY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['segments'],
  properties: {
    segments: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'text'],
        properties: { id: { type: 'integer' }, text: { type: 'string' } },
      },
    },
  },
} as const;

/** Name of the structured-output format of translation replies. */
export const TRANSLATION_FORMAT_NAME = 'translation';

/** Messages asking for the translation of one batch into `language`. */
export function translationMessages(language: string, batch: readonly TranslationItem[]) {
  return [
    {
      role: 'system' as const,
      content:
        `You translate subtitle segments into the language with ISO 639-1 code "${language}". ` +
        'Translate each segment on its own, keep its id, keep the order, never merge, split, drop or add segments, ' +
        'and never leave a text empty. Reply with JSON only: {"segments":[{"id":<id>,"text":"<translation>"}]}.',
    },
    { role: 'user' as const, content: JSON.stringify({ target_language: language, segments: batch }) },
  ];
}

function itemTokens(item: TranslationItem): number {
  return estimateTokens(item.text) + 8; // id, quotes, braces
}
