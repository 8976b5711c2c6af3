/**
 * `AudioTools` on ffmpeg/ffprobe child processes.
 *
 * `analyze` is one ffmpeg pass: decode → 16 kHz mono s16le raw PCM working copy (no header) with silencedetect
 * on the same samples; stderr is parsed line by line, so memory is constant for any input length.
 * `encodeChunk` reads the bytes `[2·round(start·16000), 2·round(end·16000))` of the working copy and encodes them
 * in-process (`flac-encoder.ts`): sample-exact by construction, correct STREAMINFO, no process per chunk.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage, InfrastructureError, PermanentError } from '../core/errors.js';
import type { AudioProbe, Pause } from '../core/types.js';
import type { AnalyzeOptions, AudioTools } from '../ports.js';
import { type FfmpegBinaryOptions, resolveFfmpegBinaries } from './ffmpeg-binaries.js';
import { DEFAULT_SILENCE_DB, estimateSilenceLevel, SPEECH_BAND_FILTER } from './noise-floor.js';
import { checkFfmpeg, type FfmpegCapabilities, FfmpegUnusableError } from './ffmpeg-capabilities.js';
import { FFPROBE_ARGS, parseFfprobe } from './ffprobe.js';
import { encodeFlac16kMono, FLAC_SAMPLE_RATE } from './flac-encoder.js';
import { INFRASTRUCTURE_LINE, type RunOptions, type RunResult, runProcess, throwIfInfrastructure } from './process-runner.js';

/** Sample rate of the working copy and of every chunk. */
export const WORK_SAMPLE_RATE = FLAC_SAMPLE_RATE;
const BYTES_PER_SAMPLE = 2;
/** Decoded audio shorter than the container claims by more than this gets a trailing pause (truncated upload). */
const MISSING_TAIL_TOLERANCE_SECONDS = 0.5;

/** `AudioTools` plus what the ffmpeg adapter knows beyond the port. */
export interface FfmpegAudioTools extends AudioTools {
  /**
   * As the port, plus `durationSeconds`: the exact length of the decoded working copy, which can differ from
   * `probe().durationSeconds` (estimated from headers/bitrate for some mp3s, truncated files).
   */
  analyze(path: string, opts: AnalyzeOptions): Promise<{ pauses: Pause[]; workPath: string; durationSeconds: number }>;
  /**
   * Find the binaries and check what they can do (once per process; a failed check is run again next time).
   * Rejects with `FfmpegUnusableError` (an `InfrastructureError`) when they cannot serve the split.
   */
  check(): Promise<FfmpegCapabilities>;
}

interface Tools {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  readonly caps: FfmpegCapabilities;
}

/**
 * Build the ffmpeg audio tools. Binaries (see `ffmpeg-binaries.ts`): explicit paths (`VOXPIPE_FFMPEG` /
 * `VOXPIPE_FFPROBE`) → the search path → `@ffmpeg-installer/ffmpeg` / `@ffprobe-installer/ffprobe`; resolved on
 * first use. The runtime passes them from its configuration (`toolPathsOf` in `shared/config.ts`).
 */
export function createFfmpegAudioTools(opts: FfmpegBinaryOptions): FfmpegAudioTools {
  let tools: Promise<Tools> | undefined;
  const bins = (): Promise<Tools> => {
    tools ??= resolveFfmpegBinaries(opts)
      .catch((err: unknown) => {
        throw new FfmpegUnusableError(errorMessage(err), { cause: err });
      })
      .then(async (b) => ({ ...b, caps: await checkFfmpeg(b) }));
    // Only success is kept: a check that failed (binary being replaced, no memory) is run again on the next call.
    tools.catch(() => {
      tools = undefined;
    });
    return tools;
  };

  const probe = async (path: string): Promise<AudioProbe> => {
    const { ffprobe, ffmpeg } = await bins();
    return probeAudio(ffprobe, path, () => decodeDuration(ffmpeg, path));
  };

  return {
    probe,

    async check() {
      return (await bins()).caps;
    },

    async analyze(path, options) {
      const { ffmpeg, ffprobe, caps } = await bins();
      const name = inputName(path);
      // Named after the input, within file-name limits (an S3 key's last segment can be 1 KB).
      const stem = Buffer.byteLength(name) <= 200 ? name : createHash('sha256').update(name).digest('hex').slice(0, 16);
      const workPath = join(options.workDir, `${stem}.16k.s16le`);
      // Probe and decode run side by side; for a non-audio file the probe's message is the clearer one.
      // No second decode for containers without a duration: the decode below measures the audio anyway.
      const [probed, decodedResult] = await Promise.allSettled([
        probeAudio(ffprobe, path, async () => Number.NaN),
        decodeAndDetect(ffmpeg, path, workPath, options, caps),
      ]);
      if (probed.status === 'rejected') throw probed.reason;
      if (decodedResult.status === 'rejected') throw decodedResult.reason;
      const declared = probed.value;
      const decoded = decodedResult.value;
      const durationSeconds = decoded.samples / WORK_SAMPLE_RATE;
      const pauses = closePauses(decoded.pauses, durationSeconds);
      // A truncated file decodes shorter than its header says; the planner works from the probe, so the
      // missing tail is declared a pause (encodeChunk pads it with silence) rather than left as phantom speech.
      if (Number.isFinite(declared.durationSeconds) && declared.durationSeconds - durationSeconds > MISSING_TAIL_TOLERANCE_SECONDS) {
        pauses.push({ start: durationSeconds, end: declared.durationSeconds });
      }
      return { pauses: mergeTouching(pauses), workPath, durationSeconds };
    },

    encodeChunk(workPath, start, end) {
      return encodeFlacSpan(workPath, start, end);
    },
  };
}

