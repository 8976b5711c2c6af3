/** Prompts of `--ask`: a question answered from the audio itself, or over the timestamped transcript. */
import type { SummaryStep } from './summary-map-reduce.js';

/** Instruction shared by both modes. */
const ANSWER_RULES = 'Answer concisely. Cite the [hh:mm:ss] timestamps the answer rests on where you can.';

/** Messages for the audio mode (text part only; the caller adds the audio part). */
export function askAudioInstruction(question: string): string {
  return `Listen to the audio and answer this question about it. ${ANSWER_RULES}\nQuestion: ${question}`;
}

/**
 * Messages of one transcript-mode call. With a transcript too long for one call, sections are first
 * reduced to notes relevant to the question (`section`/`combine`), then the answer is written from the notes.
 */
export function askTranscriptMessages(text: string, step: SummaryStep, question: string) {
  const system =
    step === 'section' || step === 'combine'
      ? `Copy out, with their [hh:mm:ss] timestamps, the parts of the text relevant to this question, tersely. Reply "nothing relevant" if none.\nQuestion: ${question}`
      : `Answer the question from the ${step === 'whole' ? 'timestamped transcript' : 'timestamped notes taken from a transcript'}. ${ANSWER_RULES}\nQuestion: ${question}`;
  return [
    { role: 'system' as const, content: system },
    { role: 'user' as const, content: text },
  ];
}
