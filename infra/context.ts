import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { errorMessage } from '../shared/core/errors.js';
import type { ProfilesConfig } from '../shared/core/profile-schema.js';
import { AWS_PROVIDERS, CHAT_PROVIDERS, defaultModelOf } from '../shared/core/provider-catalog.js';
import { profilesFromText } from '../shared/profiles.js';
import type { VoxpipeStackProps } from './stacks/voxpipe-stack.js';

/**
 * A provider or chat API root: https, or http on a loopback host (a local server in tests; Lambda has no
 * loopback server, so a deployed stack always gets https).
 */
const endpointUrl = z.url().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || (u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname));
    } catch {
      return false; // reported by z.url() already
    }
  },
  { message: 'https URL expected (http only for localhost / 127.0.0.1 / [::1])' },
);

/**
 * Context values (`cdk deploy -c provider=mistral -c concurrency=32 …`), parsed once; bad values fail synth with
 * their name. Every key here is listed in infra/README.md ("Context values") with its default.
 */
export const Context = z.object({
  provider: z.enum(AWS_PROVIDERS).default('mistral'),
  /** Model id at the provider. @default the provider's default model in the registry (mistral: voxtral-mini-latest) */
  model: z.string().min(1).optional(),
  /**
   * The transcription provider's API root (`VOXPIPE_BASE_URL`): a vLLM server for `openai-compatible` (required
   * there), a Mistral regional endpoint. @default the vendor's public endpoint
   */
  baseUrl: endpointUrl.optional(),
  concurrency: z.coerce.number().int().min(1).max(1000).default(8),
  chunkSeconds: z.coerce.number().int().min(10).max(3600).default(120),
  retentionDays: z.coerce.number().int().min(1).max(3650).default(7),
  /** Days before `results/` (transcripts, enrichments, drop-folder copies) expire. @default kept */
  resultsExpireDays: z.coerce.number().int().min(1).max(36500).optional(),
  /** Days before job API uploads (`uploads/`) expire; a retry after that fails with "no object". @default kept */
  uploadsExpireDays: z.coerce.number().int().min(1).max(36500).optional(),
  apiKeySecretArn: z.string().startsWith('arn:').optional(),
  apiKeySecretName: z.string().min(1).optional(),
  alarmEmail: z.email().optional(),
  /** Deploy the web dashboard behind CloudFront (`-c dashboard=true`; sign in with an API key). */
  dashboard: z.stringbool().optional(),
  jobDeadlineHours: z.coerce.number().min(1).max(72).default(6),
  /** Stack-wide webhook receiver; https only. */
  webhookUrl: z.url({ protocol: /^https$/ }).optional(),
  /** Secrets Manager secret with the whsec_ webhook signing key; turns webhooks on. */
  webhookSecretName: z.string().min(1).optional(),
  /** Deploy the enricher (translations, summaries, extraction, questions); implied by any of the options below. */
  enrich: z.stringbool().optional(),
  /** Default enrichments of inbox/ uploads: `-c translate=fr,de -c summary=true`. */
  translate: z
    .string()
    .transform((v) => v.split(',').map((l) => l.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z]{2}$/, 'comma-separated ISO 639-1 codes such as fr,de')).min(1))
    .optional(),
  summary: z.stringbool().optional(),
  /** Default vocabulary of every job (Mistral `context_bias`): `-c vocabulary=Voxtral,Kubernetes`. A job's own replaces it. */
  vocabulary: z
    .string()
    .transform((v) => [...new Set(v.split(',').map((t) => t.trim()).filter(Boolean))])
    .pipe(z.array(z.string().max(200)).min(1).max(100, 'at most 100 terms (Mistral takes 100)'))
    .optional(),
  /** Chat endpoint of the enricher. @default the transcription provider's */
  chatProvider: z.enum(CHAT_PROVIDERS).optional(),
  chatModel: z.string().min(1).optional(),
  chatBaseUrl: endpointUrl.optional(),
  chatContextTokens: z.coerce.number().int().min(1000).max(10_000_000).optional(),
  /** Secret with the chat API key when the chat provider is not the transcription provider. */
  chatApiKeySecretName: z.string().min(1).optional(),
  /** Drop-folder profiles (YAML or JSON), validated at synth and deployed in the splitter's configuration. */
  profilesFile: z.string().min(1).optional(),
  /** An existing Lambda layer with bin/ffmpeg + bin/ffprobe to use instead of the bundled 2018 build. */
  ffmpegLayerArn: z.string().regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[\w-]+:\d+$/, 'a layer version ARN, arn:aws:lambda:<region>:<account>:layer:<name>:<version>').optional(),
  /** A zip (bin/ffmpeg, bin/ffprobe) to publish as the ffmpeg layer instead of the bundled 2018 build. */
  ffmpegLayerZip: z.string().min(1).optional(),
  /** The splitter's pause finder (`VOXPIPE_PAUSES`): `energy` deploys no Silero VAD layer. */
  pauses: z.enum(['auto', 'silero', 'energy']).default('auto'),
}).superRefine((c, ctx) => {
  if (c.provider === 'openai-compatible' && !c.baseUrl) {
    ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'required with -c provider=openai-compatible: the https root of your server, e.g. https://vllm.example.com/v1' });
  }
  if (c.ffmpegLayerArn && c.ffmpegLayerZip) {
    ctx.addIssue({ code: 'custom', path: ['ffmpegLayerZip'], message: 'give -c ffmpegLayerArn or -c ffmpegLayerZip, not both' });
  }
});

/** Stack props from CDK context; `get` is `app.node.tryGetContext`. */
export function stackPropsFromContext(get: (key: string) => unknown): Omit<VoxpipeStackProps, 'jobDeadline'> & { jobDeadlineHours: number } {
  const raw = Object.fromEntries(Object.keys(Context.shape).map((k) => [k, get(k)]).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Context.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `-c ${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid CDK context: ${problems}`);
  }
  const { profilesFile, ...rest } = parsed.data;
  const props = { ...rest, model: rest.model ?? defaultModelOf(rest.provider) };
  return profilesFile ? { ...props, profiles: readProfilesFile(profilesFile) } : props;
}

/** The profiles file named by `-c profilesFile=…`; a bad file fails synth naming the file and the field. */
function readProfilesFile(path: string): ProfilesConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`invalid CDK context: -c profilesFile: cannot read ${path} (${errorMessage(err)})`);
  }
  try {
    return profilesFromText(text, path);
  } catch (err) {
    throw new Error(`invalid CDK context: -c profilesFile: ${errorMessage(err)}`);
  }
}
