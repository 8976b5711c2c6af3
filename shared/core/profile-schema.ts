/**
 * The drop-folder profiles file and per-file overrides: schemas and parsing. Pure: the caller reads the
 * file (JSON or YAML) and the object metadata; everything here works on parsed values.
 *
 * ```yaml
 * version: 1
 * defaults: { provider: mistral, formats: [json, txt, srt] }
 * profiles:
 *   meetings: { language: en, chunkSeconds: 120, summary: true, retentionDays: 30 }
 *   french-radio: { language: fr, translate: [en], webhook: { url: https://…, secretRef: env:RADIO_WHSEC } }
 * ```
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { RESULT_FORMATS } from './formats.js';
import { PROVIDERS } from './provider-catalog.js';

/** Providers a profile may name: every provider of the registry (`provider-catalog.ts`). */
export const PROFILE_PROVIDERS = PROVIDERS;
/** Result formats a profile may ask for: every format of the output format registry. */
export const PROFILE_FORMATS = RESULT_FORMATS;
/** Folder names the drop folder uses itself: never a profile. */
export const RESERVED_PROFILE_NAMES = ['processed', 'failed', 'results', 'inbox', 'jobs'] as const;

const language = z.string().regex(/^[a-z]{2}$/, 'an ISO 639-1 code such as en, fr, de');
const chunkSeconds = z.number().min(10).max(3600);
const summary = z.union([z.boolean(), z.object({ prompt: z.string().min(1).optional() }).strict()]);

/**
 * A webhook of a profile. `secretRef` says where the `whsec_…` secret lives, never the secret itself:
 * `env:NAME` (an environment variable, CLI), or a Secrets Manager ARN / name (`arn:aws:secretsmanager:…`, AWS).
 */
export const WebhookRefSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    secretRef: z.string().regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|arn:aws[a-z-]*:secretsmanager:.+|[A-Za-z0-9/_+=.@-]+)$/, 'env:NAME, a Secrets Manager ARN or a secret name'),
  })
  .strict();

/** The settings of one profile. Every field is optional: unset fields come from `defaults`, then from the runtime. */
export const ProfileSchema = z
  .object({
    /** Speech-to-text provider. On AWS it must be the stack's provider. */
    provider: z.enum(PROFILE_PROVIDERS).optional(),
    /** Model id at the provider. @default the provider's default model */
    model: z.string().min(1).optional(),
    /** ISO 639-1 language of the audio. @default detected */
    language: language.optional(),
    /** Target chunk length in seconds. @default 120 */
    chunkSeconds: chunkSeconds.optional(),
    /** Word timestamps where the provider has them. @default false */
    words: z.boolean().optional(),
    /** Speaker labels (Mistral). @default false */
    diarize: z.boolean().optional(),
    timestamps: z.enum(['auto', 'provider', 'cut-plan']).optional(),
    /** Words and phrases to bias recognition towards (Mistral `context_bias`), at most 100. */
    vocabulary: z.array(z.string().trim().min(1)).min(1).max(100).optional(),
    /** Languages to translate the transcript into. */
    translate: z.array(language).min(1).optional(),
    /** Write a summary; an object carries a custom prompt. */
    summary: summary.optional(),
    /** A JSON Schema (an object): extract data matching it. */
    extract: z.record(z.string(), z.unknown()).optional(),
    webhook: WebhookRefSchema.optional(),
    /** Result files written. @default all four */
    formats: z.array(z.enum(PROFILE_FORMATS)).min(1).optional(),
    /** Days results and processed sources of this profile are kept (AWS: lifecycle rules; locally recorded only). */
    retentionDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

export type Profile = z.output<typeof ProfileSchema>;

const PROFILE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Why a profile name cannot be a folder of the drop folder, or undefined when it can. */
function badProfileName(name: string): string | undefined {
  if ((RESERVED_PROFILE_NAMES as readonly string[]).includes(name)) return `reserved: ${RESERVED_PROFILE_NAMES.join(', ')} are folders of the drop folder itself`;
  if (!PROFILE_NAME.test(name)) return 'lower-case letters, digits, ".", "_" and "-" (it is a folder name)';
  return undefined;
}

/** The whole profiles file. */
export const ProfilesFileSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Settings every profile starts from. */
    defaults: ProfileSchema.default({}),
    profiles: z.record(z.string(), ProfileSchema).superRefine((profiles, ctx) => {
      if (Object.keys(profiles).length === 0) ctx.addIssue({ code: 'custom', message: 'at least one profile' });
      for (const name of Object.keys(profiles)) {
        const why = badProfileName(name);
        if (why) ctx.addIssue({ code: 'custom', path: [name], message: why });
      }
    }),
  })
  .strict();

