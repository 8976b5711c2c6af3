/**
 * Drop admission contract: the one `admitDrop` stage, run on each runtime's adapters with the same drops in
 * the same order, gives the same outcomes and leaves the same reason objects:
 * - local: the fs job store and the fs drop area (`voxpipe watch`'s) on a temp directory;
 * - AWS: the S3 store and the S3 drop area over HTTP to s3rver (conditional writes through the conformance
 *   double, as in the BlobStore contract).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsDropArea } from '../../shared/adapters/fs-drop-area.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createS3DropArea } from '../../shared/adapters/s3-drop-area.js';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import { type DropReason, type DropRoots, dropKeys, LOCAL_DROP_ROOTS, S3_DROP_ROOTS } from '../../shared/core/profile-paths.js';
import type { JobOptions } from '../../shared/core/types.js';
import type { BlobStore, DropArea, Logger } from '../../shared/ports.js';
import { type AdmitDropInput, type AdmitOutcome, admitDrop, type DropClaim } from '../../shared/stages/admit-drop.js';
import { startConditionalS3Proxy } from '../aws/conditional-s3-proxy.js';
import { FAKE_AWS, startS3Emulator } from '../aws/emulators.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const OPTIONS: JobOptions = { provider: 'mistral', model: 'voxtral-mini-latest', language: 'en', chunkSeconds: 60, words: false, diarize: false, timestamps: 'auto' };

/** One runtime's side of the contract: its store and drop area, and how to put and look at drop-area files. */
interface Runtime {
  readonly store: BlobStore;
  readonly area: DropArea;
  readonly roots: DropRoots;
  dropFile(key: string, body: string): Promise<void>;
  readArea(key: string): Promise<string | undefined>;
}

type Setup = () => Promise<{ make(): Promise<Runtime>; close(): Promise<void> }>;

