/**
 * Job API Lambda: API Gateway HTTP API (payload v2) → the shared job API (shared/api), and, when the stack has
 * the dashboard (`VOXPIPE_SESSION_SECRET_ARN` set), the dashboard's routes (shared/dashboard, the same code as
 * `voxpipe serve`): `/signin`, `/signout` and `/ui/api/*` behind a signed session cookie. Media and downloads
 * are redirects to presigned S3 GETs (S3 answers the range requests).
 * Job state and API keys (sha256 hashes) live in the ingest bucket; links are S3 presigned URLs; an
 * `{ s3Key }` job or a retry is started by a start-job message on the split queue, and an `{ upload: true }`
 * job by the S3 notification of its `uploads/<jobId>/…` object (the same path as every other upload).
 */
import { hkdfSync } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createStoreApiKeys } from '../shared/api/api-keys.js';
import { type ApiRequest, createApi } from '../shared/api/handler.js';
import type { JobSubmitter, UrlSigner } from '../shared/api/ports.js';
import { createDashboardRoutes, type DashboardRoutes, type UiResult } from '../shared/dashboard/routes.js';
import { createSessions } from '../shared/dashboard/session.js';
import { readApiKeySecret } from './lib/api-key-secret.js';
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
  /** The dashboard's session key (a Secrets Manager secret of the stack); unset: no dashboard routes. */
  VOXPIPE_SESSION_SECRET_ARN: z.string().min(1).optional(),
  /** Origins the dashboard is served from (comma-separated, e.g. `https://d111.cloudfront.net`): the CSRF Origin check. */
  VOXPIPE_DASHBOARD_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.url())),
});

const env = parseEnv(ApiEnv);
const { logger } = observability(env);
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

/** How long a session key read from Secrets Manager is used before it is read again (a rotation takes effect). */
const SESSION_KEY_CACHE_MS = 5 * 60 * 1000;
let dashboard: { routes: Promise<DashboardRoutes>; readAt: number } | undefined;

/** The dashboard routes with the current session key, or undefined when the stack has no dashboard. */
function dashboardRoutes(): Promise<DashboardRoutes> | undefined {
  const secretArn = env.VOXPIPE_SESSION_SECRET_ARN;
  if (!secretArn) return undefined;
  if (!dashboard || Date.now() - dashboard.readAt > SESSION_KEY_CACHE_MS) {
    const routes = readApiKeySecret(new SecretsManagerClient({}), secretArn, 'dashboard session key').then((secret) => {
      if (secret.length < 32) throw new Error(`dashboard session key: secret ${secretArn} has fewer than 32 characters`);
      const storeKeys = createStoreApiKeys(store);
      const key = new Uint8Array(hkdfSync('sha256', secret, 'voxpipe', 'dashboard session v1', 32));
      return createDashboardRoutes({ sessions: createSessions({ key, store, keys: storeKeys, secure: true }), keys: storeKeys, api, origins: () => env.VOXPIPE_DASHBOARD_ORIGINS });
    });
    dashboard = { routes, readAt: Date.now() };
    routes.catch(() => {
      dashboard = undefined;
    });
  }
  return dashboard.routes;
}

const isDashboardPath = (path: string) => path === '/signin' || path === '/signout' || path.startsWith('/ui/api/');

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const request = toApiRequest(event);
  const routes = isDashboardPath(request.path) ? dashboardRoutes() : undefined;
  if (routes) {
    try {
      const result = await (await routes).handle(request);
      if (result) return await uiResponse(result);
    } catch (err) {
      logger.error('dashboard request failed', { path: request.path, error: (err as Error).message });
      return { statusCode: 500, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ error: { code: 'internal', message: 'internal error; retry later' } }) };
    }
  }
  const response = await api(request);
  return { statusCode: response.status, headers: { ...response.headers }, body: JSON.stringify(response.body) };
};

/** A dashboard result as the HTTP API's response: media and downloads are presigned S3 GETs (short-lived). */
async function uiResponse(result: UiResult): Promise<APIGatewayProxyStructuredResultV2> {
  if (result.kind === 'response') {
    const { 'set-cookie': setCookie, ...headers } = result.headers;
    return { statusCode: result.status, headers, body: result.body, ...(setCookie ? { cookies: [setCookie] } : {}) };
  }
  if (!(await store.exists(result.key))) {
    const message = result.kind === 'media' ? 'the source of this job is not stored (any more)' : `no ${result.fileName} yet`;
    return { statusCode: 404, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ error: { code: 'not_found', message } }) };
  }
  const expiresIn = Math.min(env.VOXPIPE_LINK_TTL_SECONDS, 3600);
  const command =
    result.kind === 'media'
      ? new GetObjectCommand({ Bucket: env.VOXPIPE_BUCKET, Key: result.key })
      : new GetObjectCommand({
          Bucket: env.VOXPIPE_BUCKET,
          Key: result.key,
          ResponseContentType: result.contentType,
          ResponseContentDisposition: `attachment; filename="${result.fileName}"`,
        });
  const location = await getSignedUrl(signingClient, command, { expiresIn });
  return { statusCode: 302, headers: { location, 'cache-control': 'private, no-store', 'referrer-policy': 'no-referrer' }, body: '' };
}

/**
 * The payload-v2 event as the shared handler's request (API Gateway lowercases header names in v2, and moves the
 * `Cookie` header into `event.cookies`: it is put back as one `cookie` header).
 */
export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const headers: Record<string, string | undefined> = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: event.queryStringParameters ?? {},
    headers,
    body,
  };
}
