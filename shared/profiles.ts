/**
 * Drop-folder profiles: load the profiles file (JSON or YAML), read sidecars, and resolve the job options
 * of one dropped file (profile ← per-file overrides). Schemas and parsing rules live in `core/profile-schema.ts`.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from './core/errors.js';
import type { ResultExt } from './core/keys.js';
import { type FileOverrides, PROFILE_FORMATS, type Profile, type ProfilesConfig, parseProfiles, parseSidecar } from './core/profile-schema.js';
import type { JobOptions } from './core/types.js';
import { defaultModelOf, isProviderName } from './core/provider-catalog.js';

export type { FileOverrides, Profile, ProfilesConfig } from './core/profile-schema.js';

/**
 * Read and validate a profiles file: `.json` is JSON, anything else YAML (a superset of JSON).
 * Throws one `ConfigError` naming the file and every bad field.
 */
export async function loadProfiles(path: string): Promise<ProfilesConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`profiles file ${path}: cannot read it (${errorMessage(err)})`);
  }
  return profilesFromText(text, path);
}

/** Parse profiles from text (JSON or YAML): the Lambda reads them from its environment. */
export function profilesFromText(text: string, origin: string): ProfilesConfig {
  let raw: unknown;
  try {
    raw = origin.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`invalid profiles file ${origin}: not ${origin.endsWith('.json') ? 'JSON' : 'YAML'} (${errorMessage(err)})`);
  }
  return parseProfiles(raw, origin);
}

/** The sidecar `<file>.voxpipe.json` beside a dropped file, or `{}` when there is none. Throws `ConfigError` for a bad one. */
export async function loadSidecar(path: string): Promise<FileOverrides> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`invalid sidecar ${path}: not JSON (${errorMessage(err)})`);
  }
  return parseSidecar(raw, path);
}

/** What the runtime uses when neither the profile nor the file says (the CLI's config, the stack's settings). */
export interface JobDefaults {
  readonly provider: JobOptions['provider'];
  /** The runtime's model for `provider`. @default the provider's default model */
  readonly model?: string;
  readonly chunkSeconds: number;
  readonly timestamps: JobOptions['timestamps'];
  readonly language?: string;
}

/** Everything one dropped file's job needs. */
export interface ResolvedJob {
  /** Part of the job id: the same content with the same options is one job. */
  readonly options: JobOptions;
  readonly formats: readonly ResultExt[];
  readonly webhook?: Profile['webhook'];
  readonly retentionDays?: number;
  /** Run even when the same content ran before (per-file `force`). */
  readonly force: boolean;
}

const FALLBACK: JobDefaults = { provider: 'offline', chunkSeconds: 120, timestamps: 'auto' };

/** Job options of one dropped file: per-file overrides over the profile over the runtime's defaults. */
export function resolveJobOptions(profile: Profile, overrides: FileOverrides = {}, defaults: JobDefaults = FALLBACK): ResolvedJob {
  const p = { ...profile, ...stripUndefined(overrides) };
  const provider = p.provider ?? defaults.provider;
  const model = p.model ?? (provider === defaults.provider ? defaults.model : undefined) ?? defaultModel(provider);
  const options: JobOptions = {
    provider,
    model,
    language: p.language ?? defaults.language,
    chunkSeconds: p.chunkSeconds ?? defaults.chunkSeconds,
    words: p.words ?? false,
    diarize: p.diarize ?? false,
    timestamps: p.timestamps ?? defaults.timestamps,
    ...(p.vocabulary ? { vocabulary: p.vocabulary } : {}),
    ...(p.translate ? { translate: p.translate } : {}),
    ...(p.summary ? { summary: p.summary } : {}),
    ...(p.extract ? { extract: p.extract } : {}),
  };
  return {
    options,
    formats: p.formats ?? [...PROFILE_FORMATS],
    webhook: p.webhook,
    retentionDays: p.retentionDays,
    force: overrides.force ?? false,
  };
}

/** The model a provider uses when none is named (`offline`: the bundled PocketSphinx model). */
export function defaultModel(provider: JobOptions['provider']): string {
  return isProviderName(provider) ? defaultModelOf(provider) : provider;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
