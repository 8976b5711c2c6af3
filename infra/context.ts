import { z } from 'zod';
import type { VoxpipeStackProps } from './stacks/voxpipe-stack.js';

/** Context values (`cdk deploy -c provider=mistral -c concurrency=32 …`), parsed once; bad values fail synth with their name. */
const Context = z.object({
  provider: z.enum(['mistral', 'openrouter', 'openai-compatible', 'deepinfra']).default('mistral'),
  model: z.string().min(1).default('voxtral-mini-latest'),
  concurrency: z.coerce.number().int().min(1).max(1000).default(8),
  chunkSeconds: z.coerce.number().int().min(10).max(3600).default(120),
  retentionDays: z.coerce.number().int().min(1).max(3650).default(7),
  apiKeySecretArn: z.string().startsWith('arn:').optional(),
  apiKeySecretName: z.string().min(1).optional(),
  alarmEmail: z.email().optional(),
  jobDeadlineHours: z.coerce.number().min(1).max(72).default(6),
});

/** Stack props from CDK context; `get` is `app.node.tryGetContext`. */
export function stackPropsFromContext(get: (key: string) => unknown): Omit<VoxpipeStackProps, 'jobDeadline'> & { jobDeadlineHours: number } {
  const raw = Object.fromEntries(Object.keys(Context.shape).map((k) => [k, get(k)]).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Context.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `-c ${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid CDK context: ${problems}`);
  }
  return parsed.data;
}
