/**
 * The AWS side of `voxpipe webhooks replay --bucket … --queue-url …`, imported only by that command: the AWS
 * SDK stays out of the CLI's start.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createS3Store } from '../shared/adapters/s3-store.js';
import { sqsWebhookQueue, type WebhookQueueSend } from '../shared/adapters/webhook-queue.js';
import type { BlobStore } from '../shared/ports.js';

/** The job bucket as a store and the webhook queue's send; `close()` releases the clients. */
export function awsWebhookReplay(bucket: string, queueUrl: string): { store: BlobStore; send: WebhookQueueSend; close(): void } {
  const endpoint = process.env.VOXPIPE_S3_ENDPOINT;
  const s3 = new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
  const sqs = new SQSClient({});
  return {
    store: createS3Store({ client: s3, bucket }),
    send: sqsWebhookQueue(sqs, queueUrl),
    close() {
      s3.destroy();
      sqs.destroy();
    },
  };
}
