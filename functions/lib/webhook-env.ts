import { z } from 'zod';
import { BaseEnv } from './env.js';

/** What a pipeline handler needs to queue webhooks: set by the `Webhooks` construct on every producer. */
export const WebhookProducerEnv = z.object({
  /** The webhook queue. Unset: the stack has no webhooks and events only go to EventBridge. */
  VOXPIPE_WEBHOOK_QUEUE_URL: z.url().optional(),
});

const hostList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  );

/** The webhook delivery Lambda. */
export const WebhookEnv = BaseEnv.extend({
  /** Its own queue: retries are re-sent there with a delay. */
  VOXPIPE_WEBHOOK_QUEUE_URL: z.url(),
  /** Stack-wide default receiver; a job's `jobs/<id>/webhook.json` overrides it. Unset: only jobs with a webhook.json get webhooks. */
  VOXPIPE_WEBHOOK_URL: z.url().optional(),
  /** Secrets Manager secret (name or ARN) with the default `whsec_…` signing key: a plain string, or JSON `{ "secret": "whsec_…" }`. */
  VOXPIPE_WEBHOOK_SECRET_ID: z.string().min(1),
  /** One attempt without a response after this long is abandoned and retried later. */
  VOXPIPE_WEBHOOK_ATTEMPT_TIMEOUT_SECONDS: z.coerce.number().min(1).max(60).default(15),
  /** Lifetime of the presigned result links in the payload (SigV4 allows at most 7 days; role credentials may end sooner). */
  VOXPIPE_WEBHOOK_LINK_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
  /** Hosts exempt from the SSRF guard's address check, comma separated (tests, a known internal receiver). */
  VOXPIPE_WEBHOOK_ALLOW_HOSTS: hostList,
  /** Accept http:// receivers (tests only; cloud webhooks are https). */
  VOXPIPE_WEBHOOK_ALLOW_HTTP: z.stringbool().default(false),
});
export type WebhookEnv = z.output<typeof WebhookEnv>;
