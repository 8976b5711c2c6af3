/**
 * WorkQueue contract against the in-process memory queue and SQS (local-aws-sqs over real HTTP),
 * plus the SQS adapter's own guarantees: 10 entries per SendMessageBatch, re-sending entries SQS
 * failed, and refusing entries SQS rejects as the sender's fault.
 */
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createMemoryQueue } from '../../shared/adapters/memory-queue.js';
import { createSqsQueue } from '../../shared/adapters/sqs-queue.js';
import { PermanentError, TransientError } from '../../shared/core/errors.js';
import { systemClock } from '../../shared/providers/call-policy.js';
import { startSqsEmulator } from '../aws/emulators.js';
import { type TestMessage, workQueueContract } from './work-queue.contract.js';

async function waitFor<T>(read: () => T[] | Promise<T[]>, n: number, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await read();
    if (got.length >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
}

workQueueContract([
  {
    name: 'memory',
    async setup() {
      const got: TestMessage[] = [];
      const queue = createMemoryQueue<TestMessage>({
        handler: async (m) => {
          got.push(m);
        },
        onDeadLetter: async () => undefined,
        clock: systemClock,
      });
      return { queue, received: (n, t = 5000) => waitFor(() => got, n, t), teardown: () => queue.drain() };
    },
  },
  {
    name: 'sqs (local-aws-sqs)',
    async setup() {
      const sqs = await startSqsEmulator();
      const client = sqs.client();
      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'contract-work' }));
      const got: TestMessage[] = [];
      const drain = async () => {
        const res = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'] }));
        const msgs = res.Messages ?? [];
        for (const m of msgs) got.push(JSON.parse(m.Body!) as TestMessage);
        if (msgs.length) await client.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        return got;
      };
      return {
        queue: createSqsQueue<TestMessage>({ client, queueUrl: QueueUrl! }),
        received: (n, t = 5000) => waitFor(drain, n, t),
        async teardown() {
          client.destroy();
          await sqs.close();
        },
      };
    },
  },
]);

/** A stand-in SQSClient that answers SendMessageBatch from a script and records the calls. */
function scriptedClient(script: (entries: { Id: string }[], call: number) => { Failed?: { Id: string; SenderFault: boolean; Code: string }[] }) {
  const calls: { Id: string; MessageBody: string }[][] = [];
  const client = {
    async send(command: { input: { Entries: { Id: string; MessageBody: string }[] } }) {
      calls.push(command.input.Entries);
      return script(command.input.Entries, calls.length);
    },
  } as unknown as SQSClient;
  return { client, calls };
}

describe('sqs adapter', () => {
  it('sends 10 entries per SendMessageBatch call', async () => {
    const { client, calls } = scriptedClient(() => ({}));
    await createSqsQueue({ client, queueUrl: 'q' }).send(Array.from({ length: 25 }, (_, i) => ({ i })));
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(calls.flat().map((e) => JSON.parse(e.MessageBody).i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('re-sends only the entries SQS failed on its side', async () => {
    const { client, calls } = scriptedClient((entries, call) =>
      call === 1 ? { Failed: [{ Id: entries[3]!.Id, SenderFault: false, Code: 'InternalError' }] } : {},
    );
    await createSqsQueue({ client, queueUrl: 'q', baseDelayMs: 1 }).send(Array.from({ length: 10 }, (_, i) => ({ i })));
    expect(calls.map((c) => c.length)).toEqual([10, 1]);
    expect(JSON.parse(calls[1]![0]!.MessageBody)).toEqual({ i: 3 });
  });

  it('fails with TransientError when SQS keeps failing an entry', async () => {
    const { client } = scriptedClient((entries) => ({ Failed: [{ Id: entries[0]!.Id, SenderFault: false, Code: 'ServiceUnavailable' }] }));
    await expect(createSqsQueue({ client, queueUrl: 'q', baseDelayMs: 1, maxRounds: 3 }).send([{ i: 0 }])).rejects.toBeInstanceOf(TransientError);
  });

  it('fails with PermanentError when SQS rejects an entry as the sender’s fault', async () => {
    const { client } = scriptedClient((entries) => ({ Failed: [{ Id: entries[0]!.Id, SenderFault: true, Code: 'InvalidMessageContents' }] }));
    await expect(createSqsQueue({ client, queueUrl: 'q' }).send([{ i: 0 }])).rejects.toBeInstanceOf(PermanentError);
  });
});
