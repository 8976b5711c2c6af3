/**
 * What the ffmpeg/ffprobe at hand can do, checked once per process before any upload is touched.
 *
 * The Lambda layer ships the `@ffmpeg-installer/linux-x64` build (a 2018 git build, libavutil 56.24 ≈ ffmpeg
 * 4.1); a machine may have anything from 4.x to 7.x. Options are taken from `ffmpeg -h long` and filters from
 * `ffmpeg -filters`, never from the version number (static git builds report `N-47683-g…`, not a release).
 * A binary that cannot run, or lacks a filter the split needs, is an `FfmpegUnusableError`: an infrastructure
 * fault (retried, `FfmpegUnusable` metric and alarm on AWS), never a verdict on the user's file.
 */
import { InfrastructureError } from '../core/errors.js';
import { runProcess } from './process-runner.js';

/** Filters `analyze` chains; without any of them no upload can be split. */
export const REQUIRED_FILTERS = ['aformat', 'aresample', 'asetpts', 'silencedetect'] as const;
/** Options `analyze` cannot do without. */
export const REQUIRED_OPTIONS = ['-progress', '-vn', '-sn', '-dn'] as const;

export interface FfmpegCapabilities {
  /** `ffmpeg -version`'s version token, e.g. `5.1.6-0+deb12u1` or `N-47683-g0e8eb07980-static`. */
  readonly ffmpegVersion: string;
  readonly ffprobeVersion: string;
  /** libavutil `major.minor` (56.x ≈ ffmpeg 4.x, 57.x = 5.x, 58.x = 6.x, 59.x = 7.x): comparable, unlike git build names. */
  readonly libavutil: string;
  /** `-stats_period` (ffmpeg ≥ 4.4): progress every 0.1 s instead of ffmpeg's fixed 0.5 s. */
  readonly statsPeriod: boolean;
}

/** ffmpeg or ffprobe cannot serve the split; the message says which binary and why. */
export class FfmpegUnusableError extends InfrastructureError {}

/** Run the checks; resolves with what the binaries can do or rejects with `FfmpegUnusableError`. */
export async function checkFfmpeg(bins: { ffmpeg: string; ffprobe: string }): Promise<FfmpegCapabilities> {
  const [version, probeVersion, help, filters] = await Promise.all([
    output(bins.ffmpeg, ['-hide_banner', '-version']),
    output(bins.ffprobe, ['-hide_banner', '-version']),
    output(bins.ffmpeg, ['-hide_banner', '-h', 'long']),
    output(bins.ffmpeg, ['-hide_banner', '-filters']),
  ]);
  const ffmpegVersion = /ffmpeg version (\S+)/.exec(version)?.[1];
  if (ffmpegVersion === undefined) throw new FfmpegUnusableError(`${bins.ffmpeg} is not ffmpeg (\`-version\` printed no ffmpeg version)`);
  const ffprobeVersion = /ffprobe version (\S+)/.exec(probeVersion)?.[1];
  if (ffprobeVersion === undefined) throw new FfmpegUnusableError(`${bins.ffprobe} is not ffprobe (\`-version\` printed no ffprobe version)`);
  const libavutil = /libavutil\s+(\d+)\.\s*(\d+)/.exec(version);
  const options = new Set([...help.matchAll(/^(-[\w:]+)/gm)].map((m) => m[1]));
  const missingOptions = REQUIRED_OPTIONS.filter((o) => !options.has(o));
  const filterNames = new Set([...filters.matchAll(/^\s*\S{2,3}\s+(\w+)\s+\S+->\S+/gm)].map((m) => m[1]));
  const missingFilters = REQUIRED_FILTERS.filter((f) => !filterNames.has(f));
  if (missingOptions.length > 0 || missingFilters.length > 0) {
    const what = [...missingOptions.map((o) => `option ${o}`), ...missingFilters.map((f) => `filter ${f}`)].join(', ');
    throw new FfmpegUnusableError(`${bins.ffmpeg} (ffmpeg ${ffmpegVersion}) lacks ${what}, which the split needs`);
  }
  return {
    ffmpegVersion,
    ffprobeVersion,
    libavutil: libavutil ? `${libavutil[1]}.${libavutil[2]}` : 'unknown',
    statsPeriod: options.has('-stats_period'),
  };
}

/** A check that takes longer than this means a hung binary (the checks take milliseconds). */
const CHECK_TIMEOUT_MS = 60_000;

/** stdout of a short-lived child (stderr appended); rejects with `FfmpegUnusableError` when it cannot run or fails. */
async function output(bin: string, args: readonly string[]): Promise<string> {
  const res = await runProcess(bin, args, {
    tailLines: 50,
    timeoutMs: CHECK_TIMEOUT_MS,
    spawnError: (e) => new FfmpegUnusableError(`cannot run ${bin}: ${e.message}`, { cause: e }),
  });
  const text = res.stdout.toString('utf8');
  if (res.code === 0 && res.signal === null) return `${text}\n${res.tail.join('\n')}`;
  const why = res.timedOut ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s` : res.signal ? `killed by ${res.signal}` : `exit ${res.code}`;
  const stderr = res.tail.slice(-2).join('; ');
  throw new FfmpegUnusableError(`${bin} ${args.join(' ')} failed (${why})${stderr ? `: ${stderr}` : ''}`);
}
