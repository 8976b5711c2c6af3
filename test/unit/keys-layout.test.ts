/**
 * The store's layout, spelled out: stored data (buckets and work dirs written by earlier versions) and the
 * stack's IAM policies depend on these exact strings, so a change to shared/core/keys.ts that moves a key
 * fails here rather than orphaning data in production.
 */
import { describe, expect, it } from 'vitest';
import {
  API_KEYS_PREFIX,
  apiKeys,
  chunkRefOf,
  DASHBOARD_SESSIONS_PREFIX,
  dropKeys,
  dropProfilePrefixes,
  everyObjectUnder,
  FAILED_PREFIX,
  INBOX_PREFIX,
  isJobStatusKey,
  JOBS_PREFIX,
  jobKeys,
  LOCAL_DROP_ROOTS,
  PROCESSED_PREFIX,
  parseDropKey,
  RESULTS_PREFIX,
  RUNNING_PREFIX,
  revokedSessionKey,
  TENANTS_PREFIX,
  UPLOADS_PREFIX,
  uploadKeyJobId,
  WEBHOOK_DEAD_LETTER_PREFIX,
  WEBHOOKS_PREFIX,
} from '../../shared/core/keys.js';

describe('store layout (shared/core/keys.ts)', () => {
  it('top-level prefixes', () => {
    expect([JOBS_PREFIX, RUNNING_PREFIX, RESULTS_PREFIX, WEBHOOKS_PREFIX, WEBHOOK_DEAD_LETTER_PREFIX, API_KEYS_PREFIX, TENANTS_PREFIX]).toEqual([
      'jobs/',
      'running/',
      'results/',
      'webhooks/',
      'webhooks/dead-letter/',
      'api-keys/',
      'tenants/',
    ]);
    expect([UPLOADS_PREFIX, INBOX_PREFIX, PROCESSED_PREFIX, FAILED_PREFIX, DASHBOARD_SESSIONS_PREFIX]).toEqual([
      'uploads/',
      'inbox/',
      'processed/',
      'failed/',
      'dashboard-sessions/',
    ]);
    expect(everyObjectUnder(JOBS_PREFIX)).toBe('jobs/*');
  });

  it('keys of one job', () => {
    const k = jobKeys('j1');
    const chunk = { index: 7, start: 840, end: 962.5124 };
    expect({
      root: k.root,
      manifest: k.manifest,
      status: k.status,
      claim: k.claim,
      sourceClaim: k.sourceClaim,
      sourceHash: k.sourceHash,
      waiting: k.waiting('abc'),
      request: k.request,
      drop: k.drop,
      webhookTarget: k.webhookTarget,
      enrichmentRecord: k.enrichmentRecord,
      delivered: k.webhook('msg_1').delivered,
      attempt: k.webhook('msg_1').attempt(2, 3),
      running: k.running,
      audioPrefix: k.audioPrefix,
      chunksPrefix: k.chunksPrefix,
      chunkAudio: k.chunkAudio(chunk),
      chunkResult: k.chunkResult(chunk),
      resultsPrefix: k.resultsPrefix,
      result: k.result('srt'),
      translation: k.translation('fr', 'vtt'),
      summary: k.summary,
      extraction: k.extraction,
      revision: k.revision(12),
      deadLettersPrefix: k.deadLettersPrefix,
      deadLetter: k.deadLetter('msg_1'),
    }).toEqual({
      root: 'jobs/j1/',
      manifest: 'jobs/j1/manifest.json',
      status: 'jobs/j1/status.json',
      claim: 'jobs/j1/aggregate.claim',
      sourceClaim: 'jobs/j1/source.claim',
      sourceHash: 'jobs/j1/source.sha256',
      waiting: 'jobs/j1/waiting/abc.json',
      request: 'jobs/j1/request.json',
      drop: 'jobs/j1/drop.json',
      webhookTarget: 'jobs/j1/webhook.json',
      enrichmentRecord: 'jobs/j1/enrichment.json',
      delivered: 'jobs/j1/webhooks/msg_1/delivered.json',
      attempt: 'jobs/j1/webhooks/msg_1/attempt-2-03.claim',
      running: 'running/j1',
      audioPrefix: 'jobs/j1/audio/',
      chunksPrefix: 'jobs/j1/chunks/',
      chunkAudio: 'jobs/j1/audio/00007-840000-962512.flac',
      chunkResult: 'jobs/j1/chunks/00007-840000-962512.json',
      resultsPrefix: 'results/j1/',
      result: 'results/j1/transcript.srt',
      translation: 'results/j1/transcript.fr.vtt',
      summary: 'results/j1/summary.md',
      extraction: 'results/j1/extract.json',
      revision: 'results/j1/revisions/00012.json',
      deadLettersPrefix: 'webhooks/dead-letter/j1/',
      deadLetter: 'webhooks/dead-letter/j1/msg_1.json',
    });
    expect(chunkRefOf(k.chunkResult(chunk))).toEqual({ index: 7, start: 840, end: 962.512 });
    expect([isJobStatusKey(k.status), isJobStatusKey(k.manifest), isJobStatusKey('jobs/a/b/status.json')]).toEqual([true, false, false]);
    // IAM patterns built from the same functions.
    expect(everyObjectUnder(jobKeys('*').chunksPrefix)).toBe('jobs/*/chunks/*');
    expect(everyObjectUnder(apiKeys.tenantSourcesPrefix('*'))).toBe('tenants/*/inbox/*');
  });

  it('keys of the job API and the dashboard', () => {
    expect({
      apiKey: apiKeys.apiKey('h'),
      tenantJobsPrefix: apiKeys.tenantJobsPrefix('acme'),
      tenantSourcesPrefix: apiKeys.tenantSourcesPrefix('acme'),
      tenantIndexPrefix: apiKeys.tenantIndexPrefix('acme'),
      tenantIndexEntry: apiKeys.tenantIndexEntry('acme', '2026-01-02T03:04:05.678Z', 'j1'),
      tenantIndexMarker: apiKeys.tenantIndexMarker('acme'),
      idempotency: apiKeys.idempotency('acme', 'h'),
      tenantJob: apiKeys.tenantJob('acme', 'j1'),
      retryClaimsPrefix: apiKeys.retryClaimsPrefix('acme', 'j1'),
      retryClaim: apiKeys.retryClaim('acme', 'j1', 2),
      request: apiKeys.request('j1'),
      uploadsPrefix: apiKeys.uploadsPrefix,
      upload: apiKeys.upload('j1', 'a b.mp3'),
      revoked: revokedSessionKey('s1'),
    }).toEqual({
      apiKey: 'api-keys/h.json',
      tenantJobsPrefix: 'tenants/acme/jobs/',
      tenantSourcesPrefix: 'tenants/acme/inbox/',
      tenantIndexPrefix: 'tenants/acme/index/',
      tenantIndexEntry: `tenants/acme/index/${9_999_999_999_999 - Date.parse('2026-01-02T03:04:05.678Z')}-j1`,
      tenantIndexMarker: 'tenants/acme/index.v1',
      idempotency: 'tenants/acme/idempotency/h.json',
      tenantJob: 'tenants/acme/jobs/j1.json',
      retryClaimsPrefix: 'tenants/acme/retries/j1/',
      retryClaim: 'tenants/acme/retries/j1/0002.json',
      request: 'jobs/j1/request.json',
      uploadsPrefix: 'uploads/',
      upload: 'uploads/j1/a b.mp3',
      revoked: 'dashboard-sessions/revoked/s1',
    });
    expect([uploadKeyJobId('uploads/abcdef012345/a.mp3'), uploadKeyJobId('inbox/abcdef012345/a.mp3')]).toEqual(['abcdef012345', undefined]);
  });

  it('drop-folder layout on S3 and in a watched directory', () => {
    const s3 = dropKeys({ profile: 'meetings', path: '2026/q1/board call.mp3' });
    expect([s3.source, s3.sidecar, s3.moved('processed'), s3.reason('failed'), s3.result('fr.srt')]).toEqual([
      'inbox/meetings/2026/q1/board call.mp3',
      'inbox/meetings/2026/q1/board call.mp3.voxpipe.json',
      'processed/meetings/2026/q1/board call.mp3',
      'failed/meetings/2026/q1/board call.mp3.reason.json',
      'results/meetings/2026/q1/board call.fr.srt',
    ]);
    const local = dropKeys({ profile: 'meetings', path: 'talk.mp3' }, LOCAL_DROP_ROOTS);
    expect([local.source, local.moved('failed'), local.result('json')]).toEqual(['meetings/talk.mp3', 'failed/meetings/talk.mp3', 'meetings/talk.json']);
    expect(dropProfilePrefixes('meetings')).toEqual({ inbox: 'inbox/meetings/', results: 'results/meetings/', processed: 'processed/meetings/', failed: 'failed/meetings/' });
    expect(parseDropKey('inbox/meetings/a/b.mp3')).toEqual({ profile: 'meetings', path: 'a/b.mp3' });
    // The outcome folders are never profiles; other names (even Object.prototype's) are.
    expect([parseDropKey('processed/x.mp3', LOCAL_DROP_ROOTS), parseDropKey('failed/x.mp3', LOCAL_DROP_ROOTS)]).toEqual([undefined, undefined]);
    expect(parseDropKey('constructor/x.mp3', LOCAL_DROP_ROOTS)).toEqual({ profile: 'constructor', path: 'x.mp3' });
  });
});
