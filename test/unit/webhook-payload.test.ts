import { describe, expect, it } from 'vitest';
import { webhookPayloadOf } from '../../shared/adapters/webhook-notifier.js';

describe('webhook payload', () => {
  const at = new Date('2026-11-24T12:00:00Z');

  it('carries how the enrichments ended on job.completed, when the job asked for any', () => {
    const enrichment = { status: 'partial' as const, parts: { 'translation:fr': { status: 'ok' as const }, 'translation:de': { status: 'failed' as const, reason: 'bad replies' } } };
    const payload = webhookPayloadOf({ type: 'job.completed', jobId: 'j1', source: 'a.mp3', resultKeys: ['results/j1/transcript.json'], enrichment }, {}, at);
    expect(payload).toEqual({
      type: 'job.completed',
      timestamp: '2026-11-24T12:00:00.000Z',
      data: { jobId: 'j1', source: 'a.mp3', status: 'completed', resultKeys: ['results/j1/transcript.json'], enrichment },
    });
  });

  it('leaves the field out when nothing was asked', () => {
    const payload = webhookPayloadOf({ type: 'job.completed', jobId: 'j1', source: 'a.mp3', resultKeys: [] }, {}, at);
    expect(payload.data).not.toHaveProperty('enrichment');
  });
});
