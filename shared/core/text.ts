/**
 * Small text helpers shared by stitching and rendering. Tokens are whitespace-separated
 * words with their punctuation attached, so joining tokens with one space restores the text.
 */

/** Splits text into whitespace-separated tokens; empty text gives no tokens. */
export function tokenize(text: string): string[] {
  return text.split(/\s+/u).filter((t) => t.length > 0);
}

/**
 * A token reduced to what speech models agree on across chunks: lower case, letters and digits only.
 * Two chunks hearing the same word may differ in case and punctuation ("So," vs "so").
 */
export function normalizeToken(token: string): string {
  return token.toLocaleLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** True when the text ends a sentence (., !, ?, …, CJK full stops), ignoring closing quotes and brackets. */
export function endsSentence(text: string): boolean {
  return /[.!?…。！？]["'”’)\]]*\s*$/u.test(text);
}

/** Collapses runs of whitespace to one space and trims; the one spelling of "the same text". */
export function cleanText(text: string): string {
  return tokenize(text).join(' ');
}
