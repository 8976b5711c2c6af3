/**
 * `JobRunner` for the deployed pipeline: a file is submitted by copying it (S3 CopyObject, server side: no
 * download) into the ingest bucket's `inbox/`, which is exactly what an upload does; the job's progress is
 * then followed through the bucket's own job records (`jobs/<jobId>/status.json`, `results/<jobId>/transcript.json`).
 *
 * The job id is derived the way the splitter derives it (bucket, key, version id or ETag), through the
 * injected `jobIdOf`, so the runner needs no API. After a crash between the journal's `submitted` record and
 * the copy's answer, the destination is looked up first (HeadObject) and adopted when present: a file is
 * never copied into the inbox twice by a resumed run.
 *
 * Copies: CopyObject up to 5 GB, a multipart copy (UploadPartCopy, `s3-copy.ts`) above.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, PermanentError, TransientError } from '../core/errors.js';
import { dropProfilePrefixes, INBOX_PREFIX, jobKeys } from '../core/keys.js';
import type { JobStatus, Transcript } from '../core/types.js';
import type { JobRunner, SourceFile } from '../backfill/ports.js';
import { type DropReason, REASON_SUFFIX } from '../core/profile-paths.js';
import type { BlobStore } from '../ports.js';
import { errorNameOf, httpStatusOf, translateAwsError } from './aws-errors.js';
import { copyS3Object, MAX_SINGLE_COPY_BYTES } from './s3-copy.js';
import { parseS3Url } from './backfill-s3-source.js';

/** Largest object a single CopyObject copies. */
/** Tries of one copy. */
const COPY_ATTEMPTS = 3;

