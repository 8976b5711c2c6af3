/**
 * Summary of a transcript of any length, bounded by the model's context: the timestamped transcript is
 * cut into sections that fit one call (map), the section summaries are grouped into calls that fit
 * (reduce), level by level, until one call holds everything. No call's prompt exceeds the budget.
 */
import { estimateTokens } from './chat-tokens.js';

/** Context budget of the summary calls. */
export interface SummaryBudget {
  /** The model's context window, in tokens. */
  readonly contextTokens: number;
}

/** Which kind of call `summarize` is asked to make. */
export type SummaryStep = 'whole' | 'section' | 'combine' | 'final';

/** Makes one summary call over `text` (which fits `inputTokens`), replying within `replyTokens`. */
export type Summarize = (text: string, step: SummaryStep, replyTokens: number) => Promise<string>;

/** Tokens of the instructions around the text (custom prompt included, up to ≈1 000 characters). */
export const SUMMARY_PROMPT_TOKENS = 600;

/** Per-call limits derived from the context: reply size and the text that fits beside it. */
export function summaryLimits(budget: SummaryBudget): { replyTokens: number; inputTokens: number } {
  const usable = budget.contextTokens - SUMMARY_PROMPT_TOKENS;
  if (usable < 300) throw new RangeError(`summary: a context of ${budget.contextTokens} tokens is too small`);
  // A reply at most a quarter of what fits, so each reduce call combines at least three summaries.
  const replyTokens = Math.min(1024, Math.floor(usable / 5));
  return { replyTokens, inputTokens: usable - replyTokens };
}

/** Run map-reduce over `lines` (e.g. `[00:01:02] text`). */
export async function mapReduceSummary(lines: readonly string[], budget: SummaryBudget, summarize: Summarize): Promise<string> {
  const { replyTokens, inputTokens } = summaryLimits(budget);
  const sections = packLines(lines, inputTokens);
  if (sections.length <= 1) return summarize(sections[0] ?? '', 'whole', replyTokens);
  let summaries = await Promise.all(sections.map((s) => summarize(s, 'section', replyTokens)));
  for (;;) {
    // A reply may overrun its budget a little: cut it so the next level still fits.
    const groups = packLines(summaries.map((s) => clip(s, replyTokens)), inputTokens, '\n\n');
    if (groups.length === 1) return summarize(groups[0] ?? '', 'final', replyTokens);
    summaries = await Promise.all(groups.map((g) => summarize(g, 'combine', replyTokens)));
  }
}

/**
 * Join lines into texts of at most `maxTokens` (estimated) each, in order. A line longer than that is
 * cut at word boundaries (at characters when a word alone is too long).
 */
export function packLines(lines: readonly string[], maxTokens: number, separator = '\n'): string[] {
  const out: string[] = [];
  let current = '';
  const push = (piece: string) => {
    const joined = current === '' ? piece : `${current}${separator}${piece}`;
    if (estimateTokens(joined) <= maxTokens) {
      current = joined;
      return;
    }
    if (current !== '') out.push(current);
    current = piece;
  };
  for (const line of lines) for (const piece of cutLine(line, maxTokens)) push(piece);
  if (current !== '') out.push(current);
  return out;
}

/** A timestamped transcript line: `[hh:mm:ss] text`. */
export function timestampedLine(start: number, text: string): string {
  const s = Math.floor(start);
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `[${hh}:${mm}:${ss}] ${text}`;
}

function cutLine(line: string, maxTokens: number): string[] {
  if (estimateTokens(line) <= maxTokens) return [line];
  const pieces: string[] = [];
  let current = '';
  for (const word of line.split(/\s+/)) {
    for (const part of cutWord(word, maxTokens)) {
      const joined = current === '' ? part : `${current} ${part}`;
      if (estimateTokens(joined) <= maxTokens) current = joined;
      else {
        if (current !== '') pieces.push(current);
        current = part;
      }
    }
  }
  if (current !== '') pieces.push(current);
  return pieces;
}

function cutWord(word: string, maxTokens: number): string[] {
  const maxChars = maxTokens * 3; // CHARS_PER_TOKEN
  const parts: string[] = [];
  for (let i = 0; i < word.length; i += maxChars) parts.push(word.slice(i, i + maxChars));
  return parts;
}

function clip(text: string, maxTokens: number): string {
  return estimateTokens(text) <= maxTokens ? text : text.slice(0, maxTokens * 3);
}
