/**
 * Corrections through the job API (shared/api/revisions.ts) over a real filesystem store: an edit becomes a
 * new revision, the original is kept, TXT/SRT/VTT are re-rendered, stale edits conflict, other tenants see
 * nothing, and `job.transcript.edited` goes to the notifier. Checked against api/openapi.yaml.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { webhookIdOf, webhookPayloadOf } from '../../shared/adapters/webhook-notifier.js';
import { createApiKey, createStoreApiKeys } from '../../shared/api/api-keys.js';
import { type ApiRequest, createApi } from '../../shared/api/handler.js';
import { type ApiJobRecord, apiKeys } from '../../shared/api/records.js';
import { jobKeys } from '../../shared/core/keys.js';
import { renderSrt } from '../../shared/core/render.js';
import type { Transcript } from '../../shared/core/types.js';
import type { BlobStore, JobEvent } from '../../shared/ports.js';
import { silentLogger } from '../e2e/local-harness.js';
import { scratchDir } from '../fixtures/audio.js';
import { assertValidRequest, assertValidResponse } from './openapi-contract.js';

const JOB = 'job00000000000000001';
let store: BlobStore;
let api: ReturnType<typeof createApi>;
let keyA: string;
let keyB: string;
let events: JobEvent[];

const original: Transcript = {
  id: JOB,
  source: 'uploads/job00000000000000001/talk.mp3',
  status: 'completed',
  durationSeconds: 10,
  language: 'en',
  text: 'hello there general kenobi',
  segments: [
    { id: 0, start: 0, end: 2, text: 'hello there', speaker: 'SPEAKER_0' },
    { id: 1, start: 2.5, end: 4, text: 'general kenobi', speaker: 'SPEAKER_1' },
    { id: 2, start: 5, end: 6, text: 'you are a bold one', speaker: 'SPEAKER_0', suspect: true },
  ],
  words: [
    { word: 'hello', start: 0, end: 1 },
    { word: 'there', start: 1, end: 2 },
    { word: 'general', start: 2.5, end: 3.2 },
    { word: 'kenobi', start: 3.2, end: 4 },
  ],
  chunks: [],
  model: 'm',
  usage: { audioSeconds: 10 },
  timestamps: 'provider',
  warnings: [],
};

beforeEach(async () => {
  store = createFsStore(await scratchDir('revisions'));
  events = [];
  api = createApi({
    store,
    keys: createStoreApiKeys(store),
    submitter: { start: async () => undefined },
    signer: { getUrl: async (k) => `https://signed.example/${k}`, putUrl: async (k) => `https://signed.example/${k}` },
    logger: silentLogger,
    notifier: { notify: async (e) => void events.push(e) },
  });
  keyA = await createApiKey(store, 'tenant-a');
  keyB = await createApiKey(store, 'tenant-b');
  const record: ApiJobRecord = { jobId: JOB, tenant: 'tenant-a', createdAt: new Date().toISOString(), sourceKey: original.source, sourceKind: 'upload', options: {} };
  await store.put(apiKeys.tenantJob('tenant-a', JOB), JSON.stringify(record));
  await store.put(jobKeys(JOB).result('json'), JSON.stringify(original));
  await store.put(jobKeys(JOB).result('srt'), renderSrt(original.segments, original.words));
});

async function call(method: string, path: string, template: string, opts: { key?: string; body?: unknown } = {}) {
  if (opts.body !== undefined) assertValidRequest(method, template, opts.body);
  const req: ApiRequest = {
    method,
    path,
    query: {},
    headers: { authorization: `Bearer ${opts.key ?? keyA}` },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  };
  const res = await api(req);
  assertValidResponse(method, template, res.status, res.body);
  return res as { status: number; body: any };
}

const text = async (key: string) => new TextDecoder().decode(await store.get(key));
const edit = (body: unknown) => call('POST', `/jobs/${JOB}/transcript/revisions`, '/jobs/{jobId}/transcript/revisions', { body });

describe('transcript revisions', () => {
  it('saves an edit as revision 1, keeps the original, re-renders SRT/VTT/TXT and sends job.transcript.edited', async () => {
    const srtBefore = await text(jobKeys(JOB).result('srt'));
    const res = await edit({ baseRevision: 0, segments: [{ id: 1, text: 'General Grievous', start: 2.4, end: 4.2 }] });

    expect(res.status).toBe(201);
    expect(res.body.revision).toMatchObject({ number: 1, basedOn: 0, editor: 'tenant-a' });
    expect(res.body.segments[1]).toEqual({ id: 1, start: 2.4, end: 4.2, text: 'General Grievous', speaker: 'SPEAKER_1' });
    expect(res.body.text).toBe('hello there General Grievous you are a bold one');
    // The words of the edited segment are gone (they no longer match it); the others stay.
    expect(res.body.words.map((w: { word: string }) => w.word)).toEqual(['hello', 'there']);

    const srt = await text(jobKeys(JOB).result('srt'));
    expect(srt).not.toBe(srtBefore);
    expect(srt).toContain('00:00:02,400 --> 00:00:04,200\nGeneral Grievous');
    expect(await text(jobKeys(JOB).result('vtt'))).toContain('<v SPEAKER_1>General Grievous');
    expect(await text(jobKeys(JOB).result('txt'))).toContain('[SPEAKER_1] General Grievous');
    expect(JSON.parse(await text(`results/${JOB}/revisions/00000.json`))).toEqual(original);
    expect(JSON.parse(await text(`results/${JOB}/revisions/00001.json`)).revision.number).toBe(1);

    const got = await call('GET', `/jobs/${JOB}/transcript`, '/jobs/{jobId}/transcript');
    expect(got.body.revision.number).toBe(1);
    expect(events).toEqual([{ type: 'job.transcript.edited', jobId: JOB, source: original.source, revision: 1, resultKeys: ['json', 'txt', 'srt', 'vtt'].map((e) => `results/${JOB}/transcript.${e}`) }]);
    const event = events[0] as JobEvent;
    expect(webhookPayloadOf(event, {}, new Date(0)).data).toMatchObject({ jobId: JOB, revision: 1, status: 'completed' });
    expect(webhookIdOf(event)).not.toBe(webhookIdOf({ ...event, revision: 2 } as JobEvent));
  });

  it('renames a speaker in every segment at once', async () => {
    const res = await edit({ baseRevision: 0, speakers: { SPEAKER_0: 'Obi-Wan' } });
    expect(res.status).toBe(201);
    expect(res.body.segments.map((s: { speaker: string }) => s.speaker)).toEqual(['Obi-Wan', 'SPEAKER_1', 'Obi-Wan']);
    expect(await text(jobKeys(JOB).result('vtt'))).toContain('<v Obi-Wan>you are a bold one');
    // Renaming is not a correction of the text: the segment stays suspect until its text is edited.
    expect(res.body.segments[2].suspect).toBe(true);
    const fixed = await edit({ baseRevision: 1, segments: [{ id: 2, text: 'you are a bold one.' }] });
    expect(fixed.body.segments[2].suspect).toBeUndefined();
  });

  it('refuses a stale base revision (409), an unknown segment or end before start (400), and other tenants (404)', async () => {
    expect((await edit({ baseRevision: 0, segments: [{ id: 0, text: 'hi' }] })).status).toBe(201);
    const stale = await edit({ baseRevision: 0, segments: [{ id: 0, text: 'hey' }] });
    expect(stale.status).toBe(409);

    const unknown = await edit({ baseRevision: 1, segments: [{ id: 9, text: 'x' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('segments.0.id');
    const backwards = await edit({ baseRevision: 1, segments: [{ id: 0, start: 3, end: 1 }] });
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.field).toBe('segments.0.end');

    const other = await call('POST', `/jobs/${JOB}/transcript/revisions`, '/jobs/{jobId}/transcript/revisions', { key: keyB, body: { baseRevision: 1, speakers: { SPEAKER_0: 'x' } } });
    expect(other.status).toBe(404);
    expect((await call('GET', `/jobs/${JOB}/transcript`, '/jobs/{jobId}/transcript', { key: keyB })).status).toBe(404);
    expect(JSON.parse(await text(jobKeys(JOB).result('json'))).revision.number).toBe(1);
  });
});
