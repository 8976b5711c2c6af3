import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage, TransientError } from '../../shared/core/errors.js';

/** What one record came to: the shape of Powertools' `processPartialResponse` outcomes. */
export type RecordOutcome =
  | { readonly status: 'success'; readonly messageId: string }
  | { readonly status: 'fail'; readonly messageId: string; readonly error: unknown };

/** How failed records come back. */
export interface RetryOptions {
  readonly sqs: SQSClient;
  /** First redelivery delay, doubled per receive, capped at 15 min. */
  readonly baseSeconds: number;
}

/**
 * Run `handle` for each record through Powertools' `processPartialResponse`, and report the failed ones as
 * `batchItemFailures` (the event source mapping has `ReportBatchItemFailures`), so one bad record never
 * re-runs its neighbours. Records run one after another (`processInParallel: false`): with batches > 1 the
 * number of in-flight model calls still equals the mapping's `maxConcurrency`. A batch whose every record
 * failed is reported the same way (`throwOnFullBatchFailure: false`), not thrown: the `retry` visibility
 * already chosen for each record must stand, and the invocation itself did not fail.
 *
 * With `retry`, a failed record's visibility is set to the server's Retry-After or an exponential backoff
 * from its receive count, so it comes back in seconds rather than after the queue's visibility timeout
 * (6× the function timeout). The receive still counts towards the DLQ.
 */
export async function processSqsBatch(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<unknown>,
  logger: Logger,
  retry?: RetryOptions,
): Promise<SQSBatchResponse> {
  const recordHandler = async (record: SQSRecord) => {
    try {
      return await handle(record);
    } catch (error) {
      logger.error('record failed', { messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error: errorMessage(error), err: error as Error });
      if (retry) await retryLater(record, error, retry, logger);
      throw error;
    }
  };
  return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { processInParallel: false, throwOnFullBatchFailure: false });
}

/** Outcomes as the Lambda response, for handlers that run their records concurrently themselves (webhooks). */
export function toBatchResponse(outcomes: readonly RecordOutcome[]): SQSBatchResponse {
  return { batchItemFailures: outcomes.filter((o) => o.status === 'fail').map((o) => ({ itemIdentifier: o.messageId })) };
}

/** Parse a JSON body or throw an error that names the message. */
export function jsonBody(record: SQSRecord): unknown {
  try {
    return JSON.parse(record.body);
  } catch (cause) {
    throw new Error(`message ${record.messageId}: body is not JSON`, { cause });
  }
}

/** Redelivery delay for a failed record: Retry-After when the error carries one, else base × 2^(receives−1). */
export function redeliveryDelaySeconds(record: SQSRecord, error: unknown, baseSeconds: number): number {
  if (error instanceof TransientError && error.retryAfterMs !== undefined) return Math.min(43_200, Math.ceil(error.retryAfterMs / 1000));
  const receives = Number(record.attributes.ApproximateReceiveCount || '1');
  return Math.min(900, baseSeconds * 2 ** (receives - 1));
}

async function retryLater(record: SQSRecord, error: unknown, retry: RetryOptions, logger: Logger): Promise<void> {
  try {
    await retry.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: await queueUrlOf(record.eventSourceARN, retry.sqs),
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: redeliveryDelaySeconds(record, error, retry.baseSeconds),
      }),
    );
  } catch (err) {
    logger.warn('could not shorten visibility; the queue’s timeout applies', { error: errorMessage(err) });
  }
}

const queueUrls = new Map<string, Promise<string>>();

/** `arn:aws:sqs:<region>:<account>:<name>` → its URL, asked of SQS once per container (works with any endpoint). */
export function queueUrlOf(arn: string, sqs: SQSClient): Promise<string> {
  let url = queueUrls.get(arn);
  if (!url) {
    const [, , , , account, name] = arn.split(':');
    url = sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account })).then((r) => r.QueueUrl ?? '');
    url.catch(() => queueUrls.delete(arn));
    queueUrls.set(arn, url);
  }
  return url;
}
