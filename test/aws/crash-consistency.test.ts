/**
 * Crash consistency of the AWS handlers, in-process. Each handler's logic runs as the Lambda composes it
 * (`functions/lib/*-record.ts`, `sweep.ts`, the split stage behind the source claim), over a real fs
 * BlobStore and real ffmpeg, with its AWS calls (every BlobStore call, queue send, hand-off and event
 * publish) going through a wrapper that kills the "execution environment" at the Nth call: it throws
 * before delegating (the call never happened) or after (it acted, the caller never learnt it), and every
 * later call of that invocation throws too, as nothing runs after a kill. Then the queues are drained the
 * way SQS redelivers (the killed message comes back; after 3 receives it goes to the DLQ consumer).
 *
 * For every call N of every handler, before and after: one result, one terminal event type (published once,
 * or twice with the same `eventId` when the kill came right after the publish: events are at-least-once
 * with a stable id, see infra/README.md), and nothing stuck (terminal status without outbox, empty
 * `running/`, empty queues).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateRecord } from '../../functions/lib/aggregate-record.js';
import { deadLetterRecord } from '../../functions/lib/dead-letter-record.js';
import { claimSource, finishAfterSplit } from '../../functions/lib/source-claim.js';
import { OUTBOX_GRACE_MS, sweepJobs } from '../../functions/lib/sweep.js';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { TOOLS } from '../fixtures/tools.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { webhookIdOf } from '../../shared/adapters/webhook-notifier.js';
import { jobKeys, RUNNING_PREFIX } from '../../shared/core/keys.js';
import type { ChunkTask, JobManifest, JobOptions, PlannedChunk, Transcript } from '../../shared/core/types.js';
import type { BlobStore, CallPolicy, JobEvent, Logger, Notifier, Transcriber } from '../../shared/ports.js';
import { createTranscriber } from '../../shared/providers/index.js';
import type { StoredStatus } from '../../shared/stages/outbox.js';
import { splitJob } from '../../shared/stages/split.js';
import { readJsonIfExists, writeJson } from '../../shared/stages/store-json.js';
import { transcribeChunk } from '../../shared/stages/transcribe.js';
import { silenceFile, toneSpeechFixture } from '../fixtures/audio.js';

class Killed extends Error {}

type When = 'before' | 'after';
interface Kill {
  readonly handler: HandlerName;
  /** 1-based invocation of that handler to kill. */
  readonly invocation: number;
  /** 1-based AWS call of that invocation. */
  readonly call: number;
  readonly when: When;
}

/** Counts the AWS calls of one invocation and kills it at the chosen one. */
class Environment {
  calls: string[] = [];
  dead = false;
  killedAfter?: string;
  constructor(private readonly kill?: { call: number; when: When }) {}

  async call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.dead) throw new Killed(`${name}: the environment is gone`);
    this.calls.push(name);
    const n = this.calls.length;
    if (this.kill?.call === n && this.kill.when === 'before') {
      this.dead = true;
      throw new Killed(`killed before call ${n} (${name})`);
    }
    const out = await fn();
    if (this.kill?.call === n && this.kill.when === 'after') {
      this.dead = true;
      this.killedAfter = name;
      throw new Killed(`killed after call ${n} (${name})`);
    }
    return out;
  }
}

function wrapStore(store: BlobStore, env: Environment): BlobStore {
  return {
    get: (key) => env.call(`get ${key}`, () => store.get(key)),
    put: (key, body, opts) => env.call(`put ${key}`, () => store.put(key, body, opts)),
    putFile: (key, path, opts) => env.call(`put ${key}`, () => store.putFile(key, path, opts)),
    getFile: (key, path) => env.call(`get ${key}`, () => store.getFile(key, path)),
    exists: (key) => env.call(`head ${key}`, () => store.exists(key)),
    delete: (key) => env.call(`delete ${key}`, () => store.delete(key)),
    list: (prefix) => ({
      async *[Symbol.asyncIterator]() {
        const keys = await env.call(`list ${prefix}`, async () => {
          const all: string[] = [];
          for await (const k of store.list(prefix)) all.push(k);
          return all;
        });
        yield* keys;
      },
    }),
  };
}

