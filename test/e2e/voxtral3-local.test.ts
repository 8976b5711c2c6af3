/**
 * A Voxtral 3 model through the embedded pipeline: `--words` on a model without word timestamps completes,
 * with word times estimated and marked, and `--vocabulary` reaches the provider as `context_bias`.
 */
import { describe, expect, it } from 'vitest';
import type { Word } from '../../shared/core/types.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { startLocalRun, transcriptWords } from './local-harness.js';

const names = (words: readonly Word[]) => words.map((w) => w.word);

describe('local pipeline against a Voxtral 3 model', () => {
  it('asks for words, never fails for their absence, and marks every word time as estimated', async () => {
    const run = await startLocalRun({
      vendor: 'mistral',
      model: 'voxtral-mini-transcribe-3',
      chunkSeconds: 30,
      env: { VOXPIPE_VOCABULARY: 'Voxtral, chunk plan' },
    });
    try {
      const { path, words: truth } = await toneSpeechFixture({ seed: 5, durationSeconds: 70, format: 'ogg' });
      const t = await run.transcribe(path, { words: true });

      expect(t.status).toBe('completed');
      expect(transcriptWords(t)).toEqual(names(truth));
      expect(t.words?.length).toBe(truth.length);
      expect(t.words?.every((w) => w.estimated === true)).toBe(true);
      expect(t.warnings.some((w) => /word times are estimated/.test(w))).toBe(true);
      const sent = run.double.requests.filter((r) => r.status === 200);
      expect(sent.length).toBeGreaterThan(1);
      for (const r of sent) {
        expect(r.body).toMatchObject({ timestamp_granularities: ['segment'], context_bias: ['Voxtral', 'chunk_plan'] });
      }
      expect(run.double.requests.some((r) => r.status === 400)).toBe(false);
    } finally {
      await run.close();
    }
  });
});
