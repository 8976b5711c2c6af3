/**
 * What `GET /jobs/{id}` reports, derived from what the pipeline stored: `jobs/<id>/status.json`, the chunk
 * results under `jobs/<id>/chunks/` (progress and cost so far) and `results/<id>/` (links when done).
 */
import { jobKeys } from '../core/keys.js';
import type { ChunkResult, JobStatus, Transcript } from '../core/types.js';
import type { BlobStore } from '../ports.js';
import type { UrlSigner } from './ports.js';
import type { ApiJobRecord } from './records.js';
import type { ApiJobState } from './schemas.js';
import { readJsonIfExists } from '../stages/store-json.js';

/** The job as the API returns it (see `Job` in api/openapi.yaml). */
export interface JobView {
  readonly jobId: string;
  readonly state: ApiJobState;
  readonly source: { readonly kind: 's3Key' | 'upload'; readonly key: string };
  readonly options: ApiJobRecord['options'];
  readonly webhook?: { readonly url: string };
  readonly reason?: string;
  /** 1, plus one per `POST /jobs/{id}/retry` that restarted the job. */
  readonly attempt: number;
  readonly progress: { readonly chunksDone: number; readonly chunksTotal: number | null };
  readonly timings: { readonly createdAt: string; readonly updatedAt: string; readonly finishedAt?: string; readonly elapsedSeconds: number };
  readonly usage: { readonly audioSeconds: number; readonly costUsd?: number };
  readonly results?: { readonly expiresAt: string; readonly files: readonly { readonly name: string; readonly url: string }[] };
}

/** One line of `GET /jobs`. */
export interface JobSummary {
  readonly jobId: string;
  readonly state: ApiJobState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly source: string;
  readonly reason?: string;
}

const TERMINAL = new Set<ApiJobState>(['completed', 'failed']);

/**
 * The state and status of a job: the pipeline's status when it has one; else, once `jobs/` expired
 * (`retentionDays`), the result it left (kept as long as `results/`); else where the source is.
 */
export async function jobState(store: BlobStore, record: ApiJobRecord): Promise<{ state: ApiJobState; status?: JobStatus }> {
  const keys = jobKeys(record.jobId);
  const status = await readJsonIfExists<JobStatus>(store, keys.status);
  if (status) return { state: status.state, status };
  const ended = await readJsonIfExists<Pick<Transcript, 'status' | 'error'>>(store, keys.result('json'));
  if (ended?.status === 'completed' || ended?.status === 'failed') {
    return { state: ended.status, ...(ended.error ? { status: { jobId: record.jobId, source: record.sourceKey, state: ended.status, updatedAt: record.createdAt, reason: ended.error } } : {}) };
  }
  if (record.sourceKind === 'upload' && !(await store.exists(record.sourceKey))) return { state: 'awaiting_upload' };
  return { state: 'queued' };
}

/** The summary of a job for listings (one status read). */
export async function jobSummary(store: BlobStore, record: ApiJobRecord): Promise<JobSummary> {
  const { state, status } = await jobState(store, record);
  return {
    jobId: record.jobId,
    state,
    createdAt: record.createdAt,
    updatedAt: status?.updatedAt ?? record.createdAt,
    source: record.sourceKey,
    ...(status?.reason ? { reason: status.reason } : {}),
  };
}

/**
 * The full view of a job. Progress counts stored chunk results (ok or failed) against the manifest's
 * pending chunks; cost so far sums the chunk results' provider-reported costs until the transcript exists,
 * then is the transcript's ledger (transcription plus enrichments).
 */
export async function jobView(
  store: BlobStore,
  signer: UrlSigner,
  record: ApiJobRecord,
  opts: { readonly now: number; readonly linkTtlSeconds: number },
): Promise<JobView> {
  const keys = jobKeys(record.jobId);
  const { state, status } = await jobState(store, record);
  const chunks = await chunkResults(store, keys.chunksPrefix);
  const transcript = TERMINAL.has(state) ? await readJsonIfExists<Transcript>(store, keys.result('json')) : undefined;
  const updatedAt = status?.updatedAt ?? record.createdAt;
  const finishedAt = TERMINAL.has(state) ? updatedAt : undefined;
  const end = finishedAt ? Date.parse(finishedAt) : opts.now;
  const chunksTotal = status?.chunksTotal ?? (transcript ? transcript.chunks.length : null);
  return {
    jobId: record.jobId,
    state,
    source: { kind: record.sourceKind, key: record.sourceKey },
    options: record.options,
    ...(record.webhook ? { webhook: record.webhook } : {}),
    ...(status?.reason ? { reason: status.reason } : {}),
    attempt: 1 + (record.retries?.length ?? 0),
    progress: { chunksDone: state === 'completed' && chunksTotal !== null ? chunksTotal : chunks.length, chunksTotal },
    timings: {
      createdAt: record.createdAt,
      updatedAt,
      ...(finishedAt ? { finishedAt } : {}),
      elapsedSeconds: Math.max(0, Math.round((end - Date.parse(record.createdAt)) / 100) / 10),
    },
    usage: transcript ? transcriptUsage(transcript) : chunkUsage(chunks),
    ...(TERMINAL.has(state) ? { results: await resultLinks(store, signer, record.jobId, opts) } : {}),
  };
}

async function chunkResults(store: BlobStore, prefix: string): Promise<ChunkResult[]> {
  const results: ChunkResult[] = [];
  for await (const key of store.list(prefix)) {
    if (!key.endsWith('.json')) continue;
    const result = await readJsonIfExists<ChunkResult>(store, key);
    if (result) results.push(result);
  }
  return results;
}

function chunkUsage(chunks: readonly ChunkResult[]): JobView['usage'] {
  let audioSeconds = 0;
  let costUsd: number | undefined;
  for (const c of chunks) {
    if (c.status !== 'ok') continue;
    audioSeconds += c.transcript.usage.audioSeconds;
    if (c.transcript.usage.costUsd !== undefined) costUsd = (costUsd ?? 0) + c.transcript.usage.costUsd;
  }
  return { audioSeconds: round(audioSeconds), ...(costUsd !== undefined ? { costUsd } : {}) };
}

function transcriptUsage(t: Transcript): JobView['usage'] {
  return { audioSeconds: round(t.usage.audioSeconds), ...(t.usage.costUsd !== undefined ? { costUsd: t.usage.costUsd } : {}) };
}

async function resultLinks(store: BlobStore, signer: UrlSigner, jobId: string, opts: { now: number; linkTtlSeconds: number }) {
  const files: { name: string; url: string }[] = [];
  const prefix = jobKeys(jobId).resultsPrefix;
  for await (const key of store.list(prefix)) files.push({ name: key.slice(prefix.length), url: await signer.getUrl(key, opts.linkTtlSeconds) });
  return { expiresAt: new Date(opts.now + opts.linkTtlSeconds * 1000).toISOString(), files };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