type HandlerName = 'split' | 'work' | 'aggregate' | 'dlq' | 'sweep';
interface Message {
  readonly id: string;
  readonly queue: 'split' | 'work' | 'aggregate';
  readonly body: unknown;
  receives: number;
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const OPTIONS: JobOptions = { provider: 'mistral', model: 'voxtral-mini-latest', chunkSeconds: 8, words: false, diarize: false, timestamps: 'provider' };
const capabilities = createTranscriber({ provider: 'mistral', model: 'voxtral-mini-latest' }).capabilities;
const fakeTranscriber: Transcriber = {
  provider: 'mistral',
  model: 'voxtral-mini-latest',
  capabilities,
  async transcribe(req) {
    const seconds = req.durationSeconds;
    return { text: `words of ${req.label}`, segments: [{ start: 0, end: seconds, text: `words of ${req.label}` }], provider: 'mistral', model: 'voxtral-mini-latest', usage: { audioSeconds: seconds } };
  },
};
const onePolicy: CallPolicy = { run: async (_label, fn) => ({ value: await fn(new AbortController().signal), attempts: 1 }) };
const MAX_RECEIVES = 3;

/** One deployment's state: the bucket (fs), the queues, the published events. */
class World {
  readonly messages: Message[] = [];
  readonly events: JobEvent[] = [];
  readonly invocations: Record<HandlerName, number> = { split: 0, work: 0, aggregate: 0, dlq: 0, sweep: 0 };
  readonly dead: Message[] = [];
  private nextId = 0;
  killedEnv?: Environment;

  constructor(readonly store: BlobStore, readonly scratch: string, private readonly kill?: Kill) {}

  send(queue: Message['queue'], body: unknown): void {
    this.messages.push({ id: `m${++this.nextId}`, queue, body, receives: 0 });
  }

  /** The adapters one invocation sees: every AWS call goes through its `Environment`. */
  private adapters(handler: HandlerName) {
    this.invocations[handler] += 1;
    const k = this.kill;
    const env = new Environment(k && k.handler === handler && k.invocation === this.invocations[handler] ? k : undefined);
    if (k && k.handler === handler && k.invocation === this.invocations[handler]) this.killedEnv = env;
    const notifier: Notifier = {
      notify: async (event) => {
        if (event.type === 'job.progress') return; // not published on AWS (no call)
        await env.call(`publish ${event.type}`, async () => void this.events.push(event));
      },
    };
    return {
      env,
      store: wrapStore(this.store, env),
      notifier,
      onJobReady: (jobId: string) => env.call('send aggregate', async () => this.send('aggregate', { jobId })),
      sendWork: (tasks: readonly ChunkTask[]) =>
        env.call('send work', async () => {
          for (const t of tasks) this.send('work', t);
        }),
    };
  }

