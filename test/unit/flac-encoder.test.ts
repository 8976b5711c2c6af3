/**
 * The in-process FLAC encoder (`shared/adapters/flac-encoder.ts`), checked against two independent decoders:
 * ffmpeg (CRC-8/CRC-16 checked, samples compared) and the reference `flac -t` (Debian `flac`), which recomputes
 * the MD5 of the decoded PCM and compares it with STREAMINFO's. The MD5 is also recomputed here from the decoded
 * samples, so a wrong MD5 cannot pass just because a decoder skipped the check.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFlac16kMono, FLAC_SAMPLE_RATE, pcmMd5 } from '../../shared/adapters/flac-encoder.js';
import { decodePcm16k, scratchDir } from '../fixtures/audio.js';
import { LIBRIVOX_DIR } from '../fixtures/noisy-speech.js';
import { mulberry32 } from '../fixtures/prng.js';

/** STREAMINFO, the first metadata block after `fLaC` and its 4-byte header (RFC 9639 §8.2). */
function streamInfo(flac: Uint8Array) {
  const b = Buffer.from(flac.buffer, flac.byteOffset, flac.byteLength);
  expect(b.subarray(0, 4).toString('latin1')).toBe('fLaC');
  expect(b[4]! & 0x7f).toBe(0); // block type 0 = STREAMINFO
  expect(b.readUIntBE(5, 3)).toBe(34);
  const s = b.subarray(8, 8 + 34);
  const packed = s.readBigUInt64BE(10); // 20 bits rate, 3 channels-1, 5 bps-1, 36 total samples
  return {
    minBlock: s.readUInt16BE(0),
    maxBlock: s.readUInt16BE(2),
    sampleRate: Number(packed >> 44n),
    channels: Number((packed >> 41n) & 0x7n) + 1,
    bitsPerSample: Number((packed >> 36n) & 0x1fn) + 1,
    totalSamples: Number(packed & 0xfffffffffn),
    md5: s.subarray(18, 34).toString('hex'),
  };
}

/** MD5 of samples as signed 16-bit little-endian, written out explicitly (independent of the encoder's helper). */
function md5LittleEndian(pcm: Int16Array): string {
  const le = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) le.writeInt16LE(pcm[i]!, i * 2);
  return createHash('md5').update(le).digest('hex');
}

/** `flac -t` (test decode: CRCs and the STREAMINFO MD5 of the decoded PCM); resolves with exit code and output. */
function flacTest(path: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('flac', ['-t', '--silent', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', (err) => reject(new Error(`cannot run flac (${err.message}): apt-get install -y flac`)));
    child.on('close', (code) => resolve({ code: code ?? 1, output: Buffer.concat(out).toString('utf8') }));
  });
}

const rnd = mulberry32(99);
const synthetic: [string, Int16Array][] = [
  ['digital silence (CONSTANT subframes)', new Int16Array(10_000)],
  ['full-scale noise (VERBATIM subframes)', Int16Array.from({ length: 9000 }, () => Math.floor(rnd() * 65536) - 32768)],
  ['extremes and steps (large residuals)', Int16Array.from({ length: 8192 + 17 }, (_, i) => (i % 3 === 0 ? 32767 : i % 3 === 1 ? -32768 : 0))],
  ['a ramp (high-order prediction)', Int16Array.from({ length: 4096 * 3 + 1 }, (_, i) => ((i * 7) % 65536) - 32768)],
  ['40 s of a chirp (frame numbers past 127: multi-byte UTF-8)', Int16Array.from({ length: 16_000 * 40 }, (_, i) => Math.round(12_000 * Math.sin(i * (0.01 + i * 1e-8))))],
  ['5 samples', Int16Array.from([1, -1, 300, -300, 32767])],
  ['one sample', Int16Array.from([-5])],
];

describe('encodeFlac16kMono: STREAMINFO MD5 written and verified', () => {
  let dir: string;
  let speech: Int16Array;
  beforeAll(async () => {
    dir = await scratchDir('flac-encoder');
    // Real recorded speech (LibriVox, Debian pocketsphinx-testdata), decoded to 16 kHz mono by ffmpeg.
    speech = await decodePcm16k(join(LIBRIVOX_DIR, 'sense_and_sensibility_01_austen_64kb-0870.wav'));
  });

  const SPEECH = 'recorded speech (LibriVox)';
  const samplesOf = (name: string): Int16Array => (name === SPEECH ? speech : synthetic.find(([n]) => n === name)![1]);

  it.each([...synthetic.map(([name]) => name), SPEECH])('%s: STREAMINFO header, lossless through ffmpeg, MD5 of the decoded PCM, flac -t', async (name) => {
    const pcm = samplesOf(name);
    expect(pcm.length).toBeGreaterThan(0);
    const flac = encodeFlac16kMono(pcm);

    const info = streamInfo(flac);
    expect(info).toMatchObject({ minBlock: 4096, maxBlock: 4096, sampleRate: FLAC_SAMPLE_RATE, channels: 1, bitsPerSample: 16, totalSamples: pcm.length });
    expect(info.md5).toBe(md5LittleEndian(pcm));
    expect(Buffer.from(pcmMd5(pcm)).toString('hex')).toBe(info.md5);

    // ffmpeg decodes it with CRC checks on and stops at the first error; the samples come back bit for bit,
    // and the MD5 of what it decoded is the one STREAMINFO carries.
    const decoded = await decodePcm16k(flac, ['-err_detect', 'crccheck+bitstream', '-xerror']);
    expect(decoded.length).toBe(pcm.length);
    expect(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).equals(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength))).toBe(true);
    expect(md5LittleEndian(decoded)).toBe(info.md5);

    // The reference decoder verifies the MD5 itself.
    const path = join(dir, `${name.replace(/\W+/g, '-')}.flac`);
    await writeFile(path, flac);
    const res = await flacTest(path);
    expect(res, res.output).toMatchObject({ code: 0 });
  });

  it('flac -t rejects a file whose STREAMINFO MD5 does not match its samples (the check above can fail)', async () => {
    const flac = encodeFlac16kMono(speech.subarray(0, 16_000 * 5));
    const bad = Uint8Array.from(flac);
    bad[8 + 34 - 1]! ^= 0xff; // last MD5 byte
    const path = join(dir, 'bad-md5.flac');
    await writeFile(path, bad);
    const res = await flacTest(path);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/MD5/i);
  });
});
