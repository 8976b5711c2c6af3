/** The enricher's chat model: endpoint from the environment, API key from Secrets Manager (never the environment). */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ChatModel } from '../../shared/ports.js';
import { type ChatProviderName, createChatModel } from '../../shared/providers/chat-models.js';
import { readApiKeySecret } from './api-key-secret.js';

export interface EnricherChatEnv {
  readonly VOXPIPE_CHAT_PROVIDER: ChatProviderName;
  readonly VOXPIPE_CHAT_MODEL?: string;
  readonly VOXPIPE_CHAT_BASE_URL?: string;
  readonly VOXPIPE_CHAT_CONTEXT_TOKENS?: number;
  readonly VOXPIPE_CHAT_API_KEY_SECRET_ARN?: string;
}

/**
 * A lazily built chat model: the secret is read on first use, once per container; a failed build (secret
 * missing or empty) is retried by the next record instead of poisoning the container.
 */
export function chatModelFromEnv(env: EnricherChatEnv, secrets: () => SecretsManagerClient = () => new SecretsManagerClient({})): () => Promise<ChatModel> {
  let built: Promise<ChatModel> | undefined;
  return () => {
    built ??= (async () => {
      const secretId = env.VOXPIPE_CHAT_API_KEY_SECRET_ARN;
      const apiKey = secretId ? await readApiKeySecret(secrets(), secretId, 'chat API key') : undefined;
      return createChatModel({
        provider: env.VOXPIPE_CHAT_PROVIDER,
        model: env.VOXPIPE_CHAT_MODEL,
        baseUrl: env.VOXPIPE_CHAT_BASE_URL,
        contextTokens: env.VOXPIPE_CHAT_CONTEXT_TOKENS,
        apiKey,
      });
    })().catch((err: unknown) => {
      built = undefined;
      throw err;
    });
    return built;
  };
}
