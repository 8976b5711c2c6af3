/**
 * A real HTTP server on 127.0.0.1 that speaks one vendor's speech-to-text protocol: it checks the
 * bearer key, validates each request against the vendor's OpenAPI spec, runs an injected recognizer
 * on the uploaded FLAC and answers in the vendor's shape, with optional latency and faults.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Word } from '../../shared/core/types.js';
import { type Fault, type FaultPlan, faultPicker } from './faults.js';
import { readFlacInfo } from './flac.js';
import { type Answer, type Vendor, type VendorProtocol, vendorProtocol } from './vendors.js';

export type { Fault, FaultPlan } from './faults.js';
export type { Vendor } from './vendors.js';

/** Options of `startProviderDouble`. */
export interface ProviderDoubleOptions {
  readonly vendor: Vendor;
  /** Speech decoder for the uploaded audio (e2e: the tone-word decoder; contract tests: a fake). */
  readonly recognize: (flac: Uint8Array) => Promise<Word[]>;
  /** Processing time per request, from the audio's duration. @default none */
  readonly latencyMs?: (audioSeconds: number) => number;
  readonly faults?: FaultPlan;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (scheme case-insensitive). */
  readonly apiKey?: string;
  /**
   * Rewrites what the model "heard" before the answer is built: a misbehaving model (loops, early stops;
   * see `misbehavingModel`). `call` is the request's 1-based arrival number.
   */
  readonly distort?: (words: Word[], ctx: { readonly call: number; readonly seconds: number; readonly body: Record<string, unknown> }) => Word[];
  /**
   * Diarization that can be checked: who speaks each heard word (e.g. `toneSpeakerOf`). With it, a diarized
   * Mistral answer has one segment per turn and labels `speaker_1…` assigned in an order drawn per call, as
   * separate calls of a real diarizer would (labels mean nothing across calls).
   */
  readonly speakerOf?: (word: string) => number;
}

/** What the double saw of one request. */
export interface RecordedRequest {
  /** 1-based arrival order. */
  readonly call: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The decoded body (multipart fields or JSON), file parts replaced by a placeholder. */
  body?: Record<string, unknown>;
  audioBytes?: number;
  /** Spec violations found; empty when the request was valid. */
  validationErrors: string[];
  fault?: Fault['kind'];
  status?: number;
}

/** A running double. */
export interface ProviderDouble {
  /** Base URL as the vendor documents it (`…/v1`, `…/api/v1`, or the bare origin). */
  readonly url: string;
  /** Requests received so far. */
  readonly calls: number;
  /** Most requests in flight at once. */
  readonly maxConcurrent: number;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/** Start a double on an ephemeral port. */
export async function startProviderDouble(opts: ProviderDoubleOptions): Promise<ProviderDouble> {
  const protocol = vendorProtocol(opts.vendor);
  protocol.warm?.();
  const pickFault = faultPicker(opts.faults);
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxConcurrent = 0;

  const server = createServer((req, res) => {
    inFlight += 1;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    // A request stops counting as soon as the server learns it is over: its response closed, or the client
    // closed the connection (EOF or reset, seen in the poll phase). Waiting for the response's own 'close'
    // (emitted in a later close phase) would let a busy event loop parse the client's next request first
    // and count an abandoned one twice.
    const socket = req.socket;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      inFlight -= 1;
      socket.off('end', done);
      socket.off('error', done);
    };
    res.once('close', done);
    socket.once('end', done);
    socket.once('error', done);
    const record: RecordedRequest = {
      call: requests.length + 1,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      headers: { ...req.headers },
      validationErrors: [],
    };
    requests.push(record);
    handle(req, res, record).catch((err: unknown) => {
      if (!res.headersSent) send(res, record, { status: 500, body: protocol.errorBody(500, `double crashed: ${String(err)}`) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): Promise<void> {
    const raw = await readBody(req);
    if (!protocol.route(record.method, record.path)) return send(res, record, answerError(protocol, 404, `no route ${record.method} ${record.path}`));
    if (opts.apiKey !== undefined && !authorized(req.headers.authorization, opts.apiKey)) {
      return send(res, record, answerError(protocol, 401, 'Invalid API key'));
    }
    const fault = pickFault(record.call);
    if (fault) {
      record.fault = fault.kind;
      return injectFault(res, record, fault);
    }
    const decoded = await protocol.decode(toRequest(req, raw));
    record.body = decoded.body;
    record.audioBytes = decoded.audio?.length;
    record.validationErrors = decoded.errors;
    if (decoded.errors.length > 0) {
      return send(res, record, answerError(protocol, protocol.validationStatus, `invalid request: ${decoded.errors.join('; ')}`));
    }
    const refusal = protocol.refuse?.(decoded.body);
    if (refusal) return send(res, record, refusal);
    const info = decoded.audio ? readFlacInfo(decoded.audio) : undefined;
    if (!decoded.audio || !info) return send(res, record, answerError(protocol, 400, 'unsupported audio: the file is not a readable FLAC stream'));
    const heard = await opts.recognize(decoded.audio);
    const words = opts.distort ? opts.distort(heard, { call: record.call, seconds: info.seconds, body: decoded.body }) : heard;
    const latency = opts.latencyMs?.(info.seconds) ?? 0;
    if (latency > 0) await delay(latency);
    send(res, record, protocol.answer(decoded.body, words, info.seconds, record.path, { call: record.call, speakerOf: opts.speakerOf }));
  }

  function injectFault(res: ServerResponse, record: RecordedRequest, fault: Fault): void {
    switch (fault.kind) {
      case 'rate-limit':
        send(res, record, withRetryAfter(answerError(protocol, 429, 'Rate limit exceeded'), fault.retryAfterSeconds));
        return;
      case 'status':
        send(res, record, withRetryAfter(answerError(protocol, fault.status, fault.message ?? `injected ${fault.status}`), fault.retryAfterSeconds));
        return;
      case 'hang':
        record.status = 0;
        return; // the client's abort closes the socket; `close()` ends what is left
      case 'truncated': {
        record.status = 200;
        const full = JSON.stringify({ text: 'this answer is cut off half way', usage: { seconds: 1 } });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(full.slice(0, Math.floor(full.length / 2)));
        return;
      }
      case 'reset':
        record.status = 0;
        res.socket?.destroy();
        return;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${protocol.basePath}`,
    get calls() {
      return requests.length;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function answerError(protocol: VendorProtocol, status: number, message: string): Answer {
  return { status, body: protocol.errorBody(status, message) };
}

function withRetryAfter(answer: Answer, seconds: number | undefined): Answer {
  return seconds === undefined ? answer : { ...answer, headers: { ...answer.headers, 'retry-after': String(seconds) } };
}

function send(res: ServerResponse, record: RecordedRequest, answer: Answer): void {
  if (res.destroyed) return;
  record.status = answer.status;
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': typeof answer.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    ...answer.headers,
  });
  res.end(text);
}

function authorized(header: string | undefined, apiKey: string): boolean {
  const match = /^bearer\s+(.+)$/i.exec(header ?? '');
  return match?.[1]?.trim() === apiKey;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function toRequest(req: IncomingMessage, body: Buffer): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  return new Request(`http://double${req.url ?? '/'}`, { method: req.method, headers, body: new Uint8Array(body) });
}
