/**
 * The call policy over real sockets: retries, backoff, Retry-After, timeouts and the global
 * concurrency cap, against provider doubles with injected faults.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PermanentError, TransientError } from '../../shared/core/errors.js';
import type { TranscribeRequest } from '../../shared/ports.js';
import { attemptsOf, createCallPolicy, type RetryInfo } from '../../shared/providers/call-policy.js';
import { createOpenAICompatibleTranscriber } from '../../shared/providers/openai-compatible.js';
import { FakeClock } from '../doubles/fake-clock.js';
import { recognizeByDuration } from '../doubles/fake-recognizer.js';
import { headerOnlyFlac } from '../doubles/flac.js';
import { type FaultPlan, type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';

const AUDIO = headerOnlyFlac(3);
const doubles: ProviderDouble[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(doubles.splice(0).map((d) => d.close()));
});

async function double(faults?: FaultPlan, latencyMs?: (s: number) => number) {
  const d = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeByDuration, faults, latencyMs });
  doubles.push(d);
  const transcriber = createOpenAICompatibleTranscriber({ baseUrl: d.url, model: 'whisper-1' });
  const call = (label: string) => (signal: AbortSignal) => transcriber.transcribe(request(label), signal);
  return { d, call };
}

function request(label: string): TranscribeRequest {
  return { audio: AUDIO, durationSeconds: 3, label };
}

describe('CallPolicy', () => {
  it('retries transient failures with growing, capped backoff delays', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const { d, call } = await double({ byCall: { 1: { kind: 'status', status: 500 }, 2: { kind: 'status', status: 503 }, 3: { kind: 'truncated' }, 4: { kind: 'status', status: 529 } } });
    const clock = new FakeClock();
    const retries: RetryInfo[] = [];
    const policy = createCallPolicy({ concurrency: 2, maxAttempts: 6, timeoutMs: 60_000, baseDelayMs: 500, maxDelayMs: 3000, clock, onRetry: (i) => retries.push(i) });

    const result = await clock.runUntilSettled(policy.run('job j chunk 1', call('job j chunk 1')), 30_000);

    expect(result.attempts).toBe(5);
    expect(d.calls).toBe(5);
    expect(retries.map((r) => r.delayMs)).toEqual([499, 999, 1998, 2997]);
    expect(retries.every((r) => !r.serverAdvised)).toBe(true);
    expect(clock.now()).toBe(499 + 999 + 1998 + 2997);
  });

  it('draws full-jitter delays below the exponential ceiling', async () => {
    const { call } = await double({ random: { seed: 1, rate: 1, faults: [{ kind: 'status', status: 500 }] } });
    const clock = new FakeClock();
    const retries: RetryInfo[] = [];
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 6, timeoutMs: 60_000, baseDelayMs: 100, maxDelayMs: 100_000, clock, onRetry: (i) => retries.push(i) });

    await clock.runUntilSettled(policy.run('x', call('x')), 30_000).catch(() => undefined);

    expect(retries).toHaveLength(5);
    retries.forEach((r, n) => {
      expect(r.delayMs).toBeGreaterThanOrEqual(0);
      expect(r.delayMs).toBeLessThan(100 * 2 ** n);
    });
  });

  it('waits what Retry-After says instead of its own backoff', async () => {
    const { d, call } = await double({ byCall: { 1: { kind: 'rate-limit', retryAfterSeconds: 7 } } });
    const clock = new FakeClock();
    const retries: RetryInfo[] = [];
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 3, timeoutMs: 60_000, baseDelayMs: 10, clock, onRetry: (i) => retries.push(i) });

    const result = await clock.runUntilSettled(policy.run('c', call('c')), 30_000);

    expect(result.attempts).toBe(2);
    expect(d.calls).toBe(2);
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 7000, serverAdvised: true });
    expect(retries[0]?.error.rateLimited).toBe(true);
    expect(clock.now()).toBe(7000);
  });

  it('fails at once on a PermanentError without retrying', async () => {
    const { d, call } = await double({ byCall: { 1: { kind: 'status', status: 413 } } });
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 5, timeoutMs: 5000, baseDelayMs: 1 });

    const err = await policy.run('job j chunk 2', call('job j chunk 2')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/^job j chunk 2: openai-compatible 413/);
    expect(attemptsOf(err)).toBe(1);
    expect(d.calls).toBe(1);
  });

  it('fails after maxAttempts with the last TransientError and the attempt count', async () => {
    const { d, call } = await double({ random: { seed: 3, rate: 1, faults: [{ kind: 'status', status: 502, message: 'bad gateway' }] } });
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 3, timeoutMs: 5000, baseDelayMs: 1, maxDelayMs: 5 });

    const err = await policy.run('job j chunk 3', call('job j chunk 3')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe('job j chunk 3: openai-compatible 502: bad gateway (gave up after 3 attempts)');
    expect((err as Error).cause).toBeInstanceOf(TransientError);
    expect(attemptsOf(err)).toBe(3);
    expect(d.calls).toBe(3);
  });

  it('aborts a hung attempt at the timeout and retries it', async () => {
    const { d, call } = await double({ byCall: { 1: { kind: 'hang' } } });
    const retries: RetryInfo[] = [];
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 3, timeoutMs: 300, baseDelayMs: 1, onRetry: (i) => retries.push(i) });

    const result = await policy.run('h', call('h'));

    expect(result.attempts).toBe(2);
    expect(result.value.text).toBe('w0 w1 w2 w3');
    expect(d.requests.map((r) => r.fault)).toEqual(['hang', undefined]);
    expect(retries[0]?.error.message).toMatch(/h: (no answer within 300 ms|openai-compatible request aborted)/);
  });

  it('abandons an attempt that ignores its signal', async () => {
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 2, timeoutMs: 50, baseDelayMs: 1 });
    let seen: AbortSignal | undefined;

    const err = await policy
      .run('stuck', (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe('stuck: no answer within 50 ms; attempt abandoned (gave up after 2 attempts)');
    expect(seen?.aborted).toBe(true);
    expect(policy.active).toBe(0);
  });

  it('stops retrying when the caller aborts', async () => {
    const { d, call } = await double({ random: { seed: 5, rate: 1, faults: [{ kind: 'status', status: 500 }] } });
    const policy = createCallPolicy({ concurrency: 1, maxAttempts: 50, timeoutMs: 5000, baseDelayMs: 20, maxDelayMs: 20 });
    const caller = new AbortController();
    setTimeout(() => caller.abort(new Error('job cancelled')), 100);

    const err = await policy.run('c', call('c'), caller.signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    expect(d.calls).toBeLessThan(50);
  });

  it('keeps at most `concurrency` attempts in flight across 50 calls while faults come and go', async () => {
    const faults: FaultPlan = {
      random: {
        seed: 42,
        rate: 0.3,
        faults: [{ kind: 'hang' }, { kind: 'rate-limit', retryAfterSeconds: 0 }, { kind: 'status', status: 500 }, { kind: 'truncated' }, { kind: 'reset' }],
      },
    };
    const { d, call } = await double(faults, () => 15);
    // The timeout ends the injected hangs; it is long enough that a loaded machine does not time out healthy calls.
    const policy = createCallPolicy({ concurrency: 4, maxAttempts: 10, timeoutMs: 2_000, baseDelayMs: 5, maxDelayMs: 40 });

    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => policy.run(`job c chunk ${i}`, call(`job c chunk ${i}`))));

    expect(results).toHaveLength(50);
    expect(results.every((r) => r.value.text === 'w0 w1 w2 w3')).toBe(true);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    expect(d.requests.some((r) => r.fault === 'hang')).toBe(true);
    expect(policy.maxActive).toBe(4);
    expect(d.maxConcurrent).toBeLessThanOrEqual(4);
    expect(policy.active).toBe(0);
  });

  it('refuses nonsensical options', () => {
    expect(() => createCallPolicy({ concurrency: 0, maxAttempts: 1, timeoutMs: 1 })).toThrow(RangeError);
    expect(() => createCallPolicy({ concurrency: 1, maxAttempts: 1, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
