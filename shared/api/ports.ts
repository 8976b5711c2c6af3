/**
 * The ports of the job API, beside the pipeline's own (`../ports.ts`): how a job is started, how API keys
 * are looked up, how links to stored objects are handed out. Lambda and `voxpipe serve` pass their adapters.
 */
import type { ApiJobRecord } from './records.js';

/**
 * Starts the pipeline for a job whose source object is in the store (`record.sourceKey`).
 * Idempotent per job id: starting a job twice runs it once (the pipeline's claims decide).
 * Uploaded sources (`{ upload: true }`) are started by the runtime's upload path instead (S3 notification
 * of `uploads/` on AWS, the local PUT handler in `voxpipe serve`); `start` is also how a retry restarts a job.
 */
export interface JobSubmitter {
  start(record: ApiJobRecord): Promise<void>;
}

/** What an API key is allowed to see. */
export interface ApiPrincipal {
  /** Tenant id: jobs of other tenants are invisible to this key. */
  readonly tenant: string;
}

/**
 * API keys, stored hashed: the store never holds a key, only `sha256(key)` and its tenant.
 * Keys are 256-bit random strings, so a plain (fast) hash is enough: there is nothing to brute-force.
 */
export interface ApiKeyStore {
  /** The principal of a key hash, or undefined when no such key exists (or it was revoked). */
  lookup(keyHash: string): Promise<ApiPrincipal | undefined>;
}

/** Time-limited links to stored objects (S3 presigned URLs on AWS, HMAC-signed local URLs in `voxpipe serve`). */
export interface UrlSigner {
  /** A URL that downloads `key` with a plain GET until `expiresInSeconds` from now. */
  getUrl(key: string, expiresInSeconds: number): Promise<string>;
  /** A URL that accepts one PUT of the object body to `key` until `expiresInSeconds` from now. */
  putUrl(key: string, expiresInSeconds: number): Promise<string>;
}
