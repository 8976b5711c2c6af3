/**
 * Pause threshold that adapts to the recording. A fixed −35 dB silence level finds no pauses under a steady
 * noise floor (pink noise 18 dB below the speech is a quiet room): every sample of the "pauses" is above it.
 * Here the level comes from the recording itself: 50-ms windows of the speech band (100 Hz–4 kHz, so rumble
 * and mains hum do not count) give the noise floor (10th percentile of window RMS) and the speech level
 * (90th percentile); the threshold sits just above the peaks of the quiet windows, so silencedetect — which
 * compares single samples — sees the floor as silence and the speech as sound.
 */
import { runProcess } from './process-runner.js';

/** The band pause finding listens to; `analyze` applies the same filter before silencedetect. */
export const SPEECH_BAND_FILTER = 'highpass=f=100,lowpass=f=4000';
/** The proven level for clean recordings; the adaptive level is never below it. */
export const DEFAULT_SILENCE_DB = -35;
/** Below this gap between speech and floor the recording has no usable floor: keep the default. */
const MIN_DYNAMIC_DB = 10;
/** The threshold stays at least this far under the speech level. */
const SPEECH_HEADROOM_DB = 6;
/** Seconds of the recording the estimate reads (from the start): bounded cost for any length. */
export const ESTIMATE_SECONDS = 300;

/** What the estimate found, in dBFS. */
export interface SilenceLevel {
  readonly thresholdDb: number;
  readonly floorDb: number;
  readonly speechDb: number;
}

/** Level for ffmpeg silencedetect from 50-ms window statistics (RMS and peak per window, dBFS). Pure. */
export function silenceLevelOf(windows: readonly { rms: number; peak: number }[]): SilenceLevel | undefined {
  const finite = windows.map((w) => ({ rms: Number.isFinite(w.rms) ? w.rms : -120, peak: Number.isFinite(w.peak) ? w.peak : -120 }));
  if (finite.length < 20) return undefined;
  const rms = finite.map((w) => w.rms).sort((a, b) => a - b);
  const floorDb = quantile(rms, 0.1);
  const speechDb = quantile(rms, 0.9);
  if (speechDb - floorDb < MIN_DYNAMIC_DB) return { thresholdDb: DEFAULT_SILENCE_DB, floorDb, speechDb };
  const quietPeaks = finite.filter((w) => w.rms <= floorDb + 3).map((w) => w.peak).sort((a, b) => a - b);
  const adaptive = Math.min(quantile(quietPeaks, 0.95) + 1.5, speechDb - SPEECH_HEADROOM_DB);
  return { thresholdDb: round1(Math.max(DEFAULT_SILENCE_DB, adaptive)), floorDb: round1(floorDb), speechDb: round1(speechDb) };
}

/**
 * Estimate the silence level of `path` from its first `ESTIMATE_SECONDS`, in the speech band. Undefined when
 * ffmpeg cannot read it (the main decode reports why) or the audio is too short to tell.
 */
export async function estimateSilenceLevel(ffmpeg: string, inputArgs: readonly string[]): Promise<SilenceLevel | undefined> {
  const filter = [
    'aformat=channel_layouts=mono',
    'aresample=16000',
    SPEECH_BAND_FILTER,
    'asetnsamples=n=800',
    'astats=metadata=1:reset=1',
    'ametadata=mode=print:file=-',
  ].join(',');
  const windows: { rms: number; peak: number }[] = [];
  let current: { rms?: number; peak?: number } = {};
  const onLine = (line: string): void => {
    if (line.startsWith('frame:')) {
      if (current.rms !== undefined && current.peak !== undefined) windows.push({ rms: current.rms, peak: current.peak });
      current = {};
      return;
    }
    const m = /^lavfi\.astats\.Overall\.(RMS_level|Peak_level)=(.+)$/.exec(line);
    if (!m) return;
    const value = m[2] === '-inf' ? Number.NEGATIVE_INFINITY : Number(m[2]);
    if (m[1] === 'RMS_level') current.rms = value;
    else current.peak = value;
  };
  const code = await runProcess(
    ffmpeg,
    ['-nostdin', '-hide_banner', '-nostats', '-v', 'error', '-t', String(ESTIMATE_SECONDS), ...inputArgs, '-map', '0:a:0', '-af', filter, '-f', 'null', '-'],
    { onStdoutLine: onLine },
  ).then(
    (res) => res.code,
    () => 1, // cannot start: the main decode reports why
  );
  if (current.rms !== undefined && current.peak !== undefined) windows.push({ rms: current.rms, peak: current.peak });
  if (code !== 0) return undefined;
  return silenceLevelOf(windows);
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NEGATIVE_INFINITY;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))] ?? Number.NEGATIVE_INFINITY;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
