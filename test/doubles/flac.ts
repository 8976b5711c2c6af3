/** Just enough FLAC for the doubles: read STREAMINFO, and build header-only FLAC files for tests. */

/** What STREAMINFO says about a FLAC stream. */
export interface FlacInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly totalSamples: number;
  readonly seconds: number;
}

/** STREAMINFO of `bytes`, or undefined when `bytes` is not FLAC. */
export function readFlacInfo(bytes: Uint8Array): FlacInfo | undefined {
  if (bytes.length < 42 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'fLaC' || ((bytes[4] ?? 0xff) & 0x7f) !== 0) return undefined;
  const b = (i: number) => bytes[8 + i] ?? 0;
  const sampleRate = (b(10) << 12) | (b(11) << 4) | (b(12) >> 4);
  const channels = ((b(12) >> 1) & 0x07) + 1;
  const totalSamples = (b(13) & 0x0f) * 2 ** 32 + ((b(14) << 24) >>> 0) + (b(15) << 16) + (b(16) << 8) + b(17);
  if (sampleRate === 0) return undefined;
  return { sampleRate, channels, totalSamples, seconds: totalSamples / sampleRate };
}

/**
 * A FLAC file with a valid STREAMINFO for `seconds` of 16 kHz mono audio and `padBytes` of filler
 * instead of frames: enough for the doubles, which read only the header.
 */
export function headerOnlyFlac(seconds: number, padBytes = 256): Uint8Array {
  const sampleRate = 16_000;
  const total = Math.round(seconds * sampleRate);
  const out = new Uint8Array(42 + padBytes);
  out.set([0x66, 0x4c, 0x61, 0x43, 0x80, 0x00, 0x00, 34], 0); // "fLaC", last block, STREAMINFO, length 34
  const s = 8;
  out.set([0x10, 0x00, 0x10, 0x00], s); // block sizes 4096
  out[s + 10] = (sampleRate >> 12) & 0xff;
  out[s + 11] = (sampleRate >> 4) & 0xff;
  out[s + 12] = ((sampleRate & 0x0f) << 4) | (0 << 1) | ((15 >> 4) & 0x01); // mono, 16 bits
  out[s + 13] = ((15 & 0x0f) << 4) | Math.floor(total / 2 ** 32);
  out[s + 14] = (total >>> 24) & 0xff;
  out[s + 15] = (total >>> 16) & 0xff;
  out[s + 16] = (total >>> 8) & 0xff;
  out[s + 17] = total & 0xff;
  for (let i = 42; i < out.length; i += 1) out[i] = (i * 31) & 0xff;
  return out;
}