  async handle(message: Message, dlq: boolean): Promise<void> {
    const handler: HandlerName = dlq ? 'dlq' : message.queue;
    const a = this.adapters(handler);
    if (dlq) {
      const record = { messageId: message.id, body: JSON.stringify(message.body), attributes: { ApproximateReceiveCount: '1' } } as unknown as SQSRecord;
      await deadLetterRecord(record, { store: a.store, notifier: a.notifier, logger: quiet, onJobReady: a.onJobReady, finalizeDrop: async () => undefined, provider: 'mistral', model: 'm' });
      return;
    }
    if (message.queue === 'work') {
      await transcribeChunk(message.body as ChunkTask, { store: a.store, transcriber: fakeTranscriber, policy: onePolicy, logger: quiet, notifier: { notify: async () => undefined }, onJobReady: a.onJobReady });
      return;
    }
    if (message.queue === 'aggregate') {
      const { jobId } = message.body as { jobId: string };
      await aggregateRecord(jobId, { store: a.store, logger: quiet, events: async () => ({ notifier: a.notifier, handedOff: () => false }), finalizeDrop: async () => undefined });
      return;
    }
    // The splitter as functions/splitter.ts composes it: source claim (owner = message id), then split or finish.
    const { jobId, key } = message.body as { jobId: string; key: string };
    const source = `s3://bucket/${key}`;
    const decision = await claimSource(a.store, jobId, source, { now: Date.now(), splitTimeoutMs: 900_000, owner: message.id });
    if (decision === 'in-progress') return;
    if (decision === 'duplicate') return finishAfterSplit(a.store, jobId, { notifier: a.notifier, onJobReady: a.onJobReady });
    const workDir = await mkdtemp(join(this.scratch, 'split-'));
    try {
      const localPath = join(workDir, 'talk.wav');
      await a.store.getFile(key, localPath);
      await splitJob(
        { jobId, source, name: 'talk', localPath, options: OPTIONS },
        { store: a.store, audio, queue: { send: a.sendWork }, capabilities, workDir, logger: quiet, notifier: a.notifier, onJobReady: a.onJobReady },
      );
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** Deliver until every queue is empty: a failed message comes back, and after 3 receives goes to the DLQ consumer. */
  async drain(): Promise<void> {
    for (let steps = 0; this.messages.length + this.dead.length > 0; steps++) {
      if (steps > 500) throw new Error('queues never drained');
      const dlq = this.messages.length === 0;
      const message = dlq ? this.dead.shift()! : this.messages.shift()!;
      message.receives += 1;
      try {
        await this.handle(message, dlq);
      } catch (err) {
        if (!(err instanceof Killed)) throw err;
        if (dlq || message.receives < MAX_RECEIVES) (dlq ? this.dead : this.messages).push(message);
        else this.dead.push({ ...message, receives: 0 });
      }
    }
  }

  async sweep(now: number): Promise<void> {
    const a = this.adapters('sweep');
    try {
      await sweepJobs({ store: a.store, notifier: a.notifier, logger: quiet, finalizeDrop: async () => undefined, now, deadlineMinutes: 60 });
    } catch (err) {
      if (!(err instanceof Killed)) throw err;
    }
  }
}

const audio = createFfmpegAudioTools(TOOLS);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'voxpipe-crash-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function newWorld(kill?: Kill): Promise<World> {
  const dir = await mkdtemp(join(root, 'w-'));
  return new World(createFsStore(join(dir, 'bucket')), dir, kill);
}

const chunk = (index: number, start: number, end: number): PlannedChunk => ({
  index, start, end, keepFrom: start, keepUntil: end, startCut: 'pause', endCut: 'pause', silent: false, speech: [{ start, end }],
});

/** A job the splitter has finished: manifest, chunk audio, status `transcribing`, its chunk messages queued. */
async function splitJobState(world: World, jobId: string): Promise<ChunkTask[]> {
  const chunks = [chunk(0, 0, 30), chunk(1, 30, 60)];
  const keys = jobKeys(jobId);
  const manifest: JobManifest = {
    jobId, source: 's3://bucket/inbox/talk.wav', name: 'talk', createdAt: new Date().toISOString(), options: OPTIONS,
    probe: { durationSeconds: 60, formatName: 'wav', codec: 'pcm_s16le', sampleRate: 16000, channels: 1, sizeBytes: 1 },
    plan: { durationSeconds: 60, options: { targetSeconds: 30, maxSeconds: 45, overlapSeconds: 0, minPauseSeconds: 0.3 }, pauses: [], chunks },
    pending: [0, 1],
    timestamps: 'provider',
  };
  await writeJson(world.store, keys.manifest, manifest);
  for (const c of chunks) await world.store.put(keys.chunkAudio(c), new Uint8Array(16));
  await writeJson(world.store, keys.status, { jobId, source: manifest.source, state: 'transcribing', updatedAt: new Date().toISOString() });
  await world.store.put(keys.running, '');
  return chunks.map((c) => ({ jobId, index: c.index, start: c.start, end: c.end, audioKey: keys.chunkAudio(c), words: false, diarize: false }));
}

/**
 * How many times the terminal event may be published: twice when the kill came after the publish acted and
 * before the outbox was cleared (the redelivery cannot know the publish happened), else once.
 */
function expectedPublishes(env: Environment | undefined, kill: Kill | undefined): number {
  if (!env || !kill) return 1;
  const acted = (i: number) => i + 1 < kill.call || (i + 1 === kill.call && kill.when === 'after');
  const publish = env.calls.findIndex((c) => c.startsWith('publish'));
  if (publish < 0 || !acted(publish)) return 1;
  const clear = env.calls.findIndex((c, i) => i > publish && c.endsWith('/status.json') && c.startsWith('put'));
  return clear >= 0 && acted(clear) ? 1 : 2;
}

/** One result, one terminal event (or the same event twice, see above), nothing stuck. */
async function expectEnded(world: World, jobId: string, type: JobEvent['type'], kill?: Kill): Promise<void> {
  const events = world.events.filter((e) => e.jobId === jobId);
  expect(events.map((e) => e.type)).toEqual(Array(expectedPublishes(world.killedEnv, kill)).fill(type));
  expect(new Set(events.map(webhookIdOf)).size).toBe(1);
  const keys = jobKeys(jobId);
  const transcript = await readJsonIfExists<Transcript>(world.store, keys.result('json'));
  expect(transcript?.status).toBe(type === 'job.completed' ? 'completed' : 'failed');
  const status = await readJsonIfExists<StoredStatus>(world.store, keys.status);
  expect(status?.state).toBe(type === 'job.completed' ? 'completed' : 'failed');
  expect(status?.outbox).toBeUndefined();
  // A kill between the outbox's clearing and the index delete leaves a stale `running/` entry: the sweeper's
  // next run (any time, no deadline involved) removes it.
  await sweepJobs({ store: world.store, notifier: { notify: async () => expect.fail('the repair pass publishes nothing') }, logger: quiet, finalizeDrop: async () => undefined, now: Date.now(), deadlineMinutes: 60 });
  const running: string[] = [];
  for await (const k of world.store.list(RUNNING_PREFIX)) running.push(k);
  expect(running).toEqual([]);
  expect(world.messages.length + world.dead.length).toBe(0);
}

/** How many AWS calls one invocation makes when nothing is killed (the kill points to try). */
async function callsOf(setup: (w: World) => Promise<void>, handler: HandlerName, invocation: number): Promise<string[]> {
  const world = await newWorld({ handler, invocation, call: Number.POSITIVE_INFINITY, when: 'before' });
  await setup(world);
  await world.drain();
  return world.killedEnv?.calls ?? [];
}

/** Run `setup` + drain with a kill at every call of the chosen invocation, before and after, and check the end. */
async function everyKillPoint(
  label: string,
  setup: (w: World) => Promise<string>,
  handler: HandlerName,
  invocation: number,
  type: JobEvent['type'],
  opts: { readonly afterOnly?: boolean } = {},
): Promise<number> {
  const calls = await callsOf(async (w) => void (await setup(w)), handler, invocation);
  expect(calls.length, `${label}: the invocation makes AWS calls`).toBeGreaterThan(3);
  for (const [i, name] of calls.entries()) {
    // `afterOnly`: "before call i+1" leaves the same stored state as "after call i" (only local work runs in
    // between), so for the slow splitter every gap is covered once: before the first call, after each call.
    for (const when of opts.afterOnly && i > 0 ? (['after'] as const) : (['before', 'after'] as const)) {
      const kill: Kill = { handler, invocation, call: i + 1, when };
      const world = await newWorld(kill);
      const jobId = await setup(world);
      await world.drain();
      try {
        await expectEnded(world, jobId, type, kill);
      } catch (err) {
        throw new Error(`${label}: killed ${when} call ${i + 1} (${name}): ${(err as Error).message}`);
      }
    }
  }
  return calls.length;
}

describe('crash consistency: kill the environment at each AWS call, then redeliver', () => {
  const twoChunks = async (w: World) => {
    for (const task of await splitJobState(w, 'job1')) w.send('work', task);
    return 'job1';
  };

  it('transcriber: the fan-in winner (last chunk) dies anywhere, including after the claim and before the hand-off', async () => {
    const calls = await everyKillPoint('transcriber', twoChunks, 'work', 2, 'job.completed');
    expect(calls).toBeGreaterThanOrEqual(8);
  });

  it('aggregator: dies anywhere, including after status `completed` and before the event', async () => {
    await everyKillPoint('aggregator', twoChunks, 'aggregate', 1, 'job.completed');
  });

  it('DLQ consumer, dead chunk: dies anywhere; the job still fails once, with the reason', async () => {
    const deadChunk = async (w: World) => {
      const [first, second] = await splitJobState(w, 'job1');
      w.send('work', first);
      w.dead.push({ id: 'dead-1', queue: 'work', body: second, receives: 0 });
      return 'job1';
    };
    await everyKillPoint('dlq chunk', deadChunk, 'dlq', 1, 'job.failed');
  });

  it('DLQ consumer, dead aggregate hand-off: dies anywhere, including after status `failed` and before the event', async () => {
    const deadAggregate = async (w: World) => {
      const tasks = await splitJobState(w, 'job1');
      for (const t of tasks) await writeJson(w.store, jobKeys('job1').chunkResult(t), { status: 'ok' });
      w.dead.push({ id: 'dead-agg', queue: 'aggregate', body: { jobId: 'job1' }, receives: 0 });
      return 'job1';
    };
    await everyKillPoint('dlq aggregate', deadAggregate, 'dlq', 1, 'job.failed');
  });

  it('splitter: dies anywhere while splitting a real file (ffmpeg) and sending its chunks', async () => {
    const { path } = await toneSpeechFixture({ seed: 91, durationSeconds: 16, format: 'wav' });
    const upload = async (w: World) => {
      await w.store.putFile('inbox/talk.wav', path);
      w.send('split', { jobId: 'split1', key: 'inbox/talk.wav' });
      return 'split1';
    };
    await everyKillPoint('splitter', upload, 'split', 1, 'job.completed', { afterOnly: true });
  }, 300_000);

  it('splitter: a silent file (nothing to transcribe) still completes when the splitter dies after `transcribing`', async () => {
    const upload = async (w: World) => {
      await w.store.putFile('inbox/talk.wav', await silenceFile(3));
      w.send('split', { jobId: 'silent1', key: 'inbox/talk.wav' });
      return 'silent1';
    };
    await everyKillPoint('splitter (silent)', upload, 'split', 1, 'job.completed', { afterOnly: true });
  }, 300_000);

  it('sweeper: dies anywhere while failing a job past its deadline; the next run finishes it', async () => {
    const stuck = async (w: World) => {
      await splitJobState(w, 'job1');
      const status = await readJsonIfExists<StoredStatus>(w.store, jobKeys('job1').status);
      await writeJson(w.store, jobKeys('job1').status, { ...status, updatedAt: new Date(Date.now() - 2 * 3600_000).toISOString() });
      return 'job1';
    };
    const probe = await newWorld({ handler: 'sweep', invocation: 1, call: Number.POSITIVE_INFINITY, when: 'before' });
    await stuck(probe);
    await probe.sweep(Date.now());
    const calls = probe.killedEnv?.calls ?? [];
    expect(calls.length).toBeGreaterThan(3);
    for (const [i, name] of calls.entries()) {
      for (const when of ['before', 'after'] as const) {
        const kill: Kill = { handler: 'sweep', invocation: 1, call: i + 1, when };
        const world = await newWorld(kill);
        await stuck(world);
        await world.sweep(Date.now());
        // The next scheduled run, within the grace: an outbox this young may belong to a live invocation.
        await world.sweep(Date.now());
        const early = world.events.length;
        // …and one after it.
        await world.sweep(Date.now() + OUTBOX_GRACE_MS + 60_000);
        try {
          expect(early).toBeLessThanOrEqual(1);
          await expectEnded(world, 'job1', 'job.failed', kill);
        } catch (err) {
          throw new Error(`sweeper: killed ${when} call ${i + 1} (${name}): ${(err as Error).message}`);
        }
      }
    }
  });
});
