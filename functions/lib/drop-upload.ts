import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { headDroppedObject } from '../../shared/adapters/s3-drop-area.js';
import { ConfigError, errorMessage } from '../../shared/core/errors.js';
import { jobKeys } from '../../shared/core/keys.js';
import { type DropRef, S3_DROP_ROOTS } from '../../shared/core/profile-paths.js';
import { overridesFromMetadata } from '../../shared/core/profile-schema.js';
import { webhookTargetKey } from '../../shared/core/webhook-target.js';
import type { JobOptions, JobStatus } from '../../shared/core/types.js';
import type { BlobStore, DropArea, Logger } from '../../shared/ports.js';
import { type JobDefaults, type ProfilesConfig, type ResolvedJob, resolveJobOptions } from '../../shared/profiles.js';
import { writeDropRecord } from '../../shared/stages/drop-job.js';
import { finalizeSource } from '../../shared/stages/finalize-source.js';
import { writeJson } from '../../shared/stages/store-json.js';
import type { Upload } from './s3-event.js';
import { claimSource, sourceClaimKey } from './source-claim.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';

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
}

/**
 * Decide what to do with an upload under `inbox/<profile>/…`: a job to split (its id and options), or nothing
 * (a redelivered notification, a duplicate drop, or a drop that failed before it became a job, which is then
 * already in `failed/` with its reason).
 *
 * The job id is derived from the content (`x-amz-meta-voxpipe-sha256` when the uploader set it, else the ETag),
 * the profile and the resolved options, so the same file dropped twice is one job; `voxpipe-force` adds the
 * object's version, and a drop whose earlier job failed runs again.
 */
export async function admitDrop(upload: Upload, drop: DropRef, ctx: DropContext): Promise<{ jobId: string; options: JobOptions } | undefined> {
  const source = `s3://${upload.bucket}/${upload.key}`;
  const head = await headDroppedObject(ctx.s3, ctx.bucket, upload.key);
  if (!head) {
    ctx.logger.info('drop already moved; notification dropped', { source });
    return undefined;
  }
  const failDrop = async (reason: string) => {
    ctx.logger.warn('drop rejected', { source, reason });
    await finalizeSource({ drop, roots: S3_DROP_ROOTS, status: 'failed', reason }, { drop: ctx.area, logger: ctx.logger });
    return undefined;
  };
  const profile = ctx.profiles.profiles[drop.profile];
  if (!profile) return failDrop(`${upload.key}: unknown profile "${drop.profile}"; this stack's profiles are ${Object.keys(ctx.profiles.profiles).join(', ')}`);
  let resolved: ResolvedJob;
  try {
    resolved = resolveJobOptions(profile, overridesFromMetadata(head.metadata), ctx.defaults);
  } catch (err) {
    if (err instanceof ConfigError) return failDrop(`${upload.key}: ${errorMessage(err)}`);
    throw err;
  }
  const { provider, model } = resolved.options;
  if (provider !== ctx.deployed.provider || model !== ctx.deployed.model) {
    return failDrop(
      `${upload.key}: asks for ${provider} ${model}, but this stack transcribes with ${ctx.deployed.provider} ${ctx.deployed.model}; drop it without a provider/model override, or deploy a stack with -c provider=${provider} -c model=${model}`,
    );
  }

  const contentId = head.metadata['voxpipe-sha256'] ?? head.eTag;
  let jobId = dropJobId(ctx.bucket, drop.profile, contentId, resolved.options, resolved.force ? `${upload.key}\n${upload.version}` : undefined);
  for (let retried = false; ; retried = true) {
    const decision = await claimSource(ctx.store, jobId, source, { now: ctx.now, splitTimeoutMs: ctx.splitTimeoutMs });
    if (decision === 'split' || decision === 'take-over') break;
    const claim = await readJsonIfExists<{ source: string }>(ctx.store, sourceClaimKey(jobId));
    const status = await readJsonIfExists<JobStatus>(ctx.store, jobKeys(jobId).status);
    const finished = status?.state === 'completed' || status?.state === 'failed';
    if (status?.state === 'failed' && !retried) {
      // The same content failed before (provider down, a bad override): this drop is a new attempt.
      jobId = dropJobId(ctx.bucket, drop.profile, contentId, resolved.options, `${upload.key}\n${upload.version}`);
      continue;
    }
    if (claim?.source === source && !finished) {
      ctx.logger.info('duplicate notification of a drop in progress dropped', { source, jobId, decision });
      return undefined;
    }
    const first = claim?.source.replace(`s3://${ctx.bucket}/`, '') ?? 'an earlier drop';
    await finalizeSource(
      {
        drop,
        roots: S3_DROP_ROOTS,
        status: 'duplicate',
        reason: `same content as ${first}, already transcribed with the same options (job ${jobId}); set x-amz-meta-voxpipe-force: true to run it again`,
        duplicateOf: first,
        duplicateFailed: status?.state === 'failed',
        jobId,
        retentionDays: resolved.retentionDays,
      },
      { drop: ctx.area, logger: ctx.logger },
    );
    return undefined;
  }
  await writeDropRecord(ctx.store, jobId, { drop, formats: resolved.formats, retentionDays: resolved.retentionDays, webhook: resolved.webhook });
  // The profile's webhook, where the webhook Lambda looks for a job's receiver (secretRef validated at synth).
  if (resolved.webhook) await writeJson(ctx.store, webhookTargetKey(jobId), { url: resolved.webhook.url, secretName: resolved.webhook.secretRef });
  return { jobId, options: resolved.options };
}

/** Job id of a drop: content, profile and options (plus a nonce when forced or retried). */
export function dropJobId(bucket: string, profile: string, contentId: string, options: JobOptions, nonce?: string): string {
  return createHash('sha256')
    .update(`drop\n${bucket}\n${profile}\n${contentId}\n${JSON.stringify(options)}\n${nonce ?? ''}`)
    .digest('hex')
    .slice(0, 20);
}
