/**
 * ChatModel contract, run against every vendor's chat double (real HTTP, requests validated against the
 * vendor's OpenAPI spec): structured output, audio parts in the vendor's shape, usage, and errors
 * translated at the port (429 → TransientError with Retry-After, context overflow → ContextLengthError).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextLengthError } from '../../shared/core/chat-errors.js';
import { PermanentError, TransientError } from '../../shared/core/errors.js';
import { TRANSLATION_REPLY_SCHEMA, translationMessages } from '../../shared/core/translate-batches.js';
import type { ChatModel } from '../../shared/ports.js';
import { createCallPolicy } from '../../shared/providers/call-policy.js';
import { createChatModel } from '../../shared/providers/chat-models.js';
import { type ChatDouble, type ChatFault, type ChatVendor, startChatDouble } from '../doubles/chat-server.js';

const signal = () => AbortSignal.timeout(5_000);
const translationRequest = (label = 'contract') => ({
  label,
  messages: translationMessages('fr', [{ id: 0, text: 'hello world' }, { id: 1, text: 'good morning' }]),
  json: { name: 'translation', schema: TRANSLATION_REPLY_SCHEMA as unknown as Record<string, unknown>, strict: true },
  maxTokens: 200,
});

describe.each(['openai-compatible', 'mistral', 'openrouter'] as const)('ChatModel contract: %s', (vendor: ChatVendor) => {
  let double: ChatDouble;
  let model: ChatModel;
  const faults = new Map<number, ChatFault>();
  beforeAll(async () => {
    double = await startChatDouble({ vendor, apiKey: 'chat-key', contextTokens: 4_000, faults: (info) => faults.get(info.call) });
    model = createChatModel({ provider: vendor, baseUrl: double.url, apiKey: 'chat-key', model: 'voxtral-small', contextTokens: 4_000 });
  });
  afterAll(() => double.close());
  const last = () => double.requests.at(-1)!;

  it('sends a spec-valid structured-output request and returns the reply with token usage', async () => {
    const reply = await model.complete(translationRequest(), signal());
    expect(last().validationErrors).toEqual([]);
    expect(last().body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'translation' } });
    expect(JSON.parse(reply.text)).toEqual({ segments: [{ id: 0, text: 'fr:hello fr:world' }, { id: 1, text: 'fr:good fr:morning' }] });
    expect(reply.usage.inputTokens).toBeGreaterThan(0);
    expect(reply.usage.outputTokens).toBeGreaterThan(0);
    if (vendor === 'openrouter') expect(reply.usage.costUsd).toBeGreaterThan(0);
  });

  it("sends audio in the vendor's input_audio shape", async () => {
    const audio = new Uint8Array([1, 2, 3, 4, 5]);
    const reply = await model.complete(
      { label: 'contract', messages: [{ role: 'user', content: [{ type: 'audio', data: audio, format: 'mp3', seconds: 1 }, { type: 'text', text: 'What is said?' }] }] },
      signal(),
    );
    expect(last().validationErrors).toEqual([]);
    const part = ((last().body.messages as { content: unknown[] }[])[0]!.content[0]) as { input_audio: unknown };
    if (vendor === 'mistral') expect(part.input_audio).toBe(Buffer.from(audio).toString('base64'));
    else expect(part.input_audio).toEqual({ data: Buffer.from(audio).toString('base64'), format: 'mp3' });
    expect(reply.text).toContain('5 bytes heard');
  });

  it("refuses audio in another vendor's shape, as the vendor's spec does", async () => {
    const data = Buffer.from([1, 2, 3]).toString('base64');
    const wrongShape = vendor === 'mistral' ? { data, format: 'mp3' } : data;
    const res = await fetch(`${double.url}${vendor === 'mistral' ? '/v1' : ''}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer chat-key' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: wrongShape }] }] }),
    });
    expect(res.status).toBe(vendor === 'mistral' ? 422 : 400);
    expect(last().validationErrors.length).toBeGreaterThan(0);
  });

  it('fails with a TransientError carrying Retry-After on 429, and the call policy retries it', async () => {
    faults.set(double.requests.length + 1, { kind: 'rate-limit', retryAfterSeconds: 0.01 });
    const err = await model.complete(translationRequest(), signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryAfterMs).toBe(10);
    faults.set(double.requests.length + 1, { kind: 'status', status: 503 });
    const policy = createCallPolicy({ concurrency: 2, maxAttempts: 3, timeoutMs: 5_000, baseDelayMs: 1 });
    const { attempts } = await policy.run('contract', (s) => model.complete(translationRequest(), s));
    expect(attempts).toBe(2);
  });

  it('fails with ContextLengthError (permanent) when the prompt exceeds the context', async () => {
    const big = { ...translationRequest(), messages: [{ role: 'user' as const, content: 'word '.repeat(5_000) }] };
    const err = await model.complete(big, signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextLengthError);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/context length/);
  });

  it('fails with a PermanentError naming the key problem on 401', async () => {
    const wrong = createChatModel({ provider: vendor, baseUrl: double.url, apiKey: 'nope', model: 'voxtral-small' });
    const err = await wrong.complete(translationRequest('job j1 translate:fr'), signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/^job j1 translate:fr: .* 401: Invalid API key \(check the API key/);
  });
});
