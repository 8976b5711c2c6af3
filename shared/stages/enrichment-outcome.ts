/** How a job's enrichments ended, as the final `job.completed` event and `jobs/<jobId>/enrichment.json` state it. */
import type { Transcript } from '../core/types.js';
import type { EnrichmentOutcome } from '../ports.js';
import type { EnrichOptions } from './enrich.js';

type Part = EnrichmentOutcome['parts'][string];

/** The outcome of an enriched transcript: one part per requested enrichment, with its status and reason. */
export function enrichmentOutcome(transcript: Transcript): EnrichmentOutcome {
  const parts: Record<string, Part> = {};
  const add = (name: string, r: { status: 'ok' } | { status: 'failed'; reason: string } | undefined) => {
    if (r) parts[name] = r.status === 'ok' ? { status: 'ok' } : { status: 'failed', reason: r.reason };
  };
  for (const [language, t] of Object.entries(transcript.translations ?? {})) add(`translation:${language}`, t);
  add('summary', transcript.summary);
  add('extraction', transcript.extraction);
  add('answer', transcript.answer);
  return { status: overall(Object.values(parts)), parts };
}

/** Every requested part failed with one reason (the enricher gave up on the job, e.g. its last receive failed). */
export function failedOutcome(options: EnrichOptions, reason: string): EnrichmentOutcome {
  const names = [
    ...(options.translate ?? []).map((l) => `translation:${l}`),
    ...(options.summary ? ['summary'] : []),
    ...(options.extract !== undefined ? ['extraction'] : []),
    ...(options.ask ? ['answer'] : []),
  ];
  return { status: 'failed', parts: Object.fromEntries(names.map((n) => [n, { status: 'failed' as const, reason }])) };
}

function overall(parts: readonly Part[]): EnrichmentOutcome['status'] {
  const failed = parts.filter((p) => p.status === 'failed').length;
  if (failed === 0) return 'ok';
  return failed === parts.length ? 'failed' : 'partial';
}
