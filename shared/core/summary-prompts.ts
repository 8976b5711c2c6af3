/** The instructions of each summary call. The user's `--summary-prompt` shapes the final (or only) summary. */
import type { SummaryStep } from './summary-map-reduce.js';

/** Default instruction for the final summary. */
export const DEFAULT_SUMMARY_PROMPT =
  'Summarise this transcript in Markdown: a one-paragraph overview, then the key points as bullets with their [hh:mm:ss] timestamps.';

/** Longest custom prompt kept. */
export const MAX_PROMPT_CHARS = 1_200;

/** Messages of one summary call. */
export function summaryMessages(text: string, step: SummaryStep, userPrompt: string | undefined) {
  // Clipped so the instructions stay inside SUMMARY_PROMPT_TOKENS.
  const prompt = userPrompt?.trim().slice(0, MAX_PROMPT_CHARS) || DEFAULT_SUMMARY_PROMPT;
  const system =
    step === 'section'
      ? 'You summarise one section of a longer timestamped transcript. Keep every decision, name, number and the [hh:mm:ss] timestamps of key points. Reply with the summary only.'
      : step === 'combine'
        ? 'You merge consecutive section summaries of one transcript into one shorter summary, in order, keeping [hh:mm:ss] timestamps of key points. Reply with the summary only.'
        : `${prompt} Reply with the summary only.`;
  const label = step === 'whole' ? 'Transcript' : step === 'section' ? 'Transcript section' : 'Section summaries, in order';
  return [
    { role: 'system' as const, content: system },
    { role: 'user' as const, content: `${label}:\n${text}` },
  ];
}
