/**
 * The provider registry is the only list of providers: every provider builds a client with its catalog defaults,
 * and no source file outside the registry spells out a list of provider names (a second list would drift).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { EnvSchema } from '../../shared/config.js';
import { AWS_PROVIDERS, CHAT_PROVIDERS, PROVIDERS, providerInfo, USD_PER_AUDIO_MINUTE } from '../../shared/core/provider-catalog.js';
import { createChatModel } from '../../shared/providers/chat-models.js';
import { createTranscriber } from '../../shared/providers/index.js';
import { PROVIDER_REGISTRY, TRANSCRIBER_FACTORIES } from '../../shared/providers/registry.js';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx|mjs|js)$/.test(name) ? [path] : [];
  });
}

describe('provider registry', () => {
  it('has a client factory, a default model and a price for every provider', () => {
    expect(Object.keys(TRANSCRIBER_FACTORIES).sort()).toEqual([...PROVIDERS].sort());
    expect(Object.keys(USD_PER_AUDIO_MINUTE).sort()).toEqual([...PROVIDERS].sort());
    for (const name of PROVIDERS) {
      const t = createTranscriber({ provider: name, apiKey: 'k' });
      expect(t.provider).toBe(name);
      expect(t.model).toBe(providerInfo(name).defaultModel);
      expect(PROVIDER_REGISTRY[name].createTranscriber).toBe(TRANSCRIBER_FACTORIES[name]);
    }
  });

  it('builds a chat model for every provider with a chat endpoint, and only those', () => {
    expect(CHAT_PROVIDERS).toEqual(PROVIDERS.filter((p) => providerInfo(p).chat));
    for (const name of CHAT_PROVIDERS) {
      const m = createChatModel({ provider: name, apiKey: 'k' });
      expect(m.provider).toBe(name);
      expect(m.model).toBe(providerInfo(name).chat?.defaultModel);
    }
  });

  it('is what the configuration schema accepts', () => {
    for (const name of PROVIDERS) expect(EnvSchema.shape.VOXPIPE_PROVIDER.safeParse(name).success).toBe(true);
    expect(EnvSchema.shape.VOXPIPE_PROVIDER.safeParse('acme').success).toBe(false);
    for (const name of CHAT_PROVIDERS) expect(EnvSchema.shape.VOXPIPE_CHAT_PROVIDER.safeParse(name).success).toBe(true);
    expect(AWS_PROVIDERS).not.toContain('offline');
  });

  it("gives a stack its provider's default model unless -c model names one", () => {
    const props = (ctx: Record<string, string>) => stackPropsFromContext((k) => ctx[k]);
    expect(props({})).toMatchObject({ provider: 'mistral', model: 'voxtral-mini-latest' });
    for (const provider of AWS_PROVIDERS) {
      const ctx = { provider, ...(provider === 'openai-compatible' ? { baseUrl: 'https://vllm.example.com/v1' } : {}) };
      expect(props(ctx).model).toBe(providerInfo(provider).defaultModel);
      expect(props({ ...ctx, model: 'my-model' }).model).toBe('my-model');
    }
  });

  it('is the only list of provider names in the sources', () => {
    const names = PROVIDERS.map((p) => p.replace(/[-]/g, '\\-')).join('|');
    // Two provider names side by side, separated by `,` or `|` (quoted or not): an array, an enum, a help line.
    const list = new RegExp(`['"\`]?\\b(${names})\\b['"\`]?\\s*[,|]\\s*['"\`]?\\b(${names})\\b`);
    const allowed = new Set(['shared/core/provider-table.ts', 'shared/providers/registry.ts']);
    const offenders: string[] = [];
    for (const dir of ['shared', 'cli', 'functions', 'infra', 'web/src', 'bin']) {
      for (const file of sources(join(root, dir))) {
        const rel = relative(root, file).split('\\').join('/');
        if (allowed.has(rel)) continue;
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
          if (list.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
