/**
 * Backfill planning: which files count as media, how long an unprobed file probably is, what a run
 * probably costs and how long it probably takes. Pure: no I/O.
 *
 * Every figure here is an estimate for `--dry-run` and the budget ledger before a job has finished;
 * a finished job's own duration (and cost, where the provider reports one) replaces it.
 */

/** Extensions backfill picks up (lower case, no dot): what ffmpeg reads as audio or video with sound. */
export const MEDIA_EXTENSIONS: ReadonlySet<string> = new Set([
  'mp3', 'm4a', 'aac', 'wav', 'flac', 'ogg', 'oga', 'opus', 'wma', 'amr', 'aiff', 'aif', 'caf',
  'webm', 'mp4', 'm4v', 'mov', 'mkv', 'avi', 'wmv', 'mpg', 'mpeg', '3gp',
]);

/**
 * Assumed bit rate per extension, in kbit/s of the whole file, for estimating the length of a file that is
 * not probed (S3 objects: backfill does not download an archive to count it). Chosen as typical
 * podcast / call-recording / phone-video settings; video containers count the video track too, so their
 * estimate is rough. Unknown extensions use {@link DEFAULT_BITRATE_KBPS}.
 */
export const ASSUMED_BITRATE_KBPS: Readonly<Record<string, number>> = {
  mp3: 128, m4a: 128, aac: 128, ogg: 112, oga: 112, opus: 48, wma: 128, amr: 12.2,
  wav: 1411, aiff: 1411, aif: 1411, caf: 1411, flac: 700,
  webm: 1000, mp4: 2000, m4v: 2000, mov: 2000, mkv: 2000, avi: 2000, wmv: 2000, mpg: 2000, mpeg: 2000, '3gp': 300,
};
export const DEFAULT_BITRATE_KBPS = 128;

/**
 * Transcription list price per audio minute, USD, by provider (default models), as published when this was
 * written; used only for estimates and for the budget when a provider reports no cost. Override with
 * `--usd-per-minute`. Each provider's price and its source are in its registry entry (`provider-catalog.ts`).
 */
export { USD_PER_AUDIO_MINUTE } from './provider-catalog.js';

/**
 * Throughput assumed for the wall-time estimate: one provider call handles this many seconds of audio per
 * second (hosted Voxtral/Whisper APIs run at roughly 20–60× real time), plus a fixed overhead per file
 * (upload, split, aggregate) and per call (request, queueing). Rough by design: the final report has the real figures.
 */
export const ASSUMED_REALTIME_FACTOR = 20;
export const ASSUMED_OVERHEAD_SECONDS_PER_FILE = 2;
export const ASSUMED_OVERHEAD_SECONDS_PER_CALL = 0.5;

/** Lower-case extension of a file name or key, without the dot; '' when there is none. */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** True when the name has a media extension (hidden files and sidecars such as `x.mp3.voxpipe.json` are not). */
export function isMediaName(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return !base.startsWith('.') && MEDIA_EXTENSIONS.has(extensionOf(base));
}

/** Seconds of audio a file of `sizeBytes` probably holds, from the assumed bit rate of its extension. */
export function estimateSecondsFromSize(name: string, sizeBytes: number): number {
  const kbps = ASSUMED_BITRATE_KBPS[extensionOf(name)] ?? DEFAULT_BITRATE_KBPS;
  return (sizeBytes * 8) / (kbps * 1000);
}

/** USD for `seconds` of audio at `usdPerMinute`. */
export function costOf(seconds: number, usdPerMinute: number): number {
  return (seconds / 60) * usdPerMinute;
}

/** One file as planned: its length and where that figure came from. */
export interface PlannedFile {
  readonly id: string;
  readonly seconds: number;
  /** `probe`: ffprobe; `size`: size at the assumed bit rate; `unknown`: could not be told (counted as 0). */
  readonly secondsFrom: 'probe' | 'size' | 'unknown';
}

/** What `--dry-run` prints. */
export interface BackfillEstimate {
  readonly files: number;
  readonly audioSeconds: number;
  readonly costUsd: number;
  readonly wallSeconds: number;
  readonly usdPerMinute: number;
  readonly maxInFlight: number;
  readonly secondsFrom: { readonly probe: number; readonly size: number; readonly unknown: number };
}

/**
 * Estimate a run: total audio, cost at `usdPerMinute`, and wall time with `parallelCalls` provider calls at
 * once (the smaller of provider concurrency and jobs in flight), chunks of `chunkSeconds`.
 */
export function estimateBackfill(
  files: readonly PlannedFile[],
  opts: { usdPerMinute: number; parallelCalls: number; maxInFlight: number; chunkSeconds: number },
): BackfillEstimate {
  let audioSeconds = 0;
  let busySeconds = 0;
  const secondsFrom = { probe: 0, size: 0, unknown: 0 };
  for (const f of files) {
    audioSeconds += f.seconds;
    secondsFrom[f.secondsFrom] += 1;
    const calls = Math.max(1, Math.ceil(f.seconds / opts.chunkSeconds));
    busySeconds += f.seconds / ASSUMED_REALTIME_FACTOR + ASSUMED_OVERHEAD_SECONDS_PER_FILE + ASSUMED_OVERHEAD_SECONDS_PER_CALL * calls;
  }
  const lanes = Math.max(1, opts.parallelCalls);
  return {
    files: files.length,
    audioSeconds,
    costUsd: costOf(audioSeconds, opts.usdPerMinute),
    wallSeconds: busySeconds / lanes,
    usdPerMinute: opts.usdPerMinute,
    maxInFlight: opts.maxInFlight,
    secondsFrom,
  };
}

/** `1h02m03s`, `4m05s`, `7s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
