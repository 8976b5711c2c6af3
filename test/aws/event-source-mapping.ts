/**
 * An in-process stand-in for Lambda's SQS event source mapping, over a real SQS endpoint:
 * `maxConcurrency` pollers each receive up to `batchSize` messages, invoke the handler with the SQS
 * event Lambda would build, delete the records not named in `batchItemFailures`, and leave the failed
 * ones to reappear after the visibility timeout (the queue's redrive policy then moves them to the DLQ
 * after `maxReceiveCount` receives). A handler that throws fails the whole batch, as on Lambda.
 */
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface EventSourceMappingOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse | undefined>;
  /** @default 1 */
  readonly batchSize?: number;
  /** Pollers (= concurrent invocations). @default 2 */
  readonly maxConcurrency?: number;
  /** Like the function timeout: an invocation still running after this fails its whole batch. @default 60_000 */
  readonly timeoutMs?: number;
  /** `awsRegion` of the records. @default 'us-east-1' */
  readonly awsRegion?: string;
}

export interface EventSourceMapping {
  /** Invocations so far, and those that reported failures. */
  readonly stats: { invocations: number; failedRecords: number; deleted: number };
  /** True when no poller is inside the handler. */
  readonly idle: boolean;
  stop(): Promise<void>;
}

export function startEventSourceMapping(opts: EventSourceMappingOptions): EventSourceMapping {
  const stats = { invocations: 0, failedRecords: 0, deleted: 0 };
  let running = true;
  let busy = 0;

  const poll = async () => {
    while (running) {
      let messages: Message[] = [];
      try {
        const res = await opts.client.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: opts.batchSize ?? 1,
            WaitTimeSeconds: 0,
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = res.Messages ?? [];
      } catch {
        if (!running) return;
      }
      if (messages.length === 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      busy += 1;
      try {
        await invoke(messages);
      } finally {
        busy -= 1;
      }
    }
  };

  const invoke = async (messages: Message[]) => {
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, opts.queueArn, opts.awsRegion ?? 'us-east-1')) };
    stats.invocations += 1;
    let failed: Set<string>;
    try {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('invocation timed out')), opts.timeoutMs ?? 60_000);
      });
      const res = await Promise.race([opts.handler(event, {}), timedOut]).finally(() => clearTimeout(timer));
      failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      failed = new Set(messages.map((m) => m.MessageId!));
    }
    stats.failedRecords += failed.size;
    for (const m of messages) {
      if (failed.has(m.MessageId!)) continue;
      await opts.client.send(new DeleteMessageCommand({ QueueUrl: opts.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      stats.deleted += 1;
    }
  };

  const pollers = Array.from({ length: opts.maxConcurrency ?? 2 }, () => poll());
  return {
    stats,
    get idle() {
      return busy === 0;
    },
    async stop() {
      running = false;
      await Promise.all(pollers);
    },
  };
}

/**
 * Wait until the system is at rest, judged by state, not by a quiet period: every queue holds no message
 * (visible, in flight or delayed) and no poller is inside its handler, seen twice in a row (a handler sends
 * its follow-up messages before its own message is deleted and before it counts as idle, so a drained,
 * idle state cannot be left again without a new outside message). Throws with the queue depths on timeout.
 */
export async function waitUntilDrained(
  client: SQSClient,
  queueUrls: readonly string[],
  mappings: readonly Pick<EventSourceMapping, 'idle'>[],
  timeoutMs = 120_000,
): Promise<void> {
  const depth = async (url: string) => {
    const a = (
      await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      )
    ).Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  };
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  for (;;) {
    const depths = await Promise.all(queueUrls.map(depth));
    const atRest = mappings.every((m) => m.idle) && depths.every((d) => d === 0);
    calm = atRest ? calm + 1 : 0;
    if (calm >= 2) return;
    if (Date.now() > deadline) {
      throw new Error(`not drained within ${timeoutMs} ms: depths ${JSON.stringify(Object.fromEntries(queueUrls.map((u, i) => [u.split('/').at(-1), depths[i]])))}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function toRecord(m: Message, queueArn: string, awsRegion: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'harness',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, { stringValue: v.StringValue, dataType: v.DataType ?? 'String', stringListValues: [], binaryListValues: [] }]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion,
  };
}
