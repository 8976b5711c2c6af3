/** One raw `fetch` round trip with the error translation every raw-HTTP provider shares. */
import { httpStatusError, parseJsonBody, requestFailure } from './http-errors.js';

/** What `sendJsonRequest` needs; `fetch` is injectable for tests. */
export interface HttpCall {
  /** Names the work in error messages, e.g. `job abc chunk 7`. */
  readonly label: string;
  /** Names the provider in error messages, e.g. `mistral`. */
  readonly vendor: string;
  readonly fetch: typeof fetch;
  readonly url: string;
  readonly init: RequestInit;
  readonly signal: AbortSignal;
}

/**
 * Send the request and return the parsed JSON body of a 2xx answer.
 * Throws `TransientError` / `PermanentError` (see `http-errors.ts`); never retries.
 */
export async function sendJsonRequest(call: HttpCall): Promise<unknown> {
  const { label, vendor } = call;
  let status: number;
  let headers: Headers;
  let text: string;
  try {
    const res = await call.fetch(call.url, { ...call.init, signal: call.signal });
    status = res.status;
    headers = res.headers;
    text = await res.text();
  } catch (err) {
    throw requestFailure(label, vendor, err);
  }
  if (status < 200 || status > 299) throw httpStatusError(label, vendor, status, tryJson(text), { headers });
  return parseJsonBody(label, vendor, text);
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