/**
 * The input as 16 kHz mono mp3 (48 kbit/s) at `out`, for a question asked over the audio itself (every chat
 * dialect takes mp3). Throws `InfrastructureError` when the fault is not the file's, else `PermanentError`.
 */
export async function encodeChatMp3(ffmpeg: string, path: string, out: string): Promise<void> {
  const res = await run(ffmpeg, ['-nostdin', '-v', 'error', '-y', ...inputArgs(path), '-vn', '-ac', '1', '-ar', '16000', '-b:a', '48k', '-f', 'mp3', out]);
  if (res.code === 0) return;
  throwIfInfrastructure('ffmpeg', res, res.tail, out);
  throw new PermanentError(`${inputName(path)}: cannot encode the audio for the chat model (ffmpeg: ${cleanTail(res.tail, path) || `exit ${res.code}`})`);
}

// ---------------------------------------------------------------------------------------------- probe

/** ffprobe the file; `measure` supplies the duration when the container has none (NaN: leave it unknown). */
async function probeAudio(ffprobe: string, path: string, measure: () => Promise<number>): Promise<AudioProbe> {
  const name = inputName(path);
  const sizeBytes = await fileSize(path);
  if (sizeBytes === 0) throw new PermanentError(`${name}: empty file (0 bytes); upload the audio again`);

  const res = await run(ffprobe, [...FFPROBE_ARGS, ...inputArgs(path)]);
  if (res.code !== 0) {
    throwIfInfrastructure('ffprobe', res, res.tail);
    throw new PermanentError(`${name}: not an audio file (ffprobe: ${cleanTail(res.tail, path) || `exit ${res.code}`})`);
  }
  const { durationSeconds: declared, ...audio } = parseFfprobe(res.stdout.toString('utf8'), name);
  const durationSeconds = declared ?? (await measure());
  if (!(durationSeconds > 0) && !Number.isNaN(durationSeconds)) throw new PermanentError(`${name}: audio is empty (duration 0)`);
  return { durationSeconds, ...audio, sizeBytes };
}

async function fileSize(path: string): Promise<number> {
  if (isUrl(path)) return remoteSize(path);
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new PermanentError(`${inputName(path)}: not a file`);
    return st.size;
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : `cannot read (${code})`;
    throw new PermanentError(`${inputName(path)}: ${what}`, { cause: err });
  }
}

/** Duration by decoding the whole audio stream (containers without a duration, e.g. some streamed webm). */
async function decodeDuration(ffmpeg: string, path: string): Promise<number> {
  let lastUs = 0;
  const res = await run(
    ffmpeg,
    ['-nostdin', '-hide_banner', '-nostats', '-v', 'error', ...inputArgs(path), '-map', '0:a:0', '-f', 'null', '-', '-progress', 'pipe:1'],
    {
      onStdoutLine: (line) => {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m?.[1] !== undefined) lastUs = Number(m[1]);
      },
    },
  );
  if (res.code !== 0) {
    throwIfInfrastructure('ffmpeg', res, res.tail);
    throw new PermanentError(`${inputName(path)}: cannot decode audio (ffmpeg: ${cleanTail(res.tail, path) || `exit ${res.code}`})`);
  }
  return lastUs / 1e6;
}

// ---------------------------------------------------------------------------------------------- analyze

interface Decoded {
  readonly pauses: { start: number; end: number | undefined }[];
  readonly samples: number;
}

