import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../shared/config.js';
import { ConfigError } from '../../shared/core/errors.js';
import { dropKeys, LOCAL_DROP_ROOTS, parseDropKey } from '../../shared/core/profile-paths.js';
import { overridesFromMetadata, PROFILE_PROVIDERS, parseProfiles, parseSidecar } from '../../shared/core/profile-schema.js';
import { loadProfiles, loadSidecar, profilesFromText, resolveJobOptions } from '../../shared/profiles.js';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('profiles file', () => {
  it('merges each profile over the defaults', () => {
    const { profiles } = parseProfiles(
      { version: 1, defaults: { provider: 'mistral', formats: ['json', 'txt'] }, profiles: { meetings: { language: 'en' }, radio: { formats: ['srt'] } } },
      'p.yaml',
    );
    expect(profiles.meetings).toEqual({ provider: 'mistral', formats: ['json', 'txt'], language: 'en' });
    expect(profiles.radio).toEqual({ provider: 'mistral', formats: ['srt'] });
  });

  it('accepts every field of the documented format', () => {
    const { profiles } = parseProfiles(
      {
        profiles: {
          full: {
            provider: 'openrouter',
            model: 'mistralai/voxtral-mini-transcribe',
            language: 'fr',
            chunkSeconds: 30,
            words: true,
            diarize: false,
            timestamps: 'cut-plan',
            translate: ['en', 'de'],
            summary: { prompt: 'Action items only' },
            extract: { type: 'object', properties: { people: { type: 'array' } } },
            webhook: { url: 'https://hooks.example.com/voxpipe', secretRef: 'env:HOOK_SECRET' },
            formats: ['json', 'vtt'],
            retentionDays: 30,
          },
        },
      },
      'p.json',
    );
    expect(profiles.full?.webhook?.secretRef).toBe('env:HOOK_SECRET');
  });

  it('fails naming the file and the field for a bad value', () => {
    const message = errorOf(() => parseProfiles({ profiles: { meetings: { chunkSeconds: 5 } } }, 'profiles.yaml'));
    expect(message).toMatch(/profiles\.yaml/);
    expect(message).toMatch(/profiles\.meetings\.chunkSeconds/);
  });

  it('fails naming an unknown field (a typo is not ignored)', () => {
    expect(errorOf(() => parseProfiles({ profiles: { meetings: { langauge: 'en' } } }, 'p.yaml'))).toMatch(/profiles\.meetings.*langauge/);
  });

  it('fails for an unknown provider, a bad language, a bad format and a reserved profile name', () => {
    expect(errorOf(() => parseProfiles({ profiles: { a: { provider: 'acme' } } }, 'p'))).toMatch(/profiles\.a\.provider/);
    expect(errorOf(() => parseProfiles({ profiles: { a: { language: 'english' } } }, 'p'))).toMatch(/profiles\.a\.language: an ISO 639-1 code/);
    expect(errorOf(() => parseProfiles({ profiles: { a: { formats: ['docx'] } } }, 'p'))).toMatch(/profiles\.a\.formats\.0/);
    expect(errorOf(() => parseProfiles({ profiles: { processed: {} } }, 'p'))).toMatch(/profiles\.processed: reserved/);
    expect(errorOf(() => parseProfiles({ profiles: { 'My Meetings': {} } }, 'p'))).toMatch(/profiles\.My Meetings: lower-case/);
    expect(errorOf(() => parseProfiles({ profiles: {} }, 'p'))).toMatch(/profiles: at least one profile/);
  });

  it('fails for a webhook secret given inline instead of by reference', () => {
    const message = errorOf(() => parseProfiles({ profiles: { a: { webhook: { url: 'https://h.example', secretRef: 'whsec_abc def' } } } }, 'p'));
    expect(message).toMatch(/profiles\.a\.webhook\.secretRef/);
  });

  it('lists the same providers as the configuration', () => {
    expect([...PROFILE_PROVIDERS].sort()).toEqual([...PROVIDERS].sort());
  });

  it('loads YAML and JSON files and names a file that is not valid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'profiles-'));
    await writeFile(join(dir, 'p.yaml'), 'profiles:\n  meetings:\n    language: en\n');
    await writeFile(join(dir, 'p.json'), JSON.stringify({ profiles: { meetings: { language: 'de' } } }));
    await writeFile(join(dir, 'bad.json'), '{ "profiles": ');
    expect((await loadProfiles(join(dir, 'p.yaml'))).profiles.meetings?.language).toBe('en');
    expect((await loadProfiles(join(dir, 'p.json'))).profiles.meetings?.language).toBe('de');
    await expect(loadProfiles(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: not JSON/);
    await expect(loadProfiles(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read/);
    expect(() => profilesFromText('profiles: [', 'env.yaml')).toThrow(ConfigError);
  });
});

describe('per-file overrides', () => {
  it('reads x-amz-meta-voxpipe-* metadata with typed values', () => {
    expect(
      overridesFromMetadata({
        'voxpipe-language': 'fr',
        'voxpipe-chunk-seconds': '45',
        'voxpipe-translate': 'en, de',
        'voxpipe-summary': 'yes',
        'voxpipe-force': 'true',
        'voxpipe-formats': 'json,srt',
        'voxpipe-sha256': 'ab12',
        'other-tool': 'ignored',
      }),
    ).toEqual({ language: 'fr', chunkSeconds: 45, translate: ['en', 'de'], summary: true, force: true, formats: ['json', 'srt'] });
  });

  it('fails naming the header for an unknown voxpipe key or a bad value', () => {
    expect(errorOf(() => overridesFromMetadata({ 'voxpipe-languag': 'fr' }))).toMatch(/unknown metadata x-amz-meta-voxpipe-languag/);
    expect(errorOf(() => overridesFromMetadata({ 'voxpipe-chunk-seconds': 'lots' }))).toMatch(/x-amz-meta-voxpipe-chunk-seconds:/);
    expect(errorOf(() => overridesFromMetadata({ 'voxpipe-force': 'maybe' }))).toMatch(/x-amz-meta-voxpipe-force:/);
  });

  it('reads a sidecar, treats a missing one as empty and names a bad one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sidecar-'));
    await writeFile(join(dir, 'a.mp3.voxpipe.json'), JSON.stringify({ language: 'fr', force: true }));
    await writeFile(join(dir, 'b.mp3.voxpipe.json'), JSON.stringify({ retentionDays: 3 }));
    expect(await loadSidecar(join(dir, 'a.mp3.voxpipe.json'))).toEqual({ language: 'fr', force: true });
    expect(await loadSidecar(join(dir, 'none.mp3.voxpipe.json'))).toEqual({});
    await expect(loadSidecar(join(dir, 'b.mp3.voxpipe.json'))).rejects.toThrow(/b\.mp3\.voxpipe\.json.*retentionDays/s);
    expect(() => parseSidecar({ chunkSeconds: 1 }, 's')).toThrow(/chunkSeconds/);
  });
});