/** Options of `createS3CopyRunner`. */
export interface S3CopyRunnerOptions {
  readonly client: S3Client;
  /** The deployed pipeline's ingest bucket. */
  readonly bucket: string;
  /** BlobStore on that bucket (job status and results are read through it). */
  readonly store: BlobStore;
  /** Destination key prefix. @default 'inbox/' */
  readonly inboxPrefix?: string;
  /**
   * Drop-folder profile: files go to `inbox/<profile>/<path>` and are followed through the drop's outcome,
   * `processed|failed/<profile>/<path>.reason.json` (the drop's job id is derived from content and options,
   * which only the splitter knows). Overrides `inboxPrefix`.
   */
  readonly profile?: string;
  /** The pipeline's job id of an uploaded object (the splitter's `uploadJobId`). */
  readonly jobIdOf: (upload: { bucket: string; key: string; version: string }) => string;
  /** How often a job's status is read. @default 15 s */
  readonly pollMs?: number;
  /**
   * How long a job may go without reaching `completed` / `failed` before the file is reported failed (the
   * deployed sweeper fails jobs past their own deadline first, so this only catches a job that never started,
   * e.g. an inbox without notifications). @default 24 h
   */
  readonly jobTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Build the runner. */
export function createS3CopyRunner(opts: S3CopyRunnerOptions): JobRunner {
  const { client, bucket, store } = opts;
  const inbox = opts.profile ? dropProfilePrefixes(opts.profile).inbox : (opts.inboxPrefix ?? INBOX_PREFIX);
  const pollMs = opts.pollMs ?? 15_000;
  const wait = opts.sleep ?? ((ms: number) => sleep(ms));
  const jobTimeoutMs = opts.jobTimeoutMs ?? 24 * 3600_000;

  return {
    async run(file, resume, hooks) {
      if (opts.profile) return runDrop(opts.profile, file, resume !== undefined, hooks.submittedAt);
      let jobId = resume?.jobId;
      if (jobId === undefined) {
        const src = parseS3Url(file.location);
        if (!src) throw new PermanentError(`${file.location}: not an s3:// location`);
        const key = `${inbox}${file.id}`;
        const version = (resume ? await headVersion(key) : undefined) ?? (await copy(src.bucket, src.prefix, key, file.sizeBytes));
        jobId = opts.jobIdOf({ bucket, key, version });
        await hooks.submitted(jobId);
      }
      return follow(jobId);
    },
  };

  /**
   * A drop-folder file: copy it into `inbox/<profile>/` (unless a resumed run finds it there or already finished)
   * and wait for its reason record. Only records written after this submission count (an earlier drop of the same
   * path leaves its own), with a minute's allowance for clock skew between this machine and Lambda.
   */
  async function runDrop(profile: string, file: SourceFile, resumed: boolean, submittedAt: string) {
    const src = parseS3Url(file.location);
    if (!src) throw new PermanentError(`${file.location}: not an s3:// location`);
    const key = `${inbox}${file.id}`;
    const since = Date.parse(submittedAt) - 60_000;
    const reasonOf = async () => {
      for (const outcome of ['processed', 'failed'] as const) {
        const r = await readJson<DropReason>(`${outcome}/${profile}/${file.id}${REASON_SUFFIX}`);
        if (r && Date.parse(r.finishedAt) >= since) return r;
      }
      return undefined;
    };
    if (!resumed || ((await reasonOf()) === undefined && (await headVersion(key)) === undefined)) {
      await copy(src.bucket, src.prefix, key, file.sizeBytes);
    }
    for (let waited = 0; ; waited += pollMs) {
      const r = await reasonOf();
      if (r) {
        const t = r.jobId ? await readJson<Transcript>(jobKeys(r.jobId).result('json')) : undefined;
        // A duplicate drop is content transcribed before: done, at no new cost.
        const duplicate = r.status === 'duplicate';
        return {
          status: r.status === 'failed' ? ('failed' as const) : ('completed' as const),
          jobId: r.jobId,
          durationSeconds: t?.durationSeconds,
          costUsd: duplicate ? 0 : t?.usage.costUsd,
          error: r.status === 'failed' ? `${key}: ${r.reason ?? 'failed'}` : undefined,
        };
      }
      if (waited >= jobTimeoutMs) {
        return { status: 'failed' as const, error: `${key}: no outcome under processed/ or failed/ after ${Math.round(waited / 60_000)} min; check the inbox notifications and the splitter's logs, then re-run with --retry-failed` };
      }
      await wait(pollMs);
    }
  }

  /** Copy, retried (beyond the SDK's own retries) while S3 answers with a transient error or no version. */
  async function copy(srcBucket: string, srcKey: string, key: string, size: number): Promise<string> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await copyOnce(srcBucket, srcKey, key, size);
      } catch (err) {
        if (attempt >= COPY_ATTEMPTS || !(err instanceof TransientError)) throw err;
        await wait(500 * 2 ** attempt);
      }
    }
  }

  async function copyOnce(srcBucket: string, srcKey: string, key: string, size: number): Promise<string> {
    try {
      if (size > MAX_SINGLE_COPY_BYTES) {
        await copyS3Object(client, { bucket: srcBucket, key: srcKey }, { bucket, key });
        const version = await headVersion(key);
        if (!version) throw new TransientError(`copy to s3://${bucket}/${key}: the multipart copy left no object`);
        return version;
      }
      const res = await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${srcBucket}/${srcKey.split('/').map(encodeURIComponent).join('/')}` }),
      );
      // An answer without either (seen from S3-compatible stores) is completed by reading the copy's head.
      const version = res.VersionId ?? unquote(res.CopyObjectResult?.ETag) ?? (await headVersion(key));
      if (!version) throw new TransientError(`copy to s3://${bucket}/${key}: S3 returned neither a version id nor an ETag`);
      return version;
    } catch (err) {
      if (err instanceof PermanentError || err instanceof TransientError) throw err;
      throw translateAwsError(err, `copy s3://${srcBucket}/${srcKey} to s3://${bucket}/${key}`);
    }
  }

  async function headVersion(key: string): Promise<string | undefined> {
    try {
      const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return res.VersionId ?? unquote(res.ETag);
    } catch (err) {
      if (httpStatusOf(err) === 404 || errorNameOf(err) === 'NotFound') return undefined;
      throw translateAwsError(err, `s3 head s3://${bucket}/${key}`);
    }
  }

  async function follow(jobId: string) {
    const keys = jobKeys(jobId);
    for (let waited = 0; ; waited += pollMs) {
      const status = await readJson<JobStatus>(keys.status);
      if (status?.state === 'completed' || status?.state === 'failed') {
        const t = await readJson<Transcript>(keys.result('json'));
        if (!t && status.state === 'completed' && waited < jobTimeoutMs) {
          await wait(pollMs); // completed: the result is written before the status, so it is being read half-way
          continue;
        }
        return {
          status: status.state,
          jobId,
          durationSeconds: t?.durationSeconds,
          costUsd: t?.usage.costUsd,
          error: status.state === 'failed' ? (status.reason ?? t?.error ?? 'failed') : undefined,
        };
      }
      if (waited >= jobTimeoutMs) {
        return {
          status: 'failed' as const,
          jobId,
          error: `job ${jobId} not finished after ${Math.round(waited / 60_000)} min (state ${status?.state ?? 'not started'}); check s3://${bucket}/${keys.status}, then re-run with --retry-failed`,
        };
      }
      await wait(pollMs);
    }
  }

  /**
   * An object as JSON; undefined while it is missing, or unparseable: S3 puts are atomic, but S3-compatible
   * stores (and the emulator) can show a half-written object, which the next poll reads whole.
   */
  async function readJson<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(new TextDecoder().decode(await store.get(key))) as T;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '') || undefined;
}
