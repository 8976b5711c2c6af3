/** Checks a model's translation reply before it is trusted: same ids, same count, no empty text. */
import type { TranslationItem } from './translate-batches.js';

/** A usable reply (texts by id) or why it is not. */
export type TranslationCheck = { readonly ok: true; readonly texts: ReadonlyMap<number, string> } | { readonly ok: false; readonly reason: string };

/** Parse and check the reply to a batch. The reason is written to be sent back to the model on a re-ask. */
export function checkTranslationReply(reply: string, batch: readonly TranslationItem[]): TranslationCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripFences(reply));
  } catch {
    return { ok: false, reason: 'the reply is not valid JSON' };
  }
  const segments = typeof parsed === 'object' && parsed !== null ? (parsed as { segments?: unknown }).segments : undefined;
  if (!Array.isArray(segments)) return { ok: false, reason: 'the reply has no "segments" array' };
  if (segments.length !== batch.length) {
    return { ok: false, reason: `expected ${batch.length} segments, got ${segments.length}` };
  }
  const expected = new Set(batch.map((item) => item.id));
  const texts = new Map<number, string>();
  for (const s of segments as unknown[]) {
    const { id, text } = (typeof s === 'object' && s !== null ? s : {}) as { id?: unknown; text?: unknown };
    if (typeof id !== 'number' || !expected.has(id)) return { ok: false, reason: `unexpected segment id ${JSON.stringify(id)}` };
    if (texts.has(id)) return { ok: false, reason: `segment id ${id} appears twice` };
    if (typeof text !== 'string' || text.trim() === '') return { ok: false, reason: `segment ${id} has an empty text` };
    texts.set(id, text.trim());
  }
  return { ok: true, texts };
}

/** Models sometimes wrap JSON in a Markdown code fence even in JSON mode. */
export function stripFences(text: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m?.[1] ?? text;
}
