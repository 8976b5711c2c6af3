import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError } from '../core/errors.js';
import type { BlobStore } from '../ports.js';
import type { ApiKeyStore, ApiPrincipal } from './ports.js';
import { apiKeys } from './records.js';

/** Tenant ids are path segments of the store (`tenants/<tenant>/…`): lowercase letters, digits, `-`, `_`. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** What is stored for one key at `api-keys/<sha256(key)>.json`. */
export interface StoredApiKey {
  readonly tenant: string;
  readonly name?: string;
  readonly createdAt: string;
}

/** The hash a key is stored and looked up under: sha256, hex. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (`vxp_` + 256 bits, base64url) and the record to store under its hash. */
export function newApiKey(tenant: string, name?: string, now = new Date()): { key: string; objectKey: string; record: StoredApiKey } {
  if (!TENANT_PATTERN.test(tenant)) throw new Error(`tenant "${tenant}": use 1–63 of a-z, 0-9, "-" and "_", starting with a letter or digit`);
  const key = `vxp_${randomBytes(32).toString('base64url')}`;
  return { key, objectKey: apiKeys.apiKey(hashApiKey(key)), record: { tenant, ...(name ? { name } : {}), createdAt: now.toISOString() } };
}

/** Create a key in a store and return it (the only time the key itself is seen). */
export async function createApiKey(store: BlobStore, tenant: string, name?: string): Promise<string> {
  const { key, objectKey, record } = newApiKey(tenant, name);
  await store.put(objectKey, `${JSON.stringify(record, null, 2)}\n`, { ifNoneMatch: '*', contentType: 'application/json' });
  return key;
}

/**
 * API keys kept in the job store itself (`api-keys/` in the bucket on AWS, `<work-dir>/store/api-keys/` locally):
 * one code path for both runtimes, no extra service. Revoking a key is deleting its object.
 */
export function createStoreApiKeys(store: BlobStore): ApiKeyStore {
  return {
    async lookup(keyHash) {
      if (!/^[0-9a-f]{64}$/.test(keyHash)) return undefined;
      try {
        const record = JSON.parse(new TextDecoder().decode(await store.get(apiKeys.apiKey(keyHash)))) as StoredApiKey;
        return TENANT_PATTERN.test(record.tenant) ? ({ tenant: record.tenant } satisfies ApiPrincipal) : undefined;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
  };
}
