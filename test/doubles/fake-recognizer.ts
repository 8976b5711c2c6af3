/** A deterministic stand-in for a speech decoder, for contract tests that do not need real audio. */
import type { Word } from '../../shared/core/types.js';
import { readFlacInfo } from './flac.js';

/**
 * Words derived from the FLAC header's duration: `w0`, `w1`, … every 0.6 s (0.4 s long), with an
 * extra 0.8 s pause after every 4th word so the doubles build several segments.
 */
export async function recognizeByDuration(flac: Uint8Array): Promise<Word[]> {
  const seconds = readFlacInfo(flac)?.seconds ?? 0;
  const words: Word[] = [];
  let t = 0.2;
  for (let i = 0; t + 0.4 <= seconds; i += 1) {
    words.push({ word: `w${i}`, start: round(t), end: round(t + 0.4) });
    t += (i + 1) % 4 === 0 ? 1.4 : 0.6;
  }
  return words;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
