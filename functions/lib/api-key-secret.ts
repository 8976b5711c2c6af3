/** Provider API keys live in Secrets Manager, never in the environment or the template. */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigError } from '../../shared/core/errors.js';

/** An API key secret: a plain string, or JSON with an `apiKey` field (used by the transcriber and the enricher). */
export async function readApiKeySecret(client: SecretsManagerClient, secretId: string, what = 'API key'): Promise<string> {
  let raw: string;
  try {
    raw = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString?.trim() ?? '';
  } catch (cause) {
    throw new ConfigError(`${what}: secret ${secretId} could not be read (${(cause as Error).message}); check it exists and this function may read it`, { cause });
  }
  if (raw.startsWith('{')) {
    const parsed = z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'not JSON' });
          return z.NEVER;
        }
      })
      .pipe(z.object({ apiKey: z.string().min(1) }))
      .safeParse(raw);
    if (parsed.success) return parsed.data.apiKey;
  }
  if (!raw) throw new ConfigError(`${what}: secret ${secretId} is empty; put the key in it (aws secretsmanager put-secret-value)`);
  return raw;
}