/** One ffmpeg pass: decode → 16 kHz mono s16le working copy, silencedetect on the same samples. */
async function decodeAndDetect(ffmpeg: string, path: string, workPath: string, opts: AnalyzeOptions, caps: FfmpegCapabilities): Promise<Decoded> {
  // Downmix before resampling (half the resampling work for stereo); silencedetect on the decoder's float
  // samples, the s16 conversion happens once at the encoder. asetpts=N/SR/TB: silencedetect times count samples
  // of the working copy, not container timestamps (mp3/aac streams start at 0.025 s or so).
  // `auto`: the level comes from the recording (see noise-floor.ts) and silencedetect listens to the speech band
  // only, on a split-off copy: the working copy sent to the model stays full band.
  const level = opts.noiseDb === 'auto' ? ((await estimateSilenceLevel(ffmpeg, inputArgs(path)))?.thresholdDb ?? DEFAULT_SILENCE_DB) : opts.noiseDb;
  const detect = `silencedetect=noise=${level}dB:d=${opts.minSilenceSeconds}`;
  const base = ['aformat=channel_layouts=mono', `aresample=${WORK_SAMPLE_RATE}`, 'asetpts=N/SR/TB'].join(',');
  const graph =
    opts.noiseDb === 'auto'
      ? ['-filter_complex', `[0:a:0]${base},asplit=2[work][band];[band]${SPEECH_BAND_FILTER},${detect},anullsink`, '-map', '[work]']
      : ['-map', '0:a:0', '-af', `${base},${detect}`];
  const pauses: { start: number; end: number | undefined }[] = [];
  const errors: string[] = [];
  const res = await run(
    ffmpeg,
    ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-vn', '-sn', '-dn', ...inputArgs(path),
      ...graph, '-c:a', 'pcm_s16le', '-f', 's16le',
      // -stats_period is ffmpeg ≥ 4.4; older builds (the Lambda layer's) report progress every 0.5 s.
      ...(opts.onProgress ? ['-progress', 'pipe:2', ...(caps.statsPeriod ? ['-stats_period', '0.1'] : [])] : []),
      '-y', workPath],
    {
      onStderrLine: (line) => {
        const progress = /^out_time_us=(\d+)/.exec(line);
        if (progress?.[1] !== undefined && opts.onProgress) {
          reportProgress(opts.onProgress, Number(progress[1]) / 1e6, workPath, pauses);
          return;
        }
        const start = /silence_start: (-?[\d.e+-]+)/.exec(line);
        if (start?.[1] !== undefined) {
          pauses.push({ start: Math.max(0, Number(start[1])), end: undefined });
          return;
        }
        const end = /silence_end: (-?[\d.e+-]+)/.exec(line);
        if (end?.[1] !== undefined) {
          const open = pauses.at(-1);
          if (open !== undefined && open.end === undefined) open.end = Number(end[1]);
          return;
        }
        if (/\[(error|fatal|panic)\]/.test(line)) {
          errors.push(line);
          if (errors.length > 5) errors.shift();
        }
      },
    },
  );
  // Before the exit code: some builds exit 0 after "Error writing trailer …: No space left on device".
  if (res.code !== 0 || errors.some((l) => INFRASTRUCTURE_LINE.some((re) => re.test(l)))) {
    await rm(workPath, { force: true });
    throwIfInfrastructure('ffmpeg', res, [...errors, ...res.tail], workPath);
  }
  if (res.code !== 0) {
    const why = cleanTail(errors.length > 0 ? errors : res.tail, path) || `exit ${res.code}`;
    throw new PermanentError(`${inputName(path)}: cannot decode audio, the file is corrupt or unsupported (ffmpeg: ${why})`);
  }
  const samples = Math.floor((await stat(workPath)).size / BYTES_PER_SAMPLE);
  if (samples === 0) throw new PermanentError(`${inputName(path)}: no audio could be decoded`);
  return { pauses, samples };
}

/**
 * Progress lines arrive on stderr in order with the silencedetect lines, so every pause that ended before
 * `outSeconds` has been parsed already. The frontier is also capped by the bytes on disk, so the splitter
 * never reads past what ffmpeg has written.
 */
function reportProgress(
  onProgress: NonNullable<AnalyzeOptions['onProgress']>,
  outSeconds: number,
  workPath: string,
  raw: readonly { start: number; end: number | undefined }[],
): void {
  let written = 0;
  try {
    written = statSync(workPath).size / BYTES_PER_SAMPLE / WORK_SAMPLE_RATE;
  } catch {
    return; // not created yet
  }
  const seconds = Math.min(outSeconds, written);
  // A silence not over at the frontier (still open, or ended in samples not yet on disk) counts as open.
  const open = raw.find((p) => p.start < seconds && (p.end === undefined || p.end > seconds))?.start;
  const pauses = raw.flatMap((p) => (p.end !== undefined && p.end <= seconds ? [{ start: p.start, end: p.end }] : []));
  onProgress({ seconds, pauses, openSilenceStart: open }, workPath);
}

