/**
 * Issue 11, High 3: a file edited in place without changing its size (a redaction deep inside a long WAV)
 * must not get the earlier content's transcript. The job id is a quick fingerprint (size + 4 MB windows),
 * so the full content is verified before any finished result is reused.
 */
import { copyFile, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { type LocalRun, startLocalRun, transcriptWords } from '../e2e/local-harness.js';

describe('an edited file of the same size', () => {
  let run: LocalRun;
  beforeAll(async () => {
    run = await startLocalRun({ vendor: 'openai-compatible', chunkSeconds: 60 });
  });
  afterAll(() => run.close());

  it('gets a transcript of its new content, and the unedited file still reuses its own', async () => {
    // 48 kHz stereo WAV: 192 kB per second, so 80 s is ~15 MB, more than the fingerprint's three 4 MB windows.
    const { path: fixture, words } = await toneSpeechFixture({ seed: 1101, durationSeconds: 80, format: 'wav', sampleRate: 48_000, channels: 2 });
    const dir = await scratchDir('same-size');
    const file = join(dir, 'interview.wav');
    await copyFile(fixture, file);
    const { size } = await stat(file);
    expect(size).toBeGreaterThan(12 * 1024 * 1024);

    const before = await run.transcribe(file);
    expect(before.status).toBe('completed');
    expect(transcriptWords(before)).toEqual(words.map((w) => w.word));

    // Redact ~3 s between the first window (ends at 4 MiB) and the middle one: zeroed samples, same size.
    const from = 4 * 1024 * 1024 + 64 * 1024;
    const redact = Buffer.alloc(600 * 1024);
    const handle = await open(file, 'r+');
    await handle.write(redact, 0, redact.length, from);
    await handle.close();
    expect((await stat(file)).size).toBe(size);
    const headerBytes = 44;
    const bytesPerSecond = 48_000 * 2 * 2;
    const cut = { start: (from - headerBytes) / bytesPerSecond, end: (from + redact.length - headerBytes) / bytesPerSecond };
    // Words wholly outside the cut are kept; a word the cut only clips may or may not still be heard.
    const kept = words.filter((w) => w.end < cut.start || w.start > cut.end).map((w) => w.word);
    const notErased = words.filter((w) => w.start < cut.start || w.end > cut.end).map((w) => w.word);
    expect(notErased.length).toBeLessThan(words.length);

    const after = await run.transcribe(file);
    expect(after.status).toBe('completed');
    expect(after.id).not.toBe(before.id);
    const heard = transcriptWords(after);
    expect(heard.length).toBeGreaterThanOrEqual(kept.length);
    expect(heard.length).toBeLessThanOrEqual(notErased.length);
    expect(heard.filter((w) => kept.includes(w)).length).toBeGreaterThanOrEqual(kept.length - 1);

    // The original content, dropped again, is still recognised as the finished job (no provider call).
    const calls = run.double.calls;
    const again = await run.transcribe(fixture);
    expect(again.id).toBe(before.id);
    expect(run.double.calls).toBe(calls);
  });
});
