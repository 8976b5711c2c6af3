import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { SPHINX_TOOLS, TOOLS } from '../fixtures/tools.js';
import { PermanentError } from '../../shared/core/errors.js';
import { createPocketsphinxTranscriber, parseWordLine } from '../../shared/providers/pocketsphinx.js';
import { scratchDir } from '../fixtures/audio.js';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';

/** The librivox sample as the pipeline would send it: analyze → one 16 kHz mono FLAC chunk. */
async function librivoxChunk(): Promise<{ audio: Uint8Array; durationSeconds: number }> {
  const tools = createFfmpegAudioTools(TOOLS);
  const workDir = await scratchDir('sphinx');
  try {
    const { workPath, durationSeconds } = await tools.analyze(LIBRIVOX, { workDir, noiseDb: -35, minSilenceSeconds: 0.3 });
    return { audio: await tools.encodeChunk(workPath, 0, durationSeconds), durationSeconds };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

describe('Transcriber contract: offline (pocketsphinx)', () => {
  it('transcribes real speech with word timestamps', async () => {
    // GIVEN a 7 s librivox recording ("…and then at leisure to consider how much there might be greatly in his power…")
    const { audio, durationSeconds } = await librivoxChunk();
    const transcriber = createPocketsphinxTranscriber(SPHINX_TOOLS);
    // WHEN
    const result = await transcriber.transcribe({ audio, durationSeconds, label: 'test chunk 0' }, new AbortController().signal);
    // THEN
    expect(result).toMatchObject({ provider: 'offline', model: 'pocketsphinx-en-us', language: 'en', usage: { audioSeconds: durationSeconds } });
    const words = result.words ?? [];
    const at = (w: string) => words.find((x) => x.word === w);
    expect(at('john')?.start).toBeCloseTo(0.63, 0);
    expect(at('consider')?.start).toBeCloseTo(2.9, 0);
    expect(at('power')?.start).toBeCloseTo(5.74, 0);
    for (const w of words) {
      expect(w.word).not.toMatch(/^<|^\[|\(\d\)$/); // fillers and alternate-pronunciation marks are gone
      expect(w.end).toBeGreaterThan(w.start);
      expect(w.end).toBeLessThanOrEqual(durationSeconds + 0.05);
    }
    expect(result.text).toContain('consider how much there might be');
    expect(result.segments?.length).toBeGreaterThanOrEqual(1);
    expect(result.segments?.[0]?.start).toBe(words[0]?.start);
    expect(result.segments?.map((s) => s.text).join(' ')).toBe(result.text);
  });

  it('fails with the install command when the binary is missing', async () => {
    const transcriber = createPocketsphinxTranscriber({ ...SPHINX_TOOLS, binary: '/nonexistent/pocketsphinx_continuous' });
    const req = { audio: new Uint8Array(10), durationSeconds: 1, label: 'chunk 0' };
    await expect(transcriber.transcribe(req, new AbortController().signal)).rejects.toThrow(PermanentError);
    await expect(transcriber.transcribe(req, new AbortController().signal)).rejects.toThrow(/apt-get install -y pocketsphinx pocketsphinx-en-us/);
  });

  it('looks for the binary only where the runtime says (VOXPIPE_POCKETSPHINX, PATH): it reads no environment', async () => {
    const transcriber = createPocketsphinxTranscriber({ ...SPHINX_TOOLS, binary: undefined, searchPath: '/nonexistent' });
    const req = { audio: new Uint8Array(10), durationSeconds: 1, label: 'chunk 0' };
    await expect(transcriber.transcribe(req, new AbortController().signal)).rejects.toThrow(/pocketsphinx_continuous not found on PATH.*VOXPIPE_POCKETSPHINX/);
  });

  it('fails with the install command when the model is missing', async () => {
    const transcriber = createPocketsphinxTranscriber({ ...SPHINX_TOOLS, modelDir: '/nonexistent/model' });
    const req = { audio: new Uint8Array(10), durationSeconds: 1, label: 'chunk 0' };
    await expect(transcriber.transcribe(req, new AbortController().signal)).rejects.toThrow(/model missing.*apt-get install -y pocketsphinx pocketsphinx-en-us/);
  });

  it('stops when the signal aborts', async () => {
    const { audio, durationSeconds } = await librivoxChunk();
    const controller = new AbortController();
    const pending = createPocketsphinxTranscriber(SPHINX_TOOLS).transcribe({ audio, durationSeconds, label: 'chunk 0' }, controller.signal);
    setTimeout(() => controller.abort(new Error('job cancelled')), 150);
    // Ignoring the signal would let the decode finish and resolve; the abort's reason proves it stopped (no timing asserted).
    await expect(pending).rejects.toThrow('job cancelled');
  });

  it('parses word lines and drops fillers and pronunciation variants', () => {
    expect(parseWordLine('leisure(2) 2.260 2.710 0.454575')).toEqual({ word: 'leisure', start: 2.26, end: 2.71 });
    expect(parseWordLine('<sil> 3.910 3.930 0.553348')).toBeUndefined();
    expect(parseWordLine('</s> 7.050 7.080 1.000000')).toBeUndefined();
    expect(parseWordLine('[NOISE] 1.0 1.2 0.5')).toBeUndefined();
    expect(parseWordLine('++UH++ 1.0 1.2 0.5')).toBeUndefined();
    expect(parseWordLine('and mr john guess what and then at leisure')).toBeUndefined();
  });
});
