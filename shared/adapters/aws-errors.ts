/**
 * Translation of AWS SDK v3 errors into the port's error classes, shared by the S3, SQS and
 * EventBridge adapters. The SDK has already retried retryable errors (3 attempts) when one reaches us.
 */
import { PermanentError, TransientError } from '../core/errors.js';

/** The fields of an SDK v3 service or network error this module reads. */
interface AwsErrorLike {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
  readonly $response?: { readonly statusCode?: number; readonly headers?: Record<string, string | undefined> };
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);
const NETWORK = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'AbortError']);

/** HTTP status of an SDK error, if it got a response. */
export function httpStatusOf(err: unknown): number | undefined {
  const e = err as AwsErrorLike | undefined;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/** Name of an SDK error (`NoSuchKey`, `SlowDown`, …). */
export function errorNameOf(err: unknown): string {
  const e = err as AwsErrorLike | undefined;
  return e?.name ?? e?.code ?? 'Error';
}

/**
 * Throttling, 5xx and network failures become `TransientError` (throttling is `rateLimited`);
 * everything else becomes `PermanentError`. `what` names the operation and key for the message.
 */
export function translateAwsError(err: unknown, what: string): TransientError | PermanentError {
  const status = httpStatusOf(err);
  const name = errorNameOf(err);
  const detail = `${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${err instanceof Error ? err.message : String(err)}`;
  const throttled = THROTTLING.has(name) || status === 429 || status === 503 || (err as AwsErrorLike)?.$retryable?.throttling === true;
  if (throttled) return new TransientError(detail, { cause: err, rateLimited: true });
  if (status === undefined || status >= 500 || NETWORK.has(name) || status === 408) {
    return new TransientError(detail, { cause: err });
  }
  return new PermanentError(detail, { cause: err });
}
