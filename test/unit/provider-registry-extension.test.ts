/**
 * Adding a provider is one catalog entry (plus its client factory, which TypeScript demands in
 * shared/providers/registry.ts): here a made-up `acme` entry is added to the catalog table and every list that
 * names providers (configuration schema, key variables, profiles, CDK context, Lambda environments, CLI choices
 * and help, prices) picks it up with no other change.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Table from '../../shared/core/provider-table.js';

vi.mock('../../shared/core/provider-table.js', async (importOriginal) => {
  const original = await importOriginal<typeof Table>();
  const acme: Table.ProviderInfo = {
    label: 'Acme',
    help: 'Acme speech API.',
    defaultModel: 'acme-voice-1',
    defaultBaseUrl: 'https://api.acme.example',
    apiKeyVar: 'ACME_API_KEY',
    keyRequired: true,
    usdPerAudioMinute: 0.002,
    priceNote: 'Acme list price',
    features: { wordTimestamps: true, diarization: true, contextBias: false, speechTranslation: false },
    chat: { defaultModel: 'acme-chat-1', path: '/v2/chat', dialect: 'openai', audioInChat: false },
    aws: true,
  };
  return { ...original, PROVIDER_CATALOG: { ...original.PROVIDER_CATALOG, acme } };
});

const { loadConfig } = await import('../../shared/config.js');
const { parseProfiles } = await import('../../shared/core/profile-schema.js');
const { resolveJobOptions, defaultModel } = await import('../../shared/profiles.js');
const { USD_PER_AUDIO_MINUTE } = await import('../../shared/core/backfill-plan.js');
const { stackPropsFromContext } = await import('../../infra/context.js');
const { EnricherEnv, SplitterEnv, parseEnv } = await import('../../functions/lib/env.js');
const { buildProgram } = await import('../../cli/main.js');
const { ENV_HELP } = await import('../../cli/env-help.js');

describe('a provider added to the catalog', () => {
  it('is a valid VOXPIPE_PROVIDER with its key variable, key rule and chat endpoint', () => {
    const config = loadConfig({ VOXPIPE_PROVIDER: 'acme', ACME_API_KEY: 'secret' });
    expect(config.provider).toBe('acme');
    expect(config.apiKey).toBe('secret');
    expect(config.chat).toMatchObject({ provider: 'acme', apiKey: 'secret' });
    expect(() => loadConfig({ VOXPIPE_PROVIDER: 'acme' })).toThrow(/ACME_API_KEY/);
    expect(loadConfig({ VOXPIPE_PROVIDER: 'offline', VOXPIPE_CHAT_PROVIDER: 'acme', ACME_API_KEY: 'c' }).chat).toMatchObject({ provider: 'acme', apiKey: 'c' });
  });

  it('can be named by a profile, and its default model is used', () => {
    const { profiles } = parseProfiles({ profiles: { calls: { provider: 'acme' } } }, 'profiles.yaml');
    expect(profiles.calls?.provider).toBe('acme');
    expect(defaultModel('acme')).toBe('acme-voice-1');
    expect(typeof resolveJobOptions).toBe('function');
  });

  it('can be deployed (-c provider, -c chatProvider) and configured in the Lambda environments', () => {
    const ctx: Record<string, string> = { provider: 'acme', chatProvider: 'acme' };
    expect(stackPropsFromContext((k) => ctx[k])).toMatchObject({ provider: 'acme', chatProvider: 'acme', model: 'acme-voice-1' });
    const base = { VOXPIPE_BUCKET: 'b', VOXPIPE_EVENT_BUS_NAME: 'bus' };
    expect(parseEnv(EnricherEnv, { ...base, VOXPIPE_CHAT_PROVIDER: 'acme' }).VOXPIPE_CHAT_PROVIDER).toBe('acme');
    const splitter = { ...base, VOXPIPE_WORK_QUEUE_URL: 'https://q/1', VOXPIPE_AGGREGATE_QUEUE_URL: 'https://q/2', VOXPIPE_PROVIDER: 'acme' };
    expect(parseEnv(SplitterEnv, splitter).VOXPIPE_PROVIDER).toBe('acme');
  });

  it('is a --provider choice of every command, and the help documents it', () => {
    const program = buildProgram();
    for (const name of ['transcribe', 'serve', 'backfill']) {
      const command = program.commands.find((c) => c.name() === name);
      const option = command?.options.find((o) => o.long === '--provider');
      expect(option?.argChoices, name).toContain('acme');
    }
    const transcribe = program.commands.find((c) => c.name() === 'transcribe');
    expect(transcribe?.options.find((o) => o.long === '--diarize')?.description).toContain('acme');
    expect(ENV_HELP).toContain('acme');
    expect(ENV_HELP).toContain('ACME_API_KEY');
    expect(ENV_HELP).toContain('https://api.acme.example');
  });

  it('has a price for backfill estimates', () => {
    expect(USD_PER_AUDIO_MINUTE.acme).toBe(0.002);
  });
});
