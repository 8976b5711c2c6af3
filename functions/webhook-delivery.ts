/**
 * Webhook Lambda: one delivery attempt per webhook queue message (`lib/webhook-attempt.ts`); retries are
 * re-sent to the same queue with a delay, and dead letters are written to `webhooks/dead-letter/`.
 */
import type { SQSEvent } from 'aws-lambda';
import { flushMetrics, observability } from './lib/aws.js';
import { parseEnv } from './lib/env.js';
import { createWebhookHandler, webhookDepsFromEnv } from './lib/webhook-aws.js';
import { WebhookEnv } from './lib/webhook-env.js';

const env = parseEnv(WebhookEnv);
const { logger, metrics } = observability(env);
const handle = createWebhookHandler(webhookDepsFromEnv(env, logger), logger, metrics);

export const handler = async (event: SQSEvent) => {
  try {
    return await handle(event);
  } finally {
    flushMetrics(metrics);
  }
};
