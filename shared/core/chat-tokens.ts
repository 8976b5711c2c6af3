/**
 * Token estimates for planning chat requests. Deliberately pessimistic (≈3 characters per token,
 * where English averages ≈4) so a planned request stays inside the context for other scripts too.
 */

/** Characters counted as one token. */
export const CHARS_PER_TOKEN = 3;

/** Fixed cost of one message (role, separators). */
const MESSAGE_OVERHEAD_TOKENS = 4;

/** Estimated tokens of a text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Estimated prompt tokens of a list of text messages. */
export function estimateMessagesTokens(messages: readonly { readonly content: string }[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
}
