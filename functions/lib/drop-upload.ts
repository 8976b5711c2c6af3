import type { S3Client } from '@aws-sdk/client-s3';
import { headDroppedObject } from '../../shared/adapters/s3-drop-area.js';
import { ConfigError, errorMessage, TransientError } from '../../shared/core/errors.js';
import { type DropRef, S3_DROP_ROOTS } from '../../shared/core/profile-paths.js';
import { overridesFromMetadata } from '../../shared/core/profile-schema.js';
import { webhookTargetKey } from '../../shared/core/webhook-target.js';
import type { JobOptions } from '../../shared/core/types.js';
import type { BlobStore, DropArea, Logger } from '../../shared/ports.js';
import { type JobDefaults, type ProfilesConfig, type ResolvedJob, resolveJobOptions } from '../../shared/profiles.js';
import { writeDropRecord } from '../../shared/stages/drop-job.js';
import { type AdmitOutcome, admitDrop } from '../../shared/stages/admit-drop.js';
import { writeJson } from '../../shared/stages/store-json.js';
import type { Upload } from './s3-event.js';

/** Everything the splitter needs to admit a drop-folder upload. */
export interface DropContext {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly store: BlobStore;
  readonly area: DropArea;
  readonly profiles: ProfilesConfig;
  readonly defaults: JobDefaults;
  /** What this stack's transcriber calls: profiles and metadata cannot change it. */
  readonly deployed: { readonly provider: string; readonly model: string };
  readonly logger: Logger;
  readonly now: number;
  readonly splitTimeoutMs: number;
  /** The SQS message id of the notification: the claim's owner. */
  readonly owner: string;
  /** When a drop that waits for the same content's job is admitted again (the message's next visibility). */
  readonly waitRetryMs: number;
}

/**
 * Decide what to do with an upload under `inbox/<profile>/…`: a job to split (its id and options), or nothing
 * (a redelivered notification, a duplicate drop, or a drop rejected before it became a job, which is then
 * already in `failed/` with its reason). The decision is the shared `admitDrop` stage (the same rule and outcomes
 * as `voxpipe watch`); this adapter supplies what only S3 knows: the object's metadata (options) and content id
 * (`x-amz-meta-voxpipe-sha256` when the uploader set it, else the ETag), and the splitter's liveness rule.
 *
 * A drop that must `wait` (the same content's job is still running) throws a `TransientError`: the message comes
 * back later (the split queue's backoff) and is admitted again, to become a duplicate or a rerun.
 */
export async function admitS3Drop(upload: Upload, drop: DropRef, ctx: DropContext): Promise<{ jobId: string; options: JobOptions; outcome: AdmitOutcome } | undefined> {
  const source = `s3://${upload.bucket}/${upload.key}`;
  const head = await headDroppedObject(ctx.s3, ctx.bucket, upload.key);
  if (!head) {
    ctx.logger.info('drop already moved; notification dropped', { source });
    return undefined;
  }
  const resolved = resolveDrop(upload, drop, head.metadata, ctx);
  const outcome = await admitDrop(
    {
      drop,
      roots: S3_DROP_ROOTS,
      contentId: head.metadata['voxpipe-sha256'] ?? head.eTag,
      resolved: 'rejected' in resolved ? resolved : { options: resolved.options, force: resolved.force, retentionDays: resolved.retentionDays },
      instance: `${upload.key}\n${upload.version}`,
      owner: ctx.owner,
    },
    {
      store: ctx.store,
      area: ctx.area,
      logger: ctx.logger,
      now: ctx.now,
      // Past its split a job is driven by the queues, never abandoned; a claim that never got there is, once
      // older than the splitter's timeout (its splitter died), or at once when it is this very message's own.
      abandoned: (claim, state) => state === 'claimed' && (claim.owner === ctx.owner || ctx.now - Date.parse(claim.claimedAt) >= ctx.splitTimeoutMs),
    },
  );
  ctx.logger.info('drop admitted', { source, ...outcome });
  switch (outcome.outcome) {
    case 'rejected':
    case 'duplicate':
      return undefined;
    case 'wait':
      throw new TransientError(`${upload.key}: same content as ${outcome.waitingFor}, whose job ${outcome.jobId} is still running; admitted again when it has ended`, {
        retryAfterMs: ctx.waitRetryMs,
      });
    case 'in-progress':
      return { jobId: outcome.jobId, options: (resolved as ResolvedJob).options, outcome };
  }
  const job = resolved as ResolvedJob;
  await writeDropRecord(ctx.store, outcome.jobId, { drop, formats: job.formats, retentionDays: job.retentionDays, webhook: job.webhook });
  // The profile's webhook, where the webhook Lambda looks for a job's receiver (secretRef validated at synth).
  if (job.webhook) await writeJson(ctx.store, webhookTargetKey(outcome.jobId), { url: job.webhook.url, secretName: job.webhook.secretRef });
  return { jobId: outcome.jobId, options: job.options, outcome };
}

/** The options of a drop from its profile and metadata, or why it cannot run on this stack. */
function resolveDrop(upload: Upload, drop: DropRef, metadata: Readonly<Record<string, string>>, ctx: DropContext): ResolvedJob | { rejected: string } {
  const profile = ctx.profiles.profiles[drop.profile];
  if (!profile) return { rejected: `${upload.key}: unknown profile "${drop.profile}"; this stack's profiles are ${Object.keys(ctx.profiles.profiles).join(', ')}` };
  let resolved: ResolvedJob;
  try {
    resolved = resolveJobOptions(profile, overridesFromMetadata(metadata), ctx.defaults);
  } catch (err) {
    if (err instanceof ConfigError) return { rejected: `${upload.key}: ${errorMessage(err)}` };
    throw err;
  }
  const { provider, model } = resolved.options;
  if (provider !== ctx.deployed.provider || model !== ctx.deployed.model) {
    return {
      rejected: `${upload.key}: asks for ${provider} ${model}, but this stack transcribes with ${ctx.deployed.provider} ${ctx.deployed.model}; drop it without a provider/model override, or deploy a stack with -c provider=${provider} -c model=${model}`,
    };
  }
  return resolved;
}
