/**
 * Turns provider HTTP failures into the port's error classes, so stages decide "retry or give up"
 * without knowing statuses or vendor error shapes. Every message starts with the request label.
 */
import { PermanentError, TransientError } from '../core/errors.js';

/** The part of `Headers` this module reads; a plain `Headers` fits. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** Statuses worth retrying besides 5xx: timeout, conflict (OpenAI SDK retries 409 too), rate limit. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/**
 * Classify a non-2xx response. 408/409/425/429 and every 5xx (524 edge timeout and 529 overloaded
 * included) are transient; everything else (400, 401, 402, 403, 404, 413, 415, 422, …) is permanent.
 * The message carries the provider's own error text: `job abc chunk 7: mistral 401: Invalid API key`.
 */
export function httpStatusError(
  label: string,
  vendor: string,
  status: number,
  body: unknown,
  opts: { readonly headers?: HeaderReader; readonly now?: number; readonly cause?: unknown } = {},
): TransientError | PermanentError {
  const { headers, cause } = opts;
  const detail = providerErrorMessage(body) ?? defaultStatusText(status);
  const message = `${label}: ${vendor} ${status}: ${detail}`;
  if (status >= 500 || RETRYABLE_4XX.has(status)) {
    return new TransientError(message, {
      cause,
      retryAfterMs: headers ? retryAfterMs(headers, opts.now) : undefined,
      rateLimited: status === 429,
    });
  }
  return new PermanentError(`${message}${permanentHint(status)}`, { cause });
}

/** A 2xx answer whose JSON does not have the documented shape: retrying the same audio will not help. */
export function unexpectedResponse(label: string, vendor: string, detail: string): PermanentError {
  return new PermanentError(`${label}: ${vendor} answered with an unexpected response shape: ${detail}`);
}

/**
 * Classify a failure that is not an HTTP status: aborted or timed-out requests, dropped connections,
 * DNS errors and truncated or unparseable bodies are transient. Errors that are already
 * `TransientError` / `PermanentError` pass through unchanged.
 */
export function requestFailure(label: string, vendor: string, err: unknown): TransientError | PermanentError {
  if (err instanceof TransientError || err instanceof PermanentError) return err;
  if (isAbort(err)) return new TransientError(`${label}: ${vendor} request aborted (timed out or cancelled)`, { cause: err });
  if (err instanceof SyntaxError) {
    return new TransientError(`${label}: ${vendor} sent a truncated or unparseable response body`, { cause: err });
  }
  return new TransientError(`${label}: ${vendor} request failed: ${describe(err)}`, { cause: err });
}

/** Parse a response body as JSON; a truncated or non-JSON body is a `TransientError`. */
export function parseJsonBody(label: string, vendor: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw requestFailure(label, vendor, cause);
  }
}

/**
 * Server-advised wait in milliseconds: `retry-after-ms` (OpenAI), else `Retry-After` as delta-seconds
 * or an HTTP date. Undefined when absent or unreadable; never negative.
 */
export function retryAfterMs(headers: HeaderReader, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The provider's own error text from any of the shapes we meet:
 * OpenAI / OpenRouter / newer vLLM `{error:{message}}`, Mistral and older vLLM `{message}`,
 * FastAPI `{detail:[{loc,msg}]}` or `{detail:"…"}`, `{error:"…"}`, or a plain-text body.
 */
export function providerErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' ? undefined : body.trim().slice(0, 500);
  if (!isRecord(body)) return undefined;
  const { error, message, detail } = body;
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  if (typeof error === 'string') return error;
  if (typeof message === 'string') return message;
  if (typeof detail === 'string') return detail;
  if (isRecord(detail) && typeof detail.error === 'string') return detail.error;
  if (Array.isArray(detail)) return detail.map(describeDetail).join('; ');
  return undefined;
}

function describeDetail(item: unknown): string {
  if (!isRecord(item)) return String(item);
  const loc = Array.isArray(item.loc) ? item.loc.join('.') : undefined;
  const msg = typeof item.msg === 'string' ? item.msg : JSON.stringify(item);
  return loc ? `${loc}: ${msg}` : msg;
}

function permanentHint(status: number): string {
  switch (status) {
    case 401:
    case 403:
      return ' (check the API key and its permissions)';
    case 402:
      return ' (add credits to the provider account)';
    case 413:
      return ' (chunk too large for this provider: lower the chunk length)';
    default:
      return '';
  }
}

function defaultStatusText(status: number): string {
  return `HTTP ${status} (no error message in the response)`;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError' || err.name === 'APIUserAbortError');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message}${cause}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
