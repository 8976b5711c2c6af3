/**
 * Every documented context combination (infra/README.md) synthesizes with a concrete account and region, as
 * `cdk deploy` does (the CDK CLI always passes a region to the app), with cdk-nag on. A region-specific failure,
 * such as a nag acknowledgement naming `<AWS::Region>` literally (issue 9, finding 3), shows up only here: the
 * other infra tests build the stack without a region.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_ENV, synthTemplateOnly } from './synth.js';
import { type CfnTemplate, ofType } from './template.js';

/** One app synth (cdk-nag included) takes seconds on an idle machine; allow for a busy one. */
const SYNTH_TIMEOUT = 300_000;
const dir = mkdtempSync(join(tmpdir(), 'voxpipe-contexts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const synth = (context: Record<string, string>) => synthTemplateOnly(join(dir, `out-${++n}`), context);

const functionEnv = (t: CfnTemplate, idPrefix: string): Record<string, unknown> => {
  const fn = ofType(t, 'AWS::Lambda::Function').find(([id]) => id.startsWith(idPrefix));
  expect(fn, `function ${idPrefix}*`).toBeDefined();
  return fn![1].Properties?.Environment?.Variables ?? {};
};

// Each documented option is in one of three synths (each synth takes 20–40 s of CPU): options that could interact
// (webhooks with enrichments and the dashboard; profiles with their own webhook and another provider) share one.
describe(`context combinations synthesize in ${TEST_ENV.region}`, () => {
  it('defaults, with an alarm email, an existing key secret, Mistral at a regional endpoint (-c baseUrl, finding 4) and the energy pause finder (-c pauses=energy)', { timeout: SYNTH_TIMEOUT }, async () => {
    const t = await synth({ alarmEmail: 'ops@example.com', apiKeySecretName: 'voxpipe/mistral', baseUrl: 'https://api.eu.mistral.ai/v1', pauses: 'energy' });
    expect(ofType(t, 'AWS::SNS::Subscription').length).toBeGreaterThan(0);
    expect(functionEnv(t, 'TranscriberFunction')).toMatchObject({ VOXPIPE_BASE_URL: 'https://api.eu.mistral.ai/v1' });
    // -c pauses=energy: the splitter is told so and gets no Silero layer (only ffmpeg's).
    expect(functionEnv(t, 'SplitterFunction')).toMatchObject({ VOXPIPE_PAUSES: 'energy' });
    expect(functionEnv(t, 'SplitterFunction')).not.toHaveProperty('VOXPIPE_SILERO_MODEL');
    expect(ofType(t, 'AWS::Lambda::LayerVersion').map(([id]) => id)).toEqual([expect.stringMatching(/^SplitterFfmpeg/)]);
  });

  it('webhooks (-c webhookSecretName -c webhookUrl), enrichments (-c enrich -c translate -c summary, another chat provider with its key secret) and the web dashboard (-c dashboard=true)', { timeout: SYNTH_TIMEOUT }, async () => {
    const t = await synth({
      webhookSecretName: 'voxpipe/webhook-signing',
      webhookUrl: 'https://example.com/voxpipe',
      enrich: 'true',
      translate: 'fr,de',
      summary: 'true',
      chatProvider: 'openrouter',
      chatApiKeySecretName: 'voxpipe/openrouter',
      dashboard: 'true',
    });
    expect(ofType(t, 'AWS::Lambda::Function').some(([id]) => id.startsWith('Webhooks'))).toBe(true);
    expect(functionEnv(t, 'Enricher')).toMatchObject({ VOXPIPE_CHAT_PROVIDER: 'openrouter' });
    expect(functionEnv(t, 'SplitterFunction')).toMatchObject({ VOXPIPE_TRANSLATE: 'fr,de', VOXPIPE_SUMMARY: 'true' });
    expect(ofType(t, 'AWS::CloudFront::Distribution')).toHaveLength(1);
    expect(functionEnv(t, 'ApiHandler')).toHaveProperty('VOXPIPE_SESSION_SECRET_ARN');
  });

  it('drop-folder profiles (-c profilesFile) with openai-compatible at its base URL (-c provider -c model -c baseUrl, finding 4)', { timeout: SYNTH_TIMEOUT }, async () => {
    const file = join(dir, 'profiles.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'profiles:',
        '  meetings: { language: en, chunkSeconds: 120, summary: true, retentionDays: 30 }',
        '  french-radio:',
        '    language: fr',
        '    translate: [en, de]',
        '    webhook: { url: https://hooks.example.com/voxpipe, secretRef: voxpipe/webhooks/radio }',
        '',
      ].join('\n'),
    );
    const t = await synth({
      profilesFile: file,
      webhookSecretName: 'voxpipe/webhook-signing',
      provider: 'openai-compatible',
      model: 'mistralai/Voxtral-Mini-3B-2507',
      baseUrl: 'https://vllm.example.com/v1',
    });
    expect(String(functionEnv(t, 'SplitterFunction').VOXPIPE_PROFILES)).toContain('french-radio');
    expect(functionEnv(t, 'TranscriberFunction')).toMatchObject({ VOXPIPE_PROVIDER: 'openai-compatible', VOXPIPE_BASE_URL: 'https://vllm.example.com/v1' });
  });
});
