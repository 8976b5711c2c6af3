/** The dashboard's calls to `/ui/api` (the job API behind the session cookie), with the CSRF header. */
import type { ResultExt } from '../../shared/core/formats.js';

export { RESULT_FORMATS, type ResultExt, formatOf } from '../../shared/core/formats.js';

export interface JobView {
  readonly jobId: string;
  readonly state: string;
  readonly source: { readonly kind: string; readonly key: string };
  readonly options: Record<string, unknown>;
  readonly reason?: string;
  readonly progress: { readonly chunksDone: number; readonly chunksTotal: number | null };
  readonly timings: { readonly createdAt: string; readonly updatedAt: string; readonly finishedAt?: string; readonly elapsedSeconds: number };
  readonly usage: { readonly audioSeconds: number; readonly costUsd?: number };
}

export interface Segment {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly speaker?: string;
  /** Set by the accuracy checks when a segment looks wrong (hallucination, repetition, timing). */
  readonly suspect?: boolean;
  readonly suspectReason?: string;
}

export interface Word {
  readonly word: string;
  readonly start: number;
  readonly end: number;
}

type Enrichment<T> = ({ readonly status: 'ok' } & T) | { readonly status: 'failed'; readonly reason: string };

export interface Transcript {
  readonly id: string;
  readonly source: string;
  readonly durationSeconds: number;
  readonly language: string | null;
  readonly segments: readonly Segment[];
  readonly words?: readonly Word[];
  readonly warnings?: readonly string[];
  readonly translations?: Readonly<Record<string, Enrichment<{ readonly segments: readonly { readonly id: number; readonly text: string }[] }>>>;
  readonly summary?: Enrichment<{ readonly text: string }>;
  readonly extraction?: Enrichment<{ readonly data: unknown }>;
  readonly answer?: Enrichment<{ readonly text: string }> & { readonly mode?: string };
  readonly revision?: { readonly number: number; readonly editedAt: string };
  readonly usage?: { readonly costUsd?: number };
}

export interface TranscriptEdit {
  readonly baseRevision: number;
  readonly segments?: readonly { readonly id: number; readonly text?: string; readonly start?: number; readonly end?: number }[];
  readonly speakers?: Readonly<Record<string, string>>;
}

/** An API answer that was not 2xx: the API's `error.message`, else the status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
/** Settles once the session (and its CSRF token) is loaded: changes wait for it, reads do not. */
let sessionLoaded: Promise<unknown> = Promise.resolve();

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  if (method !== 'GET') await sessionLoaded.catch(() => undefined);
  const res = await fetch(`/ui/api${path}`, {
    method,
    credentials: 'same-origin',
    headers: {
      ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new ApiError(res.status, data.error?.message ?? `HTTP ${res.status}`);
  return data as T;
}

export function loadSession(): Promise<{ tenant: string }> {
  const loading = request<{ tenant: string; csrfToken: string }>('GET', '/session').then((s) => {
    csrfToken = s.csrfToken;
    return s;
  });
  sessionLoaded = loading;
  return loading;
}

export const listJobs = (status?: string) => request<{ jobs: JobView[] }>('GET', `/jobs${status ? `?status=${encodeURIComponent(status)}` : ''}`);
export const getJob = (id: string) => request<JobView>('GET', `/jobs/${encodeURIComponent(id)}`);
export const retryJob = (id: string) => request<{ jobId: string }>('POST', `/jobs/${encodeURIComponent(id)}/retry`);
export const getTranscript = (id: string) => request<Transcript>('GET', `/jobs/${encodeURIComponent(id)}/transcript`);
export const saveEdit = (id: string, edit: TranscriptEdit) => request<Transcript>('POST', `/jobs/${encodeURIComponent(id)}/transcript/revisions`, edit);
export const createUpload = (fileName: string) =>
  request<{ jobId: string; uploadUrl: string }>('POST', '/jobs', { source: { upload: true, fileName }, options: { words: true } });

export const mediaUrl = (id: string) => `/ui/api/jobs/${encodeURIComponent(id)}/media`;
export const downloadUrl = (id: string, ext: ResultExt) => `/ui/api/jobs/${encodeURIComponent(id)}/download/${ext}`;

/** PUT a file to its presigned upload URL, reporting progress (0–1). */
export function putUpload(url: string, file: File, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`upload failed: HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error('upload failed: network error'));
    xhr.send(file);
  });
}
