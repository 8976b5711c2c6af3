/** `--vocabulary` / VOXPIPE_VOCABULARY / profile `vocabulary`: parsed once, carried in the job options and each chunk task. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/core/errors.js';
import { overridesFromMetadata, parseProfiles } from '../../shared/core/profile-schema.js';
import { resolveJobOptions } from '../../shared/profiles.js';
import { chunkTask } from '../../shared/stages/split.js';

describe('vocabulary', () => {
  it('VOXPIPE_VOCABULARY is a comma-separated list, trimmed and de-duplicated', () => {
    expect(loadConfig({ VOXPIPE_VOCABULARY: ' Voxtral, chunk plan,,Voxtral ' }).vocabulary).toEqual(['Voxtral', 'chunk plan']);
    expect(loadConfig({}).vocabulary).toBeUndefined();
  });

  it('a profile carries it into the job options; metadata can set it per file', () => {
    const { profiles } = parseProfiles({ profiles: { calls: { vocabulary: ['Northwind', 'SKU'] } } }, 'p.yaml');
    expect(resolveJobOptions(profiles.calls ?? {}).options.vocabulary).toEqual(['Northwind', 'SKU']);
    const meta = overridesFromMetadata({ 'voxpipe-vocabulary': 'Acme, Widget' });
    expect(resolveJobOptions({}, meta).options.vocabulary).toEqual(['Acme', 'Widget']);
    expect(() => parseProfiles({ profiles: { x: { vocabulary: [] } } }, 'p.yaml')).toThrow(ConfigError);
  });

  it('every chunk task carries the vocabulary and the chunk speech stretches', () => {
    const chunk = { index: 2, start: 10, end: 20, keepFrom: 10, keepUntil: 20, startCut: 'pause', endCut: 'pause', silent: false, speech: [{ start: 11, end: 19 }] } as const;
    const task = chunkTask('job1', { provider: 'mistral', model: 'm', chunkSeconds: 60, words: false, diarize: false, timestamps: 'auto', vocabulary: ['Voxtral'] }, chunk);
    expect(task).toMatchObject({ vocabulary: ['Voxtral'], speech: [{ start: 11, end: 19 }] });
  });
});