const runtimes: [string, Setup][] = [
  [
    'local (fs store + fs drop area)',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'voxpipe-admit-'));
      let n = 0;
      return {
        async make() {
          const base = join(root, String(n++));
          const [dir, out, work] = ['drop', 'out', 'work'].map((d) => join(base, d)) as [string, string, string];
          await mkdir(dir, { recursive: true });
          const inDir = (key: string) => join(dir, ...key.split('/'));
          return {
            store: createFsStore(join(work, 'store')),
            area: createFsDropArea(dir, out, work),
            roots: LOCAL_DROP_ROOTS,
            async dropFile(key, body) {
              await mkdir(dirname(inDir(key)), { recursive: true });
              await writeFile(inDir(key), body);
            },
            readArea: (key) => readFile(inDir(key), 'utf8').catch(() => undefined),
          };
        },
        close: () => rm(root, { recursive: true, force: true }),
      };
    },
  ],
  [
    'AWS (S3 store + S3 drop area on s3rver)',
    async () => {
      const s3rver = await startS3Emulator([]);
      const proxy = await startConditionalS3Proxy(s3rver.endpoint);
      const client = new S3Client({ ...FAKE_AWS, endpoint: proxy.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
      let n = 0;
      return {
        async make() {
          const bucket = `admit-${n++}`;
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          const store = createS3Store({ client, bucket });
          return {
            store,
            area: createS3DropArea({ client, bucket }),
            roots: S3_DROP_ROOTS,
            dropFile: (key, body) => store.put(key, body),
            readArea: async (key) => ((await store.exists(key)) ? new TextDecoder().decode(await store.get(key)) : undefined),
          };
        },
        async close() {
          client.destroy();
          await proxy.close();
          await s3rver.close();
        },
      };
    },
  ],
];

/** The scenario every runtime plays: the outcomes (and reasons) it must produce, in order. */
async function scenario(rt: Runtime): Promise<unknown[]> {
  const seen: unknown[] = [];
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const drop = async (path: string, opts: { content?: string; owner?: string; force?: boolean; rejected?: string; profile?: string } = {}): Promise<AdmitOutcome> => {
    const ref = { profile: opts.profile ?? 'meetings', path };
    const key = dropKeys(ref, rt.roots).source;
    if ((await rt.readArea(key)) === undefined) await rt.dropFile(key, opts.content ?? 'audio-A');
    const resolved: AdmitDropInput['resolved'] = opts.rejected ? { rejected: opts.rejected } : { options: OPTIONS, force: opts.force ?? false };
    const outcome = await admitDrop(
      { drop: ref, roots: rt.roots, contentId: `sha-${opts.content ?? 'audio-A'}`, resolved, instance: `${path}\nv1`, owner: opts.owner ?? `owner-${path}` },
      {
        store: rt.store,
        area: rt.area,
        logger: silent,
        now: clock,
        abandoned: (claim: DropClaim, state) => state === 'claimed' && clock - Date.parse(claim.claimedAt) >= 60_000,
      },
    );
    clock += 1000;
    return outcome;
  };
  const setState = (jobId: string, state: string) =>
    rt.store.put(jobKeys(jobId).status, JSON.stringify({ jobId, source: 'x', state, updatedAt: new Date(clock).toISOString() }));
  const reason = async (outcome: 'processed' | 'failed', path: string) => {
    const text = await rt.readArea(dropKeys({ profile: 'meetings', path }, rt.roots).reason(outcome));
    if (!text) return undefined;
    const { finishedAt: _, ...rest } = JSON.parse(text) as DropReason;
    return rest;
  };
  const src = (path: string) => dropKeys({ profile: 'meetings', path }, rt.roots).source;

  // The first drop runs; its own redelivery resumes; another admitter of the same drop sees it in progress.
  const a = await drop('a.wav');
  seen.push(a);
  if (a.outcome !== 'run') throw new Error(`first drop: ${a.outcome}`);
  seen.push(await drop('a.wav'));
  seen.push(await drop('a.wav', { owner: 'someone-else' }));
  // Same content, another name, while the first job runs: it waits (stays in the inbox) …
  seen.push(await drop('b.wav'));
  await setState(a.jobId, 'transcribing');
  seen.push(await drop('b.wav'));
  seen.push(await rt.readArea(src('b.wav')));
  // … and when that job FAILED, the waiting drop runs again (a rerun, under a new job id), never a duplicate.
  await setState(a.jobId, 'failed');
  const b = await drop('b.wav');
  seen.push(b.outcome, 'attempt' in b && b.attempt, 'jobId' in b && b.jobId !== a.jobId);
  // A third copy follows the rerun: waits while it runs, is a duplicate of it once it completed.
  seen.push((await drop('c.wav')).outcome);
  if (b.outcome !== 'run') throw new Error(`rerun: ${b.outcome}`);
  await setState(b.jobId, 'completed');
  const c = await drop('c.wav');
  seen.push(c.outcome, 'duplicateOf' in c && c.duplicateOf === src('b.wav'), 'jobId' in c && c.jobId === b.jobId);
  seen.push(await reason('processed', 'c.wav'), await rt.readArea(src('c.wav')));
  seen.push((await rt.readArea(dropKeys({ profile: 'meetings', path: 'c.wav' }, rt.roots).moved('processed'))) !== undefined);
  // Forced: a new job even though the content completed.
  const forced = await drop('d.wav', { force: true });
  seen.push(forced.outcome, 'attempt' in forced && forced.attempt);
  // Other content is its own job; a claim whose splitter died (older than the liveness limit) is taken over.
  const e = await drop('e.wav', { content: 'audio-E' });
  seen.push(e.outcome);
  clock += 120_000;
  seen.push((await drop('f.wav', { content: 'audio-E' })).outcome);
  // A drop that cannot become a job goes to failed/ with its reason.
  seen.push(await drop('g.wav', { rejected: 'unknown profile "meetings"' }));
  seen.push(await reason('failed', 'g.wav'));
  return seen;
}

describe('drop admission: one stage, the same outcomes on both runtimes', () => {
  const results = new Map<string, unknown[]>();
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    for (const [name, setup] of runtimes) {
      const rt = await setup();
      closers.push(rt.close);
      results.set(name, await scenario(await rt.make()));
    }
  }, 120_000);
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it.each(runtimes.map(([name]) => name))('%s: outcomes of the scenario', (name) => {
    const seen = results.get(name)!;
    const src = (path: string) => `${name.startsWith('AWS') ? 'inbox/' : ''}meetings/${path}`;
    expect(seen[0]).toMatchObject({ outcome: 'run', attempt: 'first' });
    const jobId = (seen[0] as { jobId: string }).jobId;
    expect(seen[1]).toEqual({ outcome: 'resume', jobId });
    expect(seen[2]).toEqual({ outcome: 'in-progress', jobId });
    expect(seen[3]).toEqual({ outcome: 'wait', jobId, waitingFor: src('a.wav') });
    expect(seen[4]).toEqual({ outcome: 'wait', jobId, waitingFor: src('a.wav') });
    expect(seen[5]).toBe('audio-A'); // still in the inbox
    expect(seen.slice(6, 9)).toEqual(['run', 'rerun', true]);
    expect(seen[9]).toBe('wait');
    expect(seen.slice(10, 13)).toEqual(['duplicate', true, true]);
    expect(seen[13]).toMatchObject({ status: 'duplicate', profile: 'meetings', source: src('c.wav'), duplicateOf: src('b.wav'), results: [] });
    expect(seen[14]).toBeUndefined(); // moved out of the inbox
    expect(seen[15]).toBe(true);
    expect(seen.slice(16, 18)).toEqual(['run', 'forced']);
    expect(seen[18]).toBe('run');
    expect(seen[19]).toBe('resume');
    expect(seen[20]).toEqual({ outcome: 'rejected', reason: 'unknown profile "meetings"' });
    expect(seen[21]).toMatchObject({ status: 'failed', reason: 'unknown profile "meetings"', source: src('g.wav') });
  });

  it('gives the same job ids and outcomes on both runtimes (one dedup rule)', () => {
    const [local, aws] = [...results.values()];
    const normalise = (xs: unknown[]) => JSON.parse(JSON.stringify(xs).replaceAll('inbox/', ''));
    expect(normalise(aws!)).toEqual(normalise(local!));
  });
});
