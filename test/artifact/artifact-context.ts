/**
 * The context every artifact pipeline test synthesizes with (one shared, cached assembly): two transcribers
 * (the machine has two cores) and one-minute chunks (a 5-minute upload is five chunks, a short one is one).
 */
export const PIPELINE_CONTEXT = { concurrency: '2', chunkSeconds: '60' } as const;
