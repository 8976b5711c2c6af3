/** Errors of chat calls that callers handle differently from other permanent failures. */
import { PermanentError } from './errors.js';

/**
 * The prompt did not fit the model's context window. Retrying the same request cannot help,
 * but a smaller one can: translation splits the batch, summary cuts smaller sections.
 */
export class ContextLengthError extends PermanentError {
  /** Always true (`name` is `ContextLengthError`; `instanceof` works as well). */
  readonly contextLength = true;
}

/** True when a provider's error text says the prompt exceeded the context (OpenAI, vLLM, Mistral, OpenRouter wordings). */
export function isContextLengthMessage(text: string): boolean {
  return /context[ _]length|context window|maximum context|too many tokens|prompt is too long|too large for model/i.test(text);
}
