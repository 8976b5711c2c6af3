/** Moved to shared/stages/enrichment-outcome.ts: both runtimes state the outcome the same way. */
export { enrichmentOutcome, failedOutcome } from '../../shared/stages/enrichment-outcome.js';
