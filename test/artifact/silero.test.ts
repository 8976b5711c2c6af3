/**
 * Silero VAD on the deployed splitter (issue 12): the CLI-synthesized splitter bundle under the Lambda runtime's
 * Node 22, with the template's layers standing in for /opt (deployment.ts): onnxruntime-node's linux-x64 binding
 * and the Silero model come from the synthesized Silero layer, found through NODE_PATH and `VOXPIPE_SILERO_MODEL`
 * as on Lambda, never from the repository's node_modules (runtime-host.mjs refuses modules outside the function's
 * code and layer folders). Real speech (LibriVox, pocketsphinx-testdata) under a music bed 10 dB below it, where
 * the energy detector finds almost none of the pauses: the job's manifest must say the pauses came from Silero
 * (`pauseFinder: 'silero'`) and they must cover the recording's known gaps. A layer without the binding makes the
 * splitter fall back to the energy detector (`auto`), and this test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../../shared/core/keys.js';
import type { JobManifest } from '../../shared/core/types.js';
import { librivoxAvailable, noisySpeech } from '../fixtures/noisy-speech.js';
import { PIPELINE_CONTEXT } from './artifact-context.js';
import { type ArtifactDeployment, deployArtifact } from './deployment.js';
import { type CloudAssembly, synthesizedAssembly, TEST_ENV } from './synth.js';
import { ofType } from './template.js';

let assembly: CloudAssembly;
let aws: ArtifactDeployment | undefined;
beforeAll(async () => {
  assembly = await synthesizedAssembly(PIPELINE_CONTEXT);
  if (assembly.seconds) console.log(`cdk synth (CLI, ${TEST_ENV.region}): ${assembly.seconds.toFixed(1)} s`);
  aws = await deployArtifact(assembly);
}, 900_000); // a CLI synth with bundling, shared with the other artifact tests (cached)
afterAll(() => aws?.close());

describe.runIf(librivoxAvailable())('artifact: the splitter finds pauses with Silero from its layer', () => {
  it('splits noisy speech at the pauses Silero finds, and the manifest says so', { timeout: 180_000 }, async () => {
    // GIVEN the splitter as synthesized: the Silero layer is one of its layers, VOXPIPE_PAUSES=auto
    const splitter = ofType(assembly.template, 'AWS::Lambda::Function').find(([id]) => id.startsWith('SplitterFunction'))![1].Properties!;
    expect(splitter.Layers).toHaveLength(2);
    expect(splitter.Environment.Variables).toMatchObject({ VOXPIPE_PAUSES: 'auto', VOXPIPE_SILERO_MODEL: '/opt/silero/silero_vad_v5.onnx' });
    // WHEN 57 s of LibriVox speech with 10 known 0.8-s gaps, under a music bed at 10 dB SNR, is uploaded
    const { path, gaps } = await noisySpeech('music', 10);
    const up = await aws!.upload('inbox/noisy speech.wav', path);
    const event = await aws!.waitForTerminal(up.jobId, 150_000);
    await aws!.settle();
    // THEN the job ran, its pauses came from Silero, and every known gap is one of them
    expect(event.detailType, aws!.logs()).toBe('voxpipe.job.completed');
    const manifest = JSON.parse((await aws!.get(jobKeys(up.jobId).manifest))!) as JobManifest;
    expect(manifest.pauseFinder, `pause finder (splitter logs: ${aws!.fn('SplitterFunction').logs.filter((l) => /pause finder/.test(l)).join(' | ')})`).toBe('silero');
    const found = gaps.filter((g) => manifest.plan.pauses.some((p) => p.start < g.end - 0.1 && p.end > g.start + 0.1));
    expect(found).toHaveLength(gaps.length);
    // The choice is logged without the upload's presigned URL query (signature, session token).
    const logged = aws!.fn('SplitterFunction').logs.filter((l) => /pause finder/.test(l));
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line).not.toMatch(/X-Amz-/);
    expect(aws!.gateway.denied, 'AWS calls denied by the template’s IAM policies').toEqual([]);
  });
});
