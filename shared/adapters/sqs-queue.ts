import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchResultErrorEntry, SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { PermanentError, TransientError } from '../core/errors.js';
import type { WorkQueue } from '../ports.js';
import { translateAwsError } from './aws-errors.js';

/** Options of `createSqsQueue`. */
export interface SqsQueueOptions<T> {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Message body. @default JSON.stringify */
  readonly serialize?: (message: T) => string;
  /** Rounds of re-sending the entries SQS reported as failed (server-side faults only). @default 5 */
  readonly maxRounds?: number;
  /** First pause between rounds, doubled each round. @default 100 */
  readonly baseDelayMs?: number;
}

/** SQS caps a batch at 10 entries (and 1 MiB). */
const BATCH = 10;

/**
 * WorkQueue on an SQS queue: `SendMessageBatch`, 10 messages per call. SQS can accept a batch and
 * still fail some entries: entries failed by the service (`SenderFault: false`) are re-sent with
 * backoff; an entry failed by its sender (too large, invalid) is a `PermanentError` naming it.
 * Delivery is at-least-once: a batch retried after a lost response can duplicate messages; consumers are idempotent.
 */
export function createSqsQueue<T>(opts: SqsQueueOptions<T>): WorkQueue<T> {
  const serialize = opts.serialize ?? ((m: T) => JSON.stringify(m));
  const maxRounds = opts.maxRounds ?? 5;
  const baseDelayMs = opts.baseDelayMs ?? 100;

  async function sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let round = 1; pending.length > 0; round += 1) {
      let failed: BatchResultErrorEntry[];
      try {
        const res = await opts.client.send(new SendMessageBatchCommand({ QueueUrl: opts.queueUrl, Entries: pending }));
        failed = res.Failed ?? [];
      } catch (err) {
        throw translateAwsError(err, `sqs send to ${opts.queueUrl}`);
      }
      const senderFault = failed.find((f) => f.SenderFault);
      if (senderFault) {
        throw new PermanentError(`sqs send to ${opts.queueUrl}: message ${senderFault.Id} rejected: ${senderFault.Code} ${senderFault.Message ?? ''}`.trim());
      }
      const retryIds = new Set(failed.map((f) => f.Id));
      pending = pending.filter((e) => retryIds.has(e.Id));
      if (pending.length === 0) return;
      if (round >= maxRounds) {
        throw new TransientError(`sqs send to ${opts.queueUrl}: ${pending.length} message(s) still failing after ${round} rounds (${failed[0]?.Code})`);
      }
      await sleep(baseDelayMs * 2 ** (round - 1));
    }
  }

  return {
    async send(messages) {
      for (let i = 0; i < messages.length; i += BATCH) {
        const entries = messages.slice(i, i + BATCH).map((m, j) => ({ Id: String(i + j), MessageBody: serialize(m) }));
        await sendBatch(entries);
      }
    },
  };
}
