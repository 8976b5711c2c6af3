import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/core/errors.js';

describe('loadConfig', () => {
  it('defaults to the offline provider with concurrency 8 when nothing is configured', () => {
    const config = loadConfig({ HOME: '/home/u' });
    expect(config.provider).toBe('offline');
    expect(config.concurrency).toBe(8);
    expect(config.chunkSeconds).toBe(120);
    expect(config.workDir).toMatch(/\.voxpipe$/);
  });

  it("accepts the vendor's usual key variable when VOXPIPE_API_KEY is unset", () => {
    const config = loadConfig({ VOXPIPE_PROVIDER: 'mistral', MISTRAL_API_KEY: 'mk' });
    expect(config.apiKey).toBe('mk');
    expect(loadConfig({ VOXPIPE_PROVIDER: 'mistral', MISTRAL_API_KEY: 'mk', VOXPIPE_API_KEY: 'vk' }).apiKey).toBe('vk');
  });

  it('lets flags override the environment', () => {
    const config = loadConfig({ VOXPIPE_CONCURRENCY: '3' }, { VOXPIPE_CONCURRENCY: '12', VOXPIPE_LANGUAGE: 'fr' });
    expect(config.concurrency).toBe(12);
    expect(config.language).toBe('fr');
  });

  it('fails when the provider is unknown, naming the variable and the allowed values', () => {
    expect(() => loadConfig({ VOXPIPE_PROVIDER: 'whisper' })).toThrowError(ConfigError);
    expect(() => loadConfig({ VOXPIPE_PROVIDER: 'whisper' })).toThrowError(/VOXPIPE_PROVIDER.*offline.*openai-compatible.*mistral/s);
  });

  it('reads VOXPIPE_TRANSLATE_SPEECH as a boolean, off by default, and refuses other values', () => {
    expect(loadConfig({}).translateSpeech).toBe(false);
    expect(loadConfig({ VOXPIPE_TRANSLATE_SPEECH: 'true' }).translateSpeech).toBe(true);
    expect(loadConfig({ VOXPIPE_TRANSLATE_SPEECH: '0' }, { VOXPIPE_TRANSLATE_SPEECH: 'true' }).translateSpeech).toBe(true);
    expect(() => loadConfig({ VOXPIPE_TRANSLATE_SPEECH: 'english' })).toThrowError(/VOXPIPE_TRANSLATE_SPEECH/);
  });

  it('fails when a paid provider has no key, naming both variables', () => {
    expect(() => loadConfig({ VOXPIPE_PROVIDER: 'openrouter' })).toThrowError(/VOXPIPE_API_KEY or OPENROUTER_API_KEY/);
  });

  it('fails when numbers or URLs are malformed, listing every bad variable at once', () => {
    let message = '';
    try {
      loadConfig({ VOXPIPE_CONCURRENCY: '0', VOXPIPE_BASE_URL: 'not a url', VOXPIPE_LANGUAGE: 'english' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/VOXPIPE_CONCURRENCY/);
    expect(message).toMatch(/VOXPIPE_BASE_URL/);
    expect(message).toMatch(/VOXPIPE_LANGUAGE/);
  });
});
