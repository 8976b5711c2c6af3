/**
 * Speakers across chunks through the embedded pipeline: a three-person conversation (tone speech, each person
 * with their own words), a Voxtral 3 double that diarizes exactly but numbers the speakers differently in every
 * call, and chunks short enough that the file takes several calls. The result must name each person with one
 * label over the whole file, keep every word once (the speaker context the planner adds before each cut is
 * heard twice), and bill that context only when diarizing.
 */
import { describe, expect, it } from 'vitest';
import type { Transcript } from '../../shared/core/types.js';
import { startProviderDouble } from '../doubles/provider-server.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones, toneSpeakerOf } from '../fixtures/tone-speech.js';
import { startLocalRun, transcriptWords } from './local-harness.js';

const PEOPLE = 3;

/** Label → the true people whose words its segments hold, and person → labels. */
function attribution(t: Transcript) {
  const peopleOf = new Map<string, Set<number>>();
  const labelsOf = new Map<number, Set<string>>();
  for (const s of t.segments) {
    for (const word of s.text.split(/\s+/).filter(Boolean)) {
      const who = toneSpeakerOf(word, PEOPLE);
      const label = s.speaker ?? '(none)';
      peopleOf.set(label, (peopleOf.get(label) ?? new Set()).add(who));
      labelsOf.set(who, (labelsOf.get(who) ?? new Set()).add(label));
    }
  }
  return { peopleOf, labelsOf };
}

describe('local pipeline: speakers consistent across chunks', () => {
  it('one label per person over the whole file, every word once, the context billed only when diarizing', async () => {
    const double = await startProviderDouble({
      vendor: 'mistral',
      recognize: recognizeTones,
      apiKey: 'test-key',
      speakerOf: (word) => toneSpeakerOf(word, PEOPLE),
    });
    const run = await startLocalRun({ vendor: 'mistral', model: 'voxtral-mini-transcribe-3', chunkSeconds: 45, double });
    try {
      // A run-on stretch (no pause for 80 s) forces one cut inside speech as well.
      const { path, words: truth } = await toneSpeechFixture({
        seed: 21,
        durationSeconds: 300,
        format: 'mp3',
        speakers: PEOPLE,
        runOn: [{ start: 150, seconds: 80 }],
      });
      const t = await run.transcribe(path, { words: false, diarize: true, force: true });

      expect(t.status).toBe('completed');
      expect(transcriptWords(t)).toEqual(truth.map((w) => w.word));
      const { peopleOf, labelsOf } = attribution(t);
      for (const [label, people] of peopleOf) expect([...people], `label ${label}`).toHaveLength(1);
      for (const [who, labels] of labelsOf) expect([...labels], `person ${who}`).toHaveLength(1);
      expect([...peopleOf.keys()].sort()).toEqual(['speaker_1', 'speaker_2', 'speaker_3']);

      const calls = double.requests.filter((r) => r.status === 200);
      expect(calls.length).toBeGreaterThanOrEqual(6);
      for (const r of calls) expect(r.body).toMatchObject({ diarize: true, timestamp_granularities: ['segment'] });
      // Every cut after the first chunk re-sends up to 20 s of the audio before it.
      expect(t.usage.audioSeconds).toBeGreaterThan(t.durationSeconds + 60);

      // Without --diarize the same file is planned without speaker context: no audio is paid for twice
      // except the 2-s overlap of the forced cut.
      const plain = await run.transcribe(path, { words: false, diarize: false, force: true });
      expect(transcriptWords(plain)).toEqual(truth.map((w) => w.word));
      expect(plain.usage.audioSeconds).toBeLessThan(plain.durationSeconds + 5);
    } finally {
      await run.close();
    }
  });
});