/** Profiles by name, each already merged over `defaults`. */
export interface ProfilesConfig {
  readonly profiles: Readonly<Record<string, Profile>>;
}

/**
 * Validate a parsed profiles file. Throws one `ConfigError` that names the file and every bad field,
 * e.g. `profiles.meetings.chunkSeconds: Too small: expected number to be >=10`.
 */
export function parseProfiles(raw: unknown, origin: string): ProfilesConfig {
  const parsed = ProfilesFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid profiles file ${origin}:\n${issueLines(parsed.error)}`);
  const { defaults, profiles } = parsed.data;
  return { profiles: Object.fromEntries(Object.entries(profiles).map(([name, p]) => [name, { ...defaults, ...p }])) };
}

/** Per-file overrides (sidecar `file.ext.voxpipe.json`, or `x-amz-meta-voxpipe-*` metadata). */
export const OverridesSchema = ProfileSchema.pick({
  provider: true,
  model: true,
  language: true,
  chunkSeconds: true,
  words: true,
  diarize: true,
  timestamps: true,
  vocabulary: true,
  translate: true,
  summary: true,
  formats: true,
})
  .extend({
    /** Start a new job even when the same content was dropped before. */
    force: z.boolean().optional(),
  })
  .strict();

export type FileOverrides = z.output<typeof OverridesSchema>;

/** Validate a sidecar's parsed JSON. Throws `ConfigError` naming the sidecar and the field. */
export function parseSidecar(raw: unknown, origin: string): FileOverrides {
  const parsed = OverridesSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid sidecar ${origin}:\n${issueLines(parsed.error)}`);
  return parsed.data;
}

/** Metadata key prefix (S3 returns user metadata lower-cased, without `x-amz-meta-`). */
export const METADATA_PREFIX = 'voxpipe-';

/** `voxpipe-chunk-seconds` → `chunkSeconds`, with how its string value is read. */
const METADATA_FIELDS: Readonly<Record<string, readonly [keyof FileOverrides, (v: string) => unknown]>> = {
  provider: ['provider', (v) => v],
  model: ['model', (v) => v],
  language: ['language', (v) => v],
  'chunk-seconds': ['chunkSeconds', (v) => (v.trim() === '' ? v : Number(v))],
  words: ['words', bool],
  diarize: ['diarize', bool],
  timestamps: ['timestamps', (v) => v],
  vocabulary: ['vocabulary', list],
  translate: ['translate', list],
  summary: ['summary', bool],
  formats: ['formats', list],
  force: ['force', bool],
};

/** Metadata keys voxpipe reads, for documentation and error messages. */
export const METADATA_KEYS = Object.keys(METADATA_FIELDS).map((k) => `x-amz-meta-${METADATA_PREFIX}${k}`);

/** Metadata keys that carry content identity, not overrides. */
const IDENTITY_KEYS = new Set([`${METADATA_PREFIX}sha256`]);

/**
 * Overrides from S3 user metadata (`{ 'voxpipe-language': 'fr', 'voxpipe-translate': 'en,de' }`).
 * Keys without the `voxpipe-` prefix are ignored; an unknown `voxpipe-*` key or a bad value throws
 * `ConfigError` naming the `x-amz-meta-…` header, so a typo fails the file instead of being ignored.
 */
export function overridesFromMetadata(metadata: Readonly<Record<string, string>>): FileOverrides {
  const raw: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const k = key.toLowerCase();
    if (!k.startsWith(METADATA_PREFIX) || IDENTITY_KEYS.has(k)) continue;
    const field = METADATA_FIELDS[k.slice(METADATA_PREFIX.length)];
    if (!field) unknown.push(`x-amz-meta-${k}`);
    else raw[field[0]] = field[1](value);
  }
  if (unknown.length) throw new ConfigError(`unknown metadata ${unknown.join(', ')}; voxpipe reads ${METADATA_KEYS.join(', ')}`);
  const parsed = OverridesSchema.safeParse(raw);
  if (!parsed.success) {
    const header = (field: PropertyKey) => {
      const entry = Object.entries(METADATA_FIELDS).find(([, [f]]) => f === field);
      return entry ? `x-amz-meta-${METADATA_PREFIX}${entry[0]}` : String(field);
    };
    throw new ConfigError(`invalid metadata:\n${parsed.error.issues.map((i) => `  ${header(i.path[0] ?? '')}: ${i.message}`).join('\n')}`);
  }
  return parsed.data;
}

function bool(v: string): unknown {
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  return v;
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function issueLines(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('\n');
}