describe('resolveJobOptions', () => {
  const defaults = { provider: 'mistral', model: 'voxtral-mini-latest', chunkSeconds: 120, timestamps: 'auto' } as const;

  it('takes the file over the profile over the runtime defaults', () => {
    const r = resolveJobOptions({ language: 'en', chunkSeconds: 60, translate: ['de'], formats: ['json'], retentionDays: 9 }, { language: 'fr', force: true }, defaults);
    expect(r.options).toEqual({
      provider: 'mistral',
      model: 'voxtral-mini-latest',
      language: 'fr',
      chunkSeconds: 60,
      words: false,
      diarize: false,
      timestamps: 'auto',
      translate: ['de'],
    });
    expect(r).toMatchObject({ formats: ['json'], retentionDays: 9, force: true });
  });

  it('uses the provider’s default model when a profile changes the provider without naming a model', () => {
    expect(resolveJobOptions({ provider: 'deepinfra' }, {}, defaults).options.model).toBe('mistralai/Voxtral-Small-24B-2507');
    expect(resolveJobOptions({ provider: 'offline' }, {}, defaults).options.model).toBe('pocketsphinx-en-us');
    expect(resolveJobOptions({}, {}, defaults).formats).toEqual(['json', 'txt', 'srt', 'vtt']);
  });
});

describe('drop layout', () => {
  it('keeps spaces, +, unicode and deep paths as they are', () => {
    const ref = parseDropKey('inbox/meetings/2026/Q1 board+call/Réunion ✓.mp3');
    expect(ref).toEqual({ profile: 'meetings', path: '2026/Q1 board+call/Réunion ✓.mp3' });
    const keys = dropKeys(ref!);
    expect(keys.moved('processed')).toBe('processed/meetings/2026/Q1 board+call/Réunion ✓.mp3');
    expect(keys.reason('failed')).toBe('failed/meetings/2026/Q1 board+call/Réunion ✓.mp3.reason.json');
    expect(keys.result('srt')).toBe('results/meetings/2026/Q1 board+call/Réunion ✓.srt');
    expect(keys.result('fr.srt')).toBe('results/meetings/2026/Q1 board+call/Réunion ✓.fr.srt');
    expect(dropKeys({ profile: 'p', path: 'a.b.c' }, LOCAL_DROP_ROOTS).result('json')).toBe('p/a.b.json');
  });

  it('is not a drop: top-level files, folder markers, sidecars, processed/ and failed/', () => {
    for (const key of ['inbox/talk.mp3', 'inbox/meetings/', 'inbox/meetings/a.mp3.voxpipe.json', 'other/meetings/a.mp3', 'inbox/meetings/../x.mp3']) {
      expect(parseDropKey(key), key).toBeUndefined();
    }
    expect(parseDropKey('processed/meetings/a.mp3', LOCAL_DROP_ROOTS)).toBeUndefined();
    expect(parseDropKey('failed/meetings/a.mp3', LOCAL_DROP_ROOTS)).toBeUndefined();
    expect(parseDropKey('meetings/a.mp3', LOCAL_DROP_ROOTS)).toEqual({ profile: 'meetings', path: 'a.mp3' });
  });
});
