/**
 * Drop admission: what to do with a file that landed in a drop folder (`voxpipe watch DIR` or S3
 * `inbox/<profile>/…`). One stage, one dedup rule and one set of outcomes for both runtimes; the runtime only
 * supplies the content identity, the resolved options and its liveness rule for claims.
 *
 * **Dedup rule.** A drop's job id is `sha256("drop", profile, content id, options)` (`dropJobId`): the content
 * id is the file's SHA-256 (locally; on S3 `x-amz-meta-voxpipe-sha256`, else the ETag), the options are the
 * resolved job options. The first drop wins the conditional write of `jobs/<jobId>/source.claim`.
 *
 * **Outcomes** (`AdmitOutcome['outcome']`):
 * - `run`: a new job (`attempt`: `first`, `rerun` after a failed job of the same content, `forced`);
 * - `resume`: this drop's own claim, or a claim its owner abandoned: run the job (the stages resume);
 * - `in-progress`: this very drop is already being handled (a redelivered notification): nothing to do;
 * - `wait`: another drop with the same content is still running: leave this one in the inbox and admit it
 *   again later, when that job has ended (then it is a `duplicate`, or a `run` if that job failed);
 * - `duplicate`: the same content already completed with the same options: moved to `processed/`;
 * - `rejected`: the drop cannot become a job (unknown profile, bad override): moved to `failed/` with the reason.
 *
 * A job that failed never makes a duplicate: the next drop of that content runs again (`rerun`), and the
 * failed claim points to the rerun (`rerun`), so later drops follow it.
 */
