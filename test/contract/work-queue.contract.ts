/**
 * The WorkQueue contract: what the split stage may rely on when it enqueues chunk tasks, for every
 * adapter (in-process memory queue, SQS). Run by work-queue.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkQueue } from '../../shared/ports.js';

/** A message shaped like a chunk task, with text that must survive the trip. */
export interface TestMessage {
  readonly jobId: string;
  readonly index: number;
  readonly note: string;
}

/** One adapter under test: a queue plus a way to see what a consumer got. */
export interface WorkQueueFixture {
  readonly name: string;
  setup(): Promise<{
    queue: WorkQueue<TestMessage>;
    /** Messages consumed so far, waiting until at least `n` arrived (or `timeoutMs` passed). */
    received(n: number, timeoutMs?: number): Promise<TestMessage[]>;
    teardown(): Promise<void>;
  }>;
}

export function workQueueContract(fixtures: readonly WorkQueueFixture[]): void {
  describe.each(fixtures)('WorkQueue contract: $name', (fixture) => {
    let env: Awaited<ReturnType<WorkQueueFixture['setup']>>;
    beforeAll(async () => {
      env = await fixture.setup();
    });
    afterAll(() => env?.teardown());

    it('delivers every message of a send larger than one SQS batch, intact', async () => {
      const messages = Array.from({ length: 23 }, (_, i) => ({ jobId: 'job-many', index: i, note: `chunk ${i} — «é» 🎙` }));
      await env.queue.send(messages);
      const got = (await env.received(23)).filter((m) => m.jobId === 'job-many');
      const byIndex = new Map(got.map((m) => [m.index, m]));
      expect([...byIndex.keys()].sort((a, b) => a - b)).toEqual(messages.map((m) => m.index));
      for (const m of messages) expect(byIndex.get(m.index)).toEqual(m);
    });

    it('accepts an empty send', async () => {
      await expect(env.queue.send([])).resolves.toBeUndefined();
    });
  });
}