/** A silence still open at the end of the stream runs to the end; clamp everything to `[0, duration]`. */
function closePauses(raw: readonly { start: number; end: number | undefined }[], duration: number): Pause[] {
  const out: Pause[] = [];
  for (const p of raw) {
    const start = Math.min(Math.max(0, p.start), duration);
    const end = Math.min(p.end ?? duration, duration);
    if (end > start) out.push({ start: round6(start), end: round6(end) });
  }
  return out;
}

function mergeTouching(pauses: readonly Pause[]): Pause[] {
  const out: Pause[] = [];
  for (const p of pauses) {
    const last = out.at(-1);
    if (last !== undefined && p.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, p.end) };
    else out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- encodeChunk

/**
 * `[start, end)` of the working copy as FLAC. Samples past the end of the working copy (a truncated upload
 * whose tail `analyze` declared a pause) are silence, so the chunk always has exactly the planned length.
 */
async function encodeFlacSpan(workPath: string, start: number, end: number): Promise<Uint8Array> {
  const first = Math.max(0, Math.round(start * WORK_SAMPLE_RATE));
  const last = Math.max(first, Math.round(end * WORK_SAMPLE_RATE));
  if (last === first) throw new PermanentError(`chunk [${start}, ${end}) of ${basename(workPath)} is empty`);
  const pcm = new Int16Array(last - first); // zero-filled: padding past EOF
  const fh = await open(workPath, 'r');
  try {
    await fh.read(new Uint8Array(pcm.buffer), 0, pcm.byteLength, first * BYTES_PER_SAMPLE);
  } finally {
    await fh.close();
  }
  return encodeFlac16kMono(pcm);
}

// ---------------------------------------------------------------------------------------------- processes

/** ffmpeg/ffprobe through the shared runner; a binary that cannot start makes the tools unusable (infrastructure). */
function run(bin: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(bin, args, { ...opts, spawnError: (err) => new FfmpegUnusableError(`cannot run ${bin}: ${err.message}`, { cause: err }) });
}

/** Error lines without the path prefix and ffmpeg's `[tag @ 0x…] [error]` decorations, joined. */
function cleanTail(lines: readonly string[], path: string): string {
  return lines
    // A URL input is never quoted: a presigned URL carries a signature.
    .map((l) => l.split(`${path}: `).join('').split(path).join(inputName(path)).replace(/\[[^\]]*@ 0x[0-9a-f]+\]\s*/g, '').replace(/\[(error|fatal|panic|warning|info)\]\s*/g, '').trim())
    .filter((l) => l !== '' && !/^Conversion failed!?$/.test(l))
    .slice(-3)
    .join('; ');
}

/**
 * Inputs are local paths or http(s) URLs. ffmpeg reads a URL with HTTP range requests and seeks in it (an
 * mp4/m4a whose index, the moov atom, is at the end), so the splitter never copies the upload to disk.
 */
function isUrl(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

/** How an input is named in messages: the file name, for a URL the decoded last path segment (never the query). */
function inputName(path: string): string {
  if (!isUrl(path)) return basename(path);
  try {
    return decodeURIComponent(basename(new URL(path).pathname)) || 'input';
  } catch {
    return 'input';
  }
}

/** `-i <input>`, with reconnects for a URL (a dropped connection mid-file resumes with a range request). */
function inputArgs(path: string): string[] {
  return isUrl(path) ? ['-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '10', '-i', path] : ['-i', path];
}

/**
 * Size of a URL input from a one-byte range GET (a presigned URL is signed for GET only, so no HEAD):
 * 206 → `Content-Range`, 200 → `Content-Length`, 416 → empty object. Anything else is the store's or the
 * network's fault, never the file's.
 */
async function remoteSize(url: string): Promise<number> {
  const name = inputName(url);
  const request = new AbortController();
  const timer = setTimeout(() => request.abort(new Error('no answer within 30 s')), 30_000);
  let res: Response;
  try {
    res = await fetch(url, { headers: { range: 'bytes=0-0' }, signal: request.signal });
  } catch (err) {
    throw new InfrastructureError(`${name}: cannot reach the input (${errorMessage(err)}); the message is retried`, { cause: err });
  } finally {
    clearTimeout(timer);
    request.abort(); // the headers say it all: never wait for a body
  }
  if (res.status === 416) return 0;
  const total = res.status === 206 ? Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]) : res.status === 200 ? Number(res.headers.get('content-length')) : Number.NaN;
  if (!Number.isFinite(total)) throw new InfrastructureError(`${name}: reading the input failed with HTTP ${res.status}; the message is retried`);
  return total;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