import { dropJobId, sourceDigest } from '../core/drop-job-id.js';
import { AlreadyExistsError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import { type DropRef, type DropRoots, dropKeys } from '../core/profile-paths.js';
import type { JobOptions, JobStatus } from '../core/types.js';
import type { BlobStore, DropArea, Logger } from '../ports.js';
import { finalizeSource } from './finalize-source.js';
import { readJsonIfExists, writeJson } from './store-json.js';

/** `jobs/<jobId>/source.claim`: written once, conditionally, by the first drop (or upload) of a job. */
export const sourceClaimKey = (jobId: string): string => jobKeys(jobId).sourceClaim;

/** `jobs/<jobId>/waiting/<hash>.json`: a drop with the same content that waits for this job to end. */
export const waitingKey = (jobId: string, source: string): string => jobKeys(jobId).waiting(sourceDigest(source));

/** The claim record of a drop job. */
export interface DropClaim {
  /** The drop-area key of the drop that claimed (`inbox/<profile>/<path>` on S3, `<profile>/<path>` locally). */
  readonly source: string;
  readonly claimedAt: string;
  /** Who admitted it (SQS message id; locally the watcher process). */
  readonly owner?: string;
  /** After this job failed: the job id of the rerun a later drop started. */
  readonly rerun?: string;
  readonly takeOver?: boolean;
}

export type AdmitOutcome =
  | { readonly outcome: 'run'; readonly jobId: string; readonly attempt: 'first' | 'rerun' | 'forced' }
  | { readonly outcome: 'resume'; readonly jobId: string }
  | { readonly outcome: 'in-progress'; readonly jobId: string }
  | { readonly outcome: 'wait'; readonly jobId: string; readonly waitingFor: string }
  | { readonly outcome: 'duplicate'; readonly jobId: string; readonly duplicateOf: string }
  | { readonly outcome: 'rejected'; readonly reason: string };

export type AdmitOutcomeName = AdmitOutcome['outcome'];

export interface AdmitDropInput {
  readonly drop: DropRef;
  readonly roots: DropRoots;
  /** SHA-256 of the content (or the S3 ETag when no hash was given). */
  readonly contentId: string;
  /** The options the drop resolves to (profile + sidecar/metadata), or why it cannot run. */
  readonly resolved:
    | { readonly options: JobOptions; readonly force: boolean; readonly retentionDays?: number }
    | { readonly rejected: string };
  /** This drop as an object (S3: key + version; locally: path + mtime): the nonce of a forced run or a rerun. */
  readonly instance: string;
  /** Who is admitting (SQS message id; locally the watcher process's id). */
  readonly owner: string;
}

export interface AdmitDropDeps {
  readonly store: BlobStore;
  readonly area: DropArea;
  readonly logger: Logger;
  readonly now: number;
  /**
   * True when the unfinished job behind a claim was left by a runner that is gone: the liveness rule of the
   * runtime. `state` is `claimed` (not split yet) or `running` (past its split). On AWS a claimed job is
   * abandoned once older than the splitter's timeout, a running one never (the queues drive it); locally both
   * are when another watcher process wrote the claim (that process ran the whole job and is gone).
   * An abandoned job is taken over (`resume`).
   */
  readonly abandoned: (claim: DropClaim, state: 'claimed' | 'running') => boolean;
}

export { dropJobId };

/** Decide what happens to a drop, and do the part that needs no job (move duplicates and rejects). */
export async function admitDrop(input: AdmitDropInput, deps: AdmitDropDeps): Promise<AdmitOutcome> {
  const keys = dropKeys(input.drop, input.roots);
  const { store, logger } = deps;
  if ('rejected' in input.resolved) {
    await finalizeSource({ drop: input.drop, roots: input.roots, status: 'failed', reason: input.resolved.rejected }, { drop: deps.area, logger });
    return { outcome: 'rejected', reason: input.resolved.rejected };
  }
  const { options, force, retentionDays } = input.resolved;
  const record = (extra: Partial<DropClaim> = {}): DropClaim => ({ source: keys.source, claimedAt: new Date(deps.now).toISOString(), owner: input.owner, ...extra });
  const claim = async (jobId: string): Promise<boolean> => {
    try {
      await writeJson(store, sourceClaimKey(jobId), record(), { ifNoneMatch: '*' });
      return true;
    } catch (err) {
      if (err instanceof AlreadyExistsError) return false;
      throw err;
    }
  };

  if (force) {
    const jobId = dropJobId(input.drop.profile, input.contentId, options, input.instance);
    if (await claim(jobId)) return { outcome: 'run', jobId, attempt: 'forced' };
    return decide(jobId);
  }
  let jobId = dropJobId(input.drop.profile, input.contentId, options);
  if (await claim(jobId)) return { outcome: 'run', jobId, attempt: 'first' };
  return decide(jobId);

  async function decide(first: string): Promise<AdmitOutcome> {
    jobId = first;
    for (let hops = 0; ; hops++) {
      const existing = await readJsonIfExists<DropClaim>(store, sourceClaimKey(jobId));
      if (!existing) {
        // Removed between our write and this read (a job-API retry resets it): claim again.
        if (await claim(jobId)) return { outcome: 'run', jobId, attempt: 'first' };
        continue;
      }
      const mine = existing.source === keys.source;
      const state = await jobState(store, jobId);
      if (state === 'failed') {
        // A failed job never makes a duplicate: follow its rerun, or start one.
        const next = existing.rerun ?? dropJobId(input.drop.profile, input.contentId, options, input.instance);
        if (next === jobId || hops > 32) return { outcome: 'in-progress', jobId }; // this very drop failed: its end is being written
        if (!existing.rerun) {
          await writeJson(store, sourceClaimKey(jobId), { ...existing, rerun: next });
          if (await claim(next)) {
            logger.info('drop of content whose job failed runs again', { source: keys.source, failed: jobId, jobId: next });
            return { outcome: 'run', jobId: next, attempt: 'rerun' };
          }
        }
        jobId = next;
        continue;
      }
      if (state === 'completed') {
        if (mine) return { outcome: 'in-progress', jobId };
        await finalizeSource(
          {
            drop: input.drop,
            roots: input.roots,
            status: 'duplicate',
            reason: `same content as ${existing.source}, already transcribed with the same options (job ${jobId}); force a new run with --force, "force": true in the sidecar or x-amz-meta-voxpipe-force: true`,
            duplicateOf: existing.source,
            jobId,
            retentionDays,
          },
          { drop: deps.area, logger },
        );
        return { outcome: 'duplicate', jobId, duplicateOf: existing.source };
      }
      if (deps.abandoned(existing, state) || (state === 'claimed' && mine && existing.owner === input.owner)) {
        await writeJson(store, sourceClaimKey(jobId), { ...existing, ...record({ takeOver: true }) });
        logger.info('drop claim taken over', { source: keys.source, jobId, claimedBy: existing.source });
        return { outcome: 'resume', jobId };
      }
      if (mine) return { outcome: 'in-progress', jobId };
      logger.info('drop waits for the job of the same content', { source: keys.source, jobId, waitingFor: existing.source });
      // Where an operator (and a test) sees who waits for a job: `jobs/<jobId>/waiting/<hash of the source>.json`.
      await writeJson(store, waitingKey(jobId, keys.source), { source: keys.source, since: new Date(deps.now).toISOString() });
      return { outcome: 'wait', jobId, waitingFor: existing.source };
    }
  }
}

/** Where the job behind a claim is: ended, running past its split, or only claimed. */
async function jobState(store: BlobStore, jobId: string): Promise<'completed' | 'failed' | 'running' | 'claimed'> {
  const status = await readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
  if (status?.state === 'completed' || status?.state === 'failed') return status.state;
  if (status && status.state !== 'splitting') return 'running';
  return 'claimed';
}
