/** Pauses from Silero frame probabilities: hysteresis, padding, shortest pause, and a causal frontier. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_VAD, FRAME_SECONDS, PauseTracker, soundSeconds } from '../../shared/adapters/silero-vad.js';

/** Frame probabilities from runs of [seconds, p]. */
function frames(runs: [number, number][]): number[] {
  return runs.flatMap(([s, p]) => Array.from({ length: Math.round(s / FRAME_SECONDS) }, () => p));
}

describe('PauseTracker', () => {
  it('turns non-speech runs into pauses, padded on the speech sides, and drops runs shorter than the minimum', () => {
    const t = new PauseTracker(0.3);
    for (const p of frames([[0.512, 0.01], [2.048, 0.9], [0.8, 0.05], [1.024, 0.95], [0.16, 0.1], [1.024, 0.9], [0.64, 0]])) t.frame(p);
    const duration = 0.512 + 2.048 + 0.8 + 1.024 + 0.16 + 1.024 + 0.64;
    const pauses = t.close(duration);
    // Leading silence from 0; the 0.8-s gap shrunk by the end pad and the onset pad; the 0.16-s dip is no pause;
    // the trailing silence runs to the end.
    expect(pauses).toHaveLength(3);
    expect(pauses[0]).toEqual({ start: 0, end: expect.closeTo(0.512 - DEFAULT_VAD.onsetPadSeconds, 5) });
    expect(pauses[1]?.start).toBeCloseTo(2.56 + DEFAULT_VAD.padSeconds, 5);
    expect(pauses[1]?.end).toBeCloseTo(3.36 - DEFAULT_VAD.onsetPadSeconds, 5);
    expect(pauses[2]?.end).toBeCloseTo(duration, 5);
  });

  it('hysteresis: a dip to between the two thresholds does not end speech', () => {
    const t = new PauseTracker(0.3);
    for (const p of frames([[1, 0.9], [1, 0.4], [1, 0.9]])) t.frame(p);
    expect(t.close(3)).toEqual([]);
  });

  it('the frontier reported while scoring is a prefix of the final pauses, with any silence still open', () => {
    const probs = frames([[0.3, 0], [3, 0.9], [1, 0], [2, 0.9], [0.2, 0.1], [2, 0.8], [1.5, 0]]);
    const t = new PauseTracker(0.3);
    const seen: { pauses: { start: number; end: number }[]; open?: number; seconds: number }[] = [];
    for (const p of probs) {
      t.frame(p);
      const f = t.frontier();
      seen.push({ pauses: [...f.pauses], seconds: f.seconds, ...(f.openSilenceStart !== undefined ? { open: f.openSilenceStart } : {}) });
    }
    const final = t.close(probs.length * FRAME_SECONDS);
    for (const f of seen) {
      expect(final.slice(0, f.pauses.length)).toEqual(f.pauses);
      if (f.open !== undefined) expect(f.open).toBeLessThanOrEqual(f.seconds);
      // A pause that ends later starts no earlier than the open silence said.
      const later = final[f.pauses.length];
      if (later && f.open !== undefined && later.start < f.seconds) expect(later.start).toBeGreaterThanOrEqual(f.open - 1e-9);
    }
  });
});

describe('soundSeconds', () => {
  it('counts what the pauses (ended and open) leave', () => {
    expect(soundSeconds({ seconds: 10, pauses: [{ start: 1, end: 2 }], openSilenceStart: 8 }, 10)).toBeCloseTo(7);
    expect(soundSeconds({ seconds: 10, pauses: [{ start: 1, end: 20 }] }, 5)).toBeCloseTo(1);
  });
});
