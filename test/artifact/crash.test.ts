/**
 * Crash consistency of the shipped handlers (issue 9, finding 8): every handler on the main path must be safe to
 * die between any two of its AWS calls. A clean run of one short job counts the calls each handler makes about
 * that job; then one job per crash point (each distinct state: before the first call, after each call that changes
something; VOXPIPE_CRASH_MATRIX=full: before and after every call) runs, all at once, each with its own crash: the
 * gateway ends the calling environment (SIGKILL) either before forwarding the call (it never happened) or after
 * the emulator acted but before the answer arrived. Lambda then sees a failed invocation: the message comes back
 * after the visibility timeout and a fresh environment cold-starts. Every job must end with one result, one
 * terminal event, nothing left running and nothing dead-lettered.
 *
 * Calls that name no job (the transcriber's GetSecretValue, ChangeMessageVisibility by receipt handle) are not
 * in the matrix: they cannot be told apart between concurrent jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript } from '../../shared/core/types.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { PIPELINE_CONTEXT } from './artifact-context.js';
import type { CallRecord, CrashPlan } from './aws-gateway.js';
import { type ArtifactDeployment, deployArtifact } from './deployment.js';
import { synthesizedAssembly } from './synth.js';

const HANDLERS = ['SplitterFunction', 'TranscriberFunction', 'AggregatorFunction'];
const DLQS = ['IngestSplitQueueDlq', 'TranscriberWorkQueueDlq', 'AggregatorAggregateQueueDlq'];

describe('artifact: a crash at any AWS call of any handler', () => {
  let aws: ArtifactDeployment;
  beforeAll(async () => {
    const assembly = await synthesizedAssembly(PIPELINE_CONTEXT);
    // A crashed invocation's messages come back after 1 s instead of the rest of their visibility timeout, so the
    // timeout itself only has to outlast the slowest invocation: 120 s, because the whole suite under
    // `stress-ng --cpu 2` saw a splitter invocation outlive 30 s (the message came back into it: `overlaps`).
    aws = await deployArtifact(assembly, { crashRedeliverySeconds: 1, visibilitySeconds: 120 });
  }, 900_000); // includes the CLI synth when no other test file made it yet
  afterAll(() => aws?.close());

  it('ends every job with one result and one terminal event, nothing stuck, whichever call the crash hits', { timeout: 600_000 }, async () => {
    const { path, words } = await toneSpeechFixture({ seed: 96, durationSeconds: 5, format: 'wav' });
    const truth = words.map((w) => w.word);

    // GIVEN the calls one job makes, per handler
    const baseline = await aws.upload('inbox/crash baseline.wav', path);
    expect((await aws.waitForTerminal(baseline.jobId)).detailType, aws.logs()).toBe('voxpipe.job.completed');
    await aws.settle(500);
    expect(aws.overlaps, 'the baseline ran each message once').toEqual([]);
    const fnId = (prefix: string) => [...aws.runtimes.keys()].find((id) => id.startsWith(prefix))!;
    const callsOf = (fn: string, job: string) => aws.gateway.calls.filter((c) => c.principal === fn && c.job === job);
    // A crash after call N leaves the same state as one before call N+1, and a crash after a read the same as one
    // after the call before it: the distinct states are "before the first call" and "after each call that
    // changes something". Those are run by default; VOXPIPE_CRASH_MATRIX=full runs before and after every call.
    const full = process.env.VOXPIPE_CRASH_MATRIX === 'full';
    const mutates = (c: CallRecord) => /Put|Delete|Send|ChangeMessageVisibility|Copy|Multipart|UploadPart/.test(c.operation);
    const plans: (CrashPlan & { label: string })[] = [];
    for (const prefix of HANDLERS) {
      const fn = fnId(prefix);
      const calls = callsOf(fn, baseline.jobId);
      calls.forEach((c, i) => {
        for (const when of ['before', 'after'] as const) {
          if (!full && !(when === 'before' ? i === 0 : mutates(c))) continue;
          plans.push({ fn, nth: i + 1, when, upload: `inbox/crash ${prefix} ${i + 1} ${when}.wav`, label: `${prefix} call ${i + 1} (${c.operation}) ${when}` });
        }
      });
    }
    console.log(`crash matrix: ${plans.length} runs (${HANDLERS.map((p) => `${p} ${callsOf(fnId(p), baseline.jobId).length} calls`).join(', ')})`);

    // WHEN one job per plan runs, each crashing at its call. The fan-in is a race between the splitter's last
    // check and the transcriber of the last chunk: whichever sees every chunk done hands off. A job whose race went
    // the other way than the baseline's makes different calls, so a crash point of the baseline may not exist for
    // it: those plans run again, each with a new job, until their crash fires (at most 4 rounds).
    const fired = new Map<string, CallRecord>();
    const jobs: { plan: (typeof plans)[number]; jobId: string }[] = [];
    let pending = plans;
    for (let round = 1; round <= 4 && pending.length; round++) {
      const started = await Promise.all(
        pending.map(async (p) => {
          const plan = { ...p, upload: round === 1 ? p.upload : p.upload!.replace(/\.wav$/, ` round ${round}.wav`) };
          void aws.crashAt(plan).then((call) => fired.set(plan.label, call as CallRecord));
          return { plan, ...(await aws.upload(plan.upload!, path)) };
        }),
      );
      jobs.push(...started);
      const deadline = Date.now() + 300_000;
      while (started.some((j) => aws.terminalEvents(j.jobId).length === 0) && Date.now() < deadline) {
        await aws.settle(3000, 300_000); // stuck jobs leave nothing queued: stop waiting for them then
        if (started.every((j) => aws.terminalEvents(j.jobId).length > 0)) break;
        const queued = (await Promise.all([...aws.queues.values()].map((q) => aws.depth(q.id)))).reduce((a, b) => a + b, 0);
        if (queued === 0) break;
      }
      pending = pending.filter((p) => !fired.has(p.label));
      if (pending.length) console.log(`crash matrix round ${round}: the race went the other way for ${pending.map((p) => p.label).join(', ')}`);
    }

    // THEN every crash happened, and every job ended once, completed, with every word
    const problems: string[] = [];
    for (const plan of pending) problems.push(`${plan.label}: the crash never fired in 4 rounds`);
    for (const { plan, jobId } of jobs) {
      // Terminal events are at-least-once with a stable id (infra/README.md, "Crash consistency"; EventBridge itself
      // delivers at least once): a crash after PutEvents acted publishes the same event again, and receivers (the
      // webhook delivery among them) drop the repeat by its id. So: one distinct event, and every copy the same.
      const terminal = aws.terminalEvents(jobId);
      const ids = new Set(terminal.map((e) => String(e.detail.eventId)));
      const types = [...new Set(terminal.map((e) => e.detailType))];
      if (ids.size !== 1 || ids.has('undefined') || types.length !== 1 || types[0] !== 'voxpipe.job.completed')
        problems.push(`${plan.label}: terminal events ${JSON.stringify(terminal.map((e) => [e.detailType, e.detail.eventId]))}`);
      const result = await aws.get(jobKeys(jobId).result('json'));
      if (!result) problems.push(`${plan.label}: no result`);
      else {
        const t = JSON.parse(result) as Transcript;
        const got = t.words?.length ? t.words.map((w) => w.word) : t.text.split(/\s+/).filter(Boolean);
        if (t.status !== 'completed' || got.join(' ') !== truth.join(' ')) problems.push(`${plan.label}: result ${t.status}, ${got.length}/${truth.length} words`);
      }
      if ((await aws.list(jobKeys(jobId).running)).length) problems.push(`${plan.label}: still in running/`);
    }
    for (const q of DLQS) if (await aws.depth(q)) problems.push(`${q}: ${await aws.depth(q)} dead letters`);
    console.log(`crash matrix: ${problems.length} problems${problems.length ? `:\n  ${problems.join('\n  ')}` : ''}`);
    expect(problems).toEqual([]);
    expect(aws.gateway.denied).toEqual([]);
    expect(aws.overlaps).toEqual([]);
  });
});
