/**
 * The webhook Lambda's composition root pieces: its dependencies from the environment (S3 store, queue
 * send, Secrets Manager, presigner, cloud SSRF policy) and the batch loop.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { ConfigError, errorMessage } from '../../shared/core/errors.js';
import { type WebhookAttemptDeps, type WebhookAttemptResult, runWebhookAttempt } from './webhook-attempt.js';
import { portLogger, s3Client, sqsClient } from './aws.js';
import { jsonBody, type RecordOutcome, toBatchResponse } from './sqs-batch.js';
import type { WebhookEnv } from './webhook-env.js';
import { sqsWebhookQueue, WebhookTask } from './webhook-queue.js';

/** Secret values are re-read after this long, so a rotated signing key is picked up without a deploy. */
const SECRET_TTL_MS = 5 * 60_000;

/** Build the webhook Lambda's dependencies once per container. */
export function webhookDepsFromEnv(env: WebhookEnv, logger: Logger): WebhookAttemptDeps {
  const s3 = s3Client(env);
  const secrets = cachedSecrets(new SecretsManagerClient({}), env.VOXPIPE_WEBHOOK_SECRET_ID);
  return {
    store: createS3Store({ client: s3, bucket: env.VOXPIPE_BUCKET }),
    send: sqsWebhookQueue(sqsClient(), env.VOXPIPE_WEBHOOK_QUEUE_URL),
    now: () => Date.now(),
    ...(env.VOXPIPE_WEBHOOK_URL ? { defaultTarget: { url: env.VOXPIPE_WEBHOOK_URL } } : {}),
    secretOf: secrets,
    presign: (key) => getSignedUrl(s3, new GetObjectCommand({ Bucket: env.VOXPIPE_BUCKET, Key: key }), { expiresIn: env.VOXPIPE_WEBHOOK_LINK_TTL_SECONDS }),
    urlPolicy: { mode: 'cloud', allowHttp: env.VOXPIPE_WEBHOOK_ALLOW_HTTP, allowHosts: env.VOXPIPE_WEBHOOK_ALLOW_HOSTS },
    attemptTimeoutMs: env.VOXPIPE_WEBHOOK_ATTEMPT_TIMEOUT_SECONDS * 1000,
    logger: portLogger(logger),
  };
}

/**
 * The SQS handler: every record of a batch is attempted at once, each in its own try/catch, so a
 * receiver that hangs costs its own attempt's timeout and no other record waits on it. Failed records
 * come back as `batchItemFailures`.
 */
export function createWebhookHandler(deps: WebhookAttemptDeps, logger: Logger, metrics?: Metrics) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const outcomes = await Promise.all(
      event.Records.map(async (record): Promise<RecordOutcome> => {
        try {
          const task = WebhookTask.parse(jsonBody(record));
          const result = await runWebhookAttempt(task, record.messageId, deps);
          count(metrics, result);
          return { status: 'success', messageId: record.messageId };
        } catch (error) {
          logger.error('webhook record failed', { messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error: errorMessage(error) });
          return { status: 'fail', messageId: record.messageId, error };
        }
      }),
    );
    return toBatchResponse(outcomes);
  };
}

function count(metrics: Metrics | undefined, result: WebhookAttemptResult): void {
  const name = { delivered: 'WebhooksDelivered', 'dead-lettered': 'WebhooksDeadLettered', refused: 'WebhooksRefused', 'retry-scheduled': 'WebhookRetries', stopped: 'WebhooksStopped' }[
    result.kind as string
  ];
  if (name) metrics?.addMetric(name, 'Count', 1);
}

/** `whsec_…` keys by secret id (the default one when none is named), cached per container for a few minutes. */
function cachedSecrets(client: SecretsManagerClient, defaultId: string): (secretName?: string) => Promise<string> {
  const cache = new Map<string, { value: Promise<string>; at: number }>();
  return (secretName) => {
    const id = secretName ?? defaultId;
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < SECRET_TTL_MS) return hit.value;
    const value = readSigningSecret(client, id);
    value.catch(() => cache.delete(id));
    cache.set(id, { value, at: Date.now() });
    return value;
  };
}

async function readSigningSecret(client: SecretsManagerClient, id: string): Promise<string> {
  const res = await client.send(new GetSecretValueCommand({ SecretId: id }));
  const raw = (res.SecretString ?? '').trim();
  let secret = raw;
  if (raw.startsWith('{')) {
    try {
      secret = String((JSON.parse(raw) as { secret?: unknown }).secret ?? '');
    } catch {
      secret = '';
    }
  }
  if (!secret.startsWith('whsec_')) {
    throw new ConfigError(`webhook secret ${id} must hold a whsec_… key (or JSON { "secret": "whsec_…" }); put one with aws secretsmanager put-secret-value`);
  }
  return secret;
}
