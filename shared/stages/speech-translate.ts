/**
 * Native speech translation (`--translate-speech`): a second pass over the job's stored chunk FLACs with
 * `task: 'translate'`, through the same call policy as transcription, stitched by the same core
 * (`assembleTranscript`), so the English text is timed and deduplicated at seams exactly like the transcript.
 */
import { assembleTranscript } from '../core/assemble.js';
import { errorMessage } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import type { ChunkResult, EnrichmentResult, JobManifest, TranslationResult } from '../core/types.js';
import type { BlobStore, CallPolicy, Transcriber } from '../ports.js';
import { chunkTask } from './split.js';
import { readJson } from './store-json.js';
import { callProvider } from './transcribe.js';

export interface SpeechTranslateDeps {
  readonly store: BlobStore;
  /** The job's transcriber. Undefined in runtimes that have none at hand: the part fails with a reason. */
  readonly transcriber?: Transcriber;
  readonly policy: CallPolicy;
}

/** Chunks read and sent at once; the call policy still caps calls in flight. Bounds the audio held in memory. */
const CHUNKS_IN_FLIGHT = 16;

/** `translations.en` made by the provider from the audio: same segment shape as a chat translation, `mode: 'native-speech'`. */
export async function translateSpeech(jobId: string, deps: SpeechTranslateDeps): Promise<EnrichmentResult<TranslationResult>> {
  const { transcriber } = deps;
  if (!transcriber) return failed('no speech-to-text provider in this runtime');
  if (!transcriber.capabilities.translate) {
    return failed(
      `provider ${transcriber.provider} (${transcriber.model}) has no native speech translation; ` +
        'use openai-compatible (/audio/translations) or deepinfra (task=translate), or --translate en (chat)',
    );
  }
  const keys = jobKeys(jobId);
  const manifest = await readJson<JobManifest>(deps.store, keys.manifest);
  const chunks = manifest.pending.flatMap((index) => manifest.plan.chunks[index] ?? []);
  const results: ChunkResult[] = [];
  let next = 0;
  const worker = async () => {
    for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
      const task = chunkTask(jobId, manifest.options, chunk);
      const label = `job ${jobId} translate-speech chunk ${chunk.index}`;
      const audio = await deps.store.get(task.audioKey);
      results.push(await callProvider(task, audio, label, { transcriber, policy: deps.policy }, 'translate'));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, chunks.length) }, worker));
  } catch (err) {
    return failed(errorMessage(err));
  }
  const english = assembleTranscript(manifest, results);
  if (english.status === 'failed') return failed(english.error ?? 'a chunk failed');
  const segments = english.segments.map(({ id, start, end, text }) => ({ id, start, end, text }));
  return { status: 'ok', mode: 'native-speech', text: english.text, segments };
}

function failed(reason: string): { status: 'failed'; reason: string } {
  return { status: 'failed', reason: `native speech translation to en failed: ${reason}` };
}
