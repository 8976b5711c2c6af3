/**
 * Where one job's webhooks go. Pure schema: the job API and drop-folder profiles write it as
 * `jobs/<jobId>/webhook.json`; the AWS webhook Lambda reads it (and falls back to the stack-wide default).
 *
 * No signing secret is ever stored here: a target names a Secrets Manager secret (`secretName`) or uses
 * the deployment's default secret.
 */
import { z } from 'zod';
import { jobKeys } from './keys.js';

/** Prefix every per-job `secretName` must have: the webhook Lambda may read only secrets under it. */
export const WEBHOOK_SECRET_PREFIX = 'voxpipe/webhooks/';

/** Job events a webhook can subscribe to. */
export const WebhookEventTypes = z.enum(['job.completed', 'job.failed', 'job.transcript.edited']);

/** `jobs/<jobId>/webhook.json`. */
export const WebhookTarget = z
  .object({
    /** The receiver. In cloud mode https only, and never a private, loopback or metadata address (checked at delivery). */
    url: z.url({ protocol: /^https?$/ }),
    /**
     * Secrets Manager secret (name under `voxpipe/webhooks/`) holding the `whsec_…` key this receiver verifies with.
     * @default the deployment's webhook secret (`webhookSecretName`)
     */
    secretName: z
      .string()
      .startsWith(WEBHOOK_SECRET_PREFIX, `must start with ${WEBHOOK_SECRET_PREFIX} (the only secrets the webhook function may read)`)
      .optional(),
    /** Which events to send. @default ['job.completed', 'job.failed'] */
    events: z.array(WebhookEventTypes).min(1).optional(),
  })
  .strict();

/** A parsed webhook target. */
export type WebhookTarget = z.output<typeof WebhookTarget>;

/** Key of a job's webhook target. */
export function webhookTargetKey(jobId: string): string {
  return jobKeys(jobId).webhookTarget;
}

/** True when `target` wants events of `type`. */
export function targetWants(target: WebhookTarget, type: string): boolean {
  return (target.events ?? WebhookEventTypes.options).some((t) => t === type);
}
