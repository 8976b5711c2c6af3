/**
 * Job API Lambda: API Gateway HTTP API (payload v2) → the shared job API (shared/api).
 * Job state and API keys (sha256 hashes) live in the ingest bucket; links are S3 presigned URLs; an
 * `{ s3Key }` job or a retry is started by a start-job message on the split queue, and an `{ upload: true }`
 * job by the S3 notification of its `uploads/<jobId>/…` object (the same path as every other upload).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createStoreApiKeys } from '../shared/api/api-keys.js';
import { type ApiRequest, createApi } from '../shared/api/handler.js';
import type { JobSubmitter, UrlSigner } from '../shared/api/ports.js';
import { bucketStore, observability, portLogger, sqsClient } from './lib/aws.js';
import { BaseEnv, parseEnv } from './lib/env.js';
import { WebhookProducerEnv } from './lib/webhook-env.js';
import { createWebhookQueueNotifier, sqsWebhookQueue } from './lib/webhook-queue.js';
import type { StartJobMessage } from './lib/s3-event.js';

/** The API function's environment. */
export const ApiEnv = BaseEnv.extend({
  VOXPIPE_SPLIT_QUEUE_URL: z.url(),
  /** Lifetime of presigned upload and result links. */
  VOXPIPE_LINK_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(3600),
});

const env = parseEnv(ApiEnv);
const { logger } = observability();
const store = bucketStore(env);
const sqs = sqsClient();
// Presigned URLs must not carry SDK checksums of an empty body, or every real upload would mismatch.
const signingClient = new S3Client({
  requestChecksumCalculation: 'WHEN_REQUIRED',
  ...(env.VOXPIPE_S3_ENDPOINT ? { endpoint: env.VOXPIPE_S3_ENDPOINT, forcePathStyle: true } : {}),
});

const signer: UrlSigner = {
  getUrl: (key, expiresIn) => getSignedUrl(signingClient, new GetObjectCommand({ Bucket: env.VOXPIPE_BUCKET, Key: key }), { expiresIn }),
  putUrl: (key, expiresIn) => getSignedUrl(signingClient, new PutObjectCommand({ Bucket: env.VOXPIPE_BUCKET, Key: key }), { expiresIn }),
};

const submitter: JobSubmitter = {
  async start(record) {
    const message: StartJobMessage = { startJob: { bucket: env.VOXPIPE_BUCKET, key: record.sourceKey, jobId: record.jobId } };
    await sqs.send(new SendMessageCommand({ QueueUrl: env.VOXPIPE_SPLIT_QUEUE_URL, MessageBody: JSON.stringify(message) }));
  },
};

const { VOXPIPE_WEBHOOK_QUEUE_URL: webhookQueueUrl } = parseEnv(WebhookProducerEnv, process.env);

const api = createApi({
  store,
  keys: createStoreApiKeys(store),
  submitter,
  signer,
  logger: portLogger(logger),
  linkTtlSeconds: env.VOXPIPE_LINK_TTL_SECONDS,
  // `job.transcript.edited` goes to the webhook queue when the stack has webhooks.
  ...(webhookQueueUrl ? { notifier: createWebhookQueueNotifier(sqsWebhookQueue(sqsClient(), webhookQueueUrl)) } : {}),
});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const response = await api(toApiRequest(event));
  return { statusCode: response.status, headers: { ...response.headers }, body: JSON.stringify(response.body) };
};

/** The payload-v2 event as the shared handler's request (API Gateway lowercases header names in v2). */
export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: event.queryStringParameters ?? {},
    headers: Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    body,
  };
}
