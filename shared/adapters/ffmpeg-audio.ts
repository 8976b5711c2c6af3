/**
 * `AudioTools` on ffmpeg/ffprobe child processes.
 *
 * `analyze` is one ffmpeg pass: decode → 16 kHz mono s16le raw PCM working copy (no header) with silencedetect
 * on the same samples; stderr is parsed line by line, so memory is constant for any input length.
 * `encodeChunk` reads the bytes `[2·round(start·16000), 2·round(end·16000))` of the working copy and encodes them
 * in-process (see `encodeFlac16kMono`): sample-exact by construction, correct STREAMINFO, no process per chunk.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { errorMessage, InfrastructureError, PermanentError } from '../core/errors.js';
import type { AudioProbe, Pause } from '../core/types.js';
import type { AnalyzeOptions, AudioTools } from '../ports.js';
import { type FfmpegBinaryOptions, resolveFfmpegBinaries } from './ffmpeg-binaries.js';
import { DEFAULT_SILENCE_DB, estimateSilenceLevel, SPEECH_BAND_FILTER } from './noise-floor.js';
import { checkFfmpeg, type FfmpegCapabilities, FfmpegUnusableError } from './ffmpeg-capabilities.js';

/** Sample rate of the working copy and of every chunk. */
export const WORK_SAMPLE_RATE = 16_000;
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
 * Build the ffmpeg audio tools. Binaries: explicit option → `VOXPIPE_FFMPEG` / `VOXPIPE_FFPROBE`
 * → `PATH` → `@ffmpeg-installer/ffmpeg` / `@ffprobe-installer/ffprobe`; resolved on first use.
 */
export function createFfmpegAudioTools(opts: FfmpegBinaryOptions = {}): FfmpegAudioTools {
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

// ---------------------------------------------------------------------------------------------- probe

const FfprobeOutput = z.object({
  format: z
    .object({
      format_name: z.string().optional(),
      duration: z.string().optional(),
      size: z.string().optional(),
    })
    .optional(),
  streams: z
    .array(
      z.object({
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        sample_rate: z.string().optional(),
        channels: z.number().optional(),
        duration: z.string().optional(),
      }),
    )
    .default([]),
});

/** ffprobe the file; `measure` supplies the duration when the container has none (NaN: leave it unknown). */
async function probeAudio(ffprobe: string, path: string, measure: () => Promise<number>): Promise<AudioProbe> {
  const name = inputName(path);
  const sizeBytes = await fileSize(path);
  if (sizeBytes === 0) throw new PermanentError(`${name}: empty file (0 bytes); upload the audio again`);

  const res = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...inputArgs(path)]);
  if (res.code !== 0) {
    throwIfInfrastructure('ffprobe', res, res.tail);
    throw new PermanentError(`${name}: not an audio file (ffprobe: ${cleanTail(res.tail, path) || `exit ${res.code}`})`);
  }
  const parsed = FfprobeOutput.safeParse(safeJson(res.stdout.toString('utf8')));
  if (!parsed.success) throw new PermanentError(`${name}: not an audio file (ffprobe gave no usable stream information)`);
  const { format, streams } = parsed.data;

  const audio = streams.find((s) => s.codec_type === 'audio');
  if (audio === undefined) {
    const found = streams.map((s) => `${s.codec_type ?? 'unknown'} (${s.codec_name ?? '?'})`).join(', ') || 'no streams';
    throw new PermanentError(`${name}: not an audio file (no audio stream; found ${found})`);
  }
  const sampleRate = Number(audio.sample_rate);
  const channels = audio.channels ?? 0;
  if (!(sampleRate > 0) || !(channels > 0)) {
    throw new PermanentError(`${name}: not an audio file (audio stream ${audio.codec_name ?? '?'} cannot be decoded)`);
  }

  // The audio stream's own duration first: a video track can make the container longer than the audio.
  let durationSeconds = positive(audio.duration) ?? positive(format?.duration);
  if (durationSeconds === undefined) durationSeconds = await measure();
  if (!(durationSeconds > 0) && !Number.isNaN(durationSeconds)) throw new PermanentError(`${name}: audio is empty (duration 0)`);

  return {
    durationSeconds,
    formatName: format?.format_name ?? 'unknown',
    codec: audio.codec_name ?? 'unknown',
    sampleRate,
    channels,
    sizeBytes,
  };
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

/*
 * A small FLAC encoder (16 kHz, mono, 16 bit): fixed predictors of order 0–4 chosen per 4096-sample block,
 * Rice-coded residuals with per-partition parameters, CONSTANT subframes for digital silence, VERBATIM when
 * prediction does not pay. Compression is within a few percent of `flac -5` on speech.
 *
 * Why in-process and not ffmpeg: spawning ffmpeg costs ~50 ms per chunk, which for a cut-plan job (≤ 30 s
 * chunks, ~180 per hour) cost more than decoding the whole input; this runs at ~100× that speed per sample
 * and writes an exact STREAMINFO (total samples, MD5) that a piped ffmpeg cannot.
 * Format: https://xiph.org/flac/format.html (RFC 9639).
 */

const BLOCK = 4096;
const MAX_PARTITION_ORDER = 6;
const MAX_RICE_PARAM = 14;

/** Encode 16 kHz mono s16 samples as a complete FLAC file. */
export function encodeFlac16kMono(pcm: Int16Array): Uint8Array {
  const frames = Math.ceil(pcm.length / BLOCK);
  const w = new BitWriter(42 + pcm.length * 2 + frames * 24 + 16);
  w.bytes([0x66, 0x4c, 0x61, 0x43]); // "fLaC"
  w.put(0x80, 8); // last metadata block, type 0 = STREAMINFO
  w.put(34, 24);
  const streamInfoAt = w.pos;
  w.pos += 34; // written once frame sizes are known

  const residual = new Int32Array(BLOCK);
  let minFrame = Number.POSITIVE_INFINITY;
  let maxFrame = 0;
  for (let f = 0; f < frames; f++) {
    const from = f * BLOCK;
    const block = pcm.subarray(from, Math.min(from + BLOCK, pcm.length));
    const at = w.pos;
    writeFrame(w, block, f, residual);
    minFrame = Math.min(minFrame, w.pos - at);
    maxFrame = Math.max(maxFrame, w.pos - at);
  }
  const end = w.pos;

  w.pos = streamInfoAt;
  w.put(BLOCK, 16);
  w.put(BLOCK, 16);
  w.put(minFrame, 24);
  w.put(maxFrame, 24);
  w.put(WORK_SAMPLE_RATE, 20);
  w.put(0, 3); // channels - 1
  w.put(15, 5); // bits per sample - 1
  w.put(Math.floor(pcm.length / 2 ** 32) & 0x0f, 4);
  w.put(pcm.length >>> 16, 16);
  w.put(pcm.length & 0xffff, 16);
  const md5 = createHash('md5').update(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)).digest();
  w.bytes(md5);
  return w.buf.slice(0, end); // a copy: the caller should not hold the worst-case-sized buffer
}

function writeFrame(w: BitWriter, x: Int16Array, frameNumber: number, residual: Int32Array): void {
  const n = x.length;
  const start = w.pos;
  w.put(0xfff8 >>> 2, 14); // sync
  w.put(0, 1); // reserved
  w.put(0, 1); // fixed block size
  w.put(n === BLOCK ? 0b1100 : 0b0111, 4); // 4096, or 16-bit (n - 1) after the frame number
  w.put(0b0101, 4); // 16 kHz
  w.put(0b0000, 4); // mono
  w.put(0b100, 3); // 16 bit
  w.put(0, 1);
  writeUtf8Number(w, frameNumber);
  if (n !== BLOCK) w.put(n - 1, 16);
  w.put(crc8(w.buf, start, w.pos), 8);

  writeSubframe(w, x, residual);
  w.alignToByte();
  const crc = crc16(w.buf, start, w.pos);
  w.put(crc, 16);
}

function writeSubframe(w: BitWriter, x: Int16Array, residual: Int32Array): void {
  const n = x.length;
  const order = n > 8 ? bestFixedOrder(x) : isConstant(x) ? -1 : 0;
  if (order < 0) {
    w.put(0b00000000, 8); // CONSTANT
    w.put((x[0] ?? 0) & 0xffff, 16);
    return;
  }
  fixedResidual(x, order, residual);
  const count = n - order;
  const plan = planRice(residual, count, n, order);
  const bits = 8 + 16 * order + 6 + plan.bits;
  if (bits >= n * 16 || n <= 8) {
    w.put(0b00000010, 8); // VERBATIM
    for (let i = 0; i < n; i++) w.put((x[i] ?? 0) & 0xffff, 16);
    return;
  }
  w.put((0b001000 | order) << 1, 8); // FIXED, order
  for (let i = 0; i < order; i++) w.put((x[i] ?? 0) & 0xffff, 16);
  w.put(0b00, 2); // Rice, 4-bit parameters
  w.put(plan.order, 4);
  const per = n >> plan.order;
  let r = 0;
  for (let p = 0; p < plan.params.length; p++) {
    const k = plan.params[p] ?? 0;
    w.put(k, 4);
    r = w.riceRun(residual, r, (p + 1) * per - order, k);
  }
}

function isConstant(x: Int16Array): boolean {
  const x0 = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] !== x0) return false;
  return true;
}

/** Order 0–4 whose residual has the smallest absolute sum (libFLAC's heuristic); -1 for a constant block. */
function bestFixedOrder(x: Int16Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let a = x[3] ?? 0;
  let b = a - (x[2] ?? 0);
  let c = b - ((x[2] ?? 0) - (x[1] ?? 0));
  let d = c - ((x[2] ?? 0) - 2 * (x[1] ?? 0) + (x[0] ?? 0));
  for (let i = 4; i < x.length; i++) {
    const e0 = x[i] ?? 0;
    const e1 = e0 - a;
    const e2 = e1 - b;
    const e3 = e2 - c;
    const e4 = e3 - d;
    a = e0;
    b = e1;
    c = e2;
    d = e3;
    s0 += Math.abs(e0);
    s1 += Math.abs(e1);
    s2 += Math.abs(e2);
    s3 += Math.abs(e3);
    s4 += Math.abs(e4);
  }
  if (s1 === 0 && isConstant(x.subarray(0, 5))) return -1;
  let best = 0;
  let min = s0;
  if (s1 < min) [best, min] = [1, s1];
  if (s2 < min) [best, min] = [2, s2];
  if (s3 < min) [best, min] = [3, s3];
  if (s4 < min) best = 4;
  return best;
}

/** Residual of the fixed predictor of `order` for samples `order…n-1`, into `out[0…n-order-1]`. */
function fixedResidual(x: Int16Array, order: number, out: Int32Array): void {
  const n = x.length;
  // One loop per order: the hot path of the encoder, kept free of per-sample branches.
  if (order === 0) for (let i = 0; i < n; i++) out[i] = x[i] as number;
  else if (order === 1) for (let i = 1; i < n; i++) out[i - 1] = (x[i] as number) - (x[i - 1] as number);
  else if (order === 2) for (let i = 2; i < n; i++) out[i - 2] = (x[i] as number) - 2 * (x[i - 1] as number) + (x[i - 2] as number);
  else if (order === 3) {
    for (let i = 3; i < n; i++) out[i - 3] = (x[i] as number) - 3 * (x[i - 1] as number) + 3 * (x[i - 2] as number) - (x[i - 3] as number);
  } else {
    for (let i = 4; i < n; i++) {
      out[i - 4] = (x[i] as number) - 4 * (x[i - 1] as number) + 6 * (x[i - 2] as number) - 4 * (x[i - 3] as number) + (x[i - 4] as number);
    }
  }
}

// Scratch space of `planRice` (the encoder is synchronous, so one set per process is enough).
const PARTITIONS = 1 << MAX_PARTITION_ORDER;
const partSum = new Float64Array(PARTITIONS);
const partCount = new Int32Array(PARTITIONS);
const partParams = new Uint8Array(PARTITIONS);

/** Partition order and per-partition Rice parameters with the fewest (estimated) bits. */
function planRice(residual: Int32Array, count: number, n: number, order: number): { order: number; params: Uint8Array; bits: number } {
  let maxOrder = 0;
  while (maxOrder < MAX_PARTITION_ORDER && n % (1 << (maxOrder + 1)) === 0 && n >> (maxOrder + 1) > order) maxOrder++;
  // Sums of zigzagged residuals per partition at the finest order; coarser orders merge neighbours in place.
  let parts = 1 << maxOrder;
  const per = n >> maxOrder;
  let r = 0;
  for (let p = 0; p < parts; p++) {
    const stop = Math.min(count, (p + 1) * per - order);
    let sum = 0;
    const from = r;
    for (; r < stop; r++) {
      const v = residual[r] as number;
      sum += v < 0 ? -2 * v - 1 : 2 * v;
    }
    partSum[p] = sum;
    partCount[p] = r - from;
  }
  let bestOrder = 0;
  let bestBits = Number.POSITIVE_INFINITY;
  let bestParams = new Uint8Array(0);
  for (let po = maxOrder; po >= 0; po--) {
    let bits = 0;
    for (let p = 0; p < parts; p++) bits += 4 + riceCost(partSum[p] as number, partCount[p] as number, p);
    if (bits < bestBits) {
      bestBits = bits;
      bestOrder = po;
      bestParams = partParams.slice(0, parts);
    }
    parts >>= 1;
    for (let p = 0; p < parts; p++) {
      partSum[p] = (partSum[2 * p] as number) + (partSum[2 * p + 1] as number);
      partCount[p] = (partCount[2 * p] as number) + (partCount[2 * p + 1] as number);
    }
  }
  return { order: bestOrder, params: bestParams, bits: bestBits };
}

/**
 * Estimated bits of `count` values summing to `sum` with the best Rice parameter, which is stored in
 * `partParams[slot]`. A value costs k + 1 bits plus its quotient; quotients sum to about sum / 2^k.
 */
function riceCost(sum: number, count: number, slot: number): number {
  if (count === 0 || sum === 0) {
    partParams[slot] = 0;
    return count;
  }
  const mean = sum / count;
  const guess = mean < 1 ? 0 : 31 - Math.clz32(Math.min(mean, 2 ** 30) | 0);
  let bestK = 0;
  let best = Number.POSITIVE_INFINITY;
  for (let k = Math.max(0, guess - 1); k <= Math.min(MAX_RICE_PARAM, guess + 1); k++) {
    const cost = count * (k + 1) + Math.floor(sum / (1 << k));
    if (cost < best) {
      best = cost;
      bestK = k;
    }
  }
  partParams[slot] = bestK;
  return best;
}

function writeUtf8Number(w: BitWriter, v: number): void {
  if (v < 0x80) {
    w.put(v, 8);
    return;
  }
  const bytes: number[] = [];
  let rest = v;
  let lead = 0x80;
  let room = 0x3f; // payload bits the lead byte can hold shrink as continuation bytes are added
  while (rest > room) {
    bytes.unshift(0x80 | (rest & 0x3f));
    rest = Math.floor(rest / 64);
    lead = (lead >> 1) | 0x80;
    room >>= 1;
  }
  w.put((lead | rest) & 0xff, 8);
  for (const b of bytes) w.put(b, 8);
}

/** MSB-first bit writer over a preallocated buffer. */
class BitWriter {
  readonly buf: Uint8Array;
  pos = 0;
  acc = 0;
  bits = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  /** Write the low `n` (≤ 24) bits of `v`. */
  put(v: number, n: number): void {
    this.acc = (this.acc << n) | (v & ((1 << n) - 1));
    this.bits += n;
    while (this.bits >= 8) {
      this.bits -= 8;
      this.buf[this.pos++] = (this.acc >>> this.bits) & 0xff;
    }
    this.acc &= (1 << this.bits) - 1;
  }
  /**
   * Rice-code `residual[from…to-1]` (zigzagged) with parameter `k`: per value `u >> k` zeros, a one, the low `k`
   * bits. State is held in locals for speed; returns `to`.
   */
  riceRun(residual: Int32Array, from: number, to: number, k: number): number {
    const buf = this.buf;
    const mask = (1 << k) - 1;
    let acc = this.acc;
    let bits = this.bits;
    let pos = this.pos;
    for (let r = from; r < to; r++) {
      const v = residual[r] as number;
      const u = ((v << 1) ^ (v >> 31)) >>> 0;
      let q = u >>> k;
      while (q >= 16) {
        acc <<= 16;
        bits += 16;
        while (bits >= 8) {
          bits -= 8;
          buf[pos++] = (acc >>> bits) & 0xff;
        }
        acc &= (1 << bits) - 1;
        q -= 16;
      }
      // q ≤ 15 zeros, the stop bit, k ≤ 14 bits: at most 30 bits, after at most 7 pending ones → fits 32 bits
      // only when split in two writes of ≤ 24.
      const n1 = q + 1;
      acc = (acc << n1) | 1;
      bits += n1;
      while (bits >= 8) {
        bits -= 8;
        buf[pos++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
      if (k > 0) {
        acc = (acc << k) | (u & mask);
        bits += k;
        while (bits >= 8) {
          bits -= 8;
          buf[pos++] = (acc >>> bits) & 0xff;
        }
        acc &= (1 << bits) - 1;
      }
    }
    this.acc = acc;
    this.bits = bits;
    this.pos = pos;
    return to;
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.put(b[i] ?? 0, 8);
  }
  alignToByte(): void {
    if (this.bits > 0) this.put(0, 8 - this.bits);
  }
}

const CRC8 = crcTable(0x07, 8);
const CRC16 = crcTable(0x8005, 16);

function crcTable(poly: number, width: 8 | 16): Uint16Array {
  const top = 1 << (width - 1);
  const mask = (1 << width) - 1;
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << (width - 8);
    for (let j = 0; j < 8; j++) c = (c & top ? (c << 1) ^ poly : c << 1) & mask;
    table[i] = c;
  }
  return table;
}

function crc8(buf: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = CRC8[c ^ (buf[i] ?? 0)] ?? 0;
  return c;
}

function crc16(buf: Uint8Array, from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) c = ((c << 8) & 0xffff) ^ (CRC16[(c >> 8) ^ (buf[i] ?? 0)] ?? 0);
  return c;
}

// ---------------------------------------------------------------------------------------------- processes

interface RunResult {
  readonly code: number;
  /** The signal that ended the child (killed: OOM, timeout, operator), if any. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  /** Last stderr lines (bounded). */
  readonly tail: string[];
}

/**
 * Run a child to completion. Stderr is read line by line and only its last lines are kept, so a 10-hour decode
 * costs constant memory; stdout is collected unless `onStdoutLine` consumes it.
 */
function run(
  bin: string,
  args: readonly string[],
  hooks: { onStderrLine?: (line: string) => void; onStdoutLine?: (line: string) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    if (hooks.onStdoutLine !== undefined) createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', hooks.onStdoutLine);
    else child.stdout.on('data', (b: Buffer) => out.push(b));
    const tail = collectTail(child.stderr, hooks.onStderrLine);
    child.on('error', (err) => reject(new FfmpegUnusableError(`cannot run ${bin}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      void tail.then((lines) => resolve({ code: code ?? 1, signal, stdout: Buffer.concat(out), tail: lines }));
    });
  });
}

function collectTail(stream: NodeJS.ReadableStream, onLine?: (line: string) => void, keep = 8): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => {
    onLine?.(line);
    if (line.trim() === '') return;
    lines.push(line);
    if (lines.length > keep) lines.shift();
  });
  return new Promise((resolve) => rl.on('close', () => resolve(lines)));
}


/**
 * ffmpeg/ffprobe failures that say nothing about the input: the tool rejected its own command line, was killed,
 * or could not write (full disk, no memory, our output path). The input's faults (bad headers, invalid data,
 * unsupported codec) stay `PermanentError`s.
 */
const INFRASTRUCTURE_LINE = [
  /Unrecognized option|Option not found|Error splitting the argument list|Unknown encoder|No such filter/i,
  /No space left on device|Cannot allocate memory|Disk quota exceeded|Too many open files|Read-only file system/i,
  // Reading an http(s) input (the splitter's presigned S3 URL): the network or the store failed, not the file.
  /Server returned [45]\d\d|HTTP error [45]\d\d|Connection refused|Connection reset|Connection timed out|Failed to resolve hostname|Network is unreachable/i,
];

function throwIfInfrastructure(tool: 'ffmpeg' | 'ffprobe', res: RunResult, lines: readonly string[], ownOutput?: string): void {
  if (res.signal !== null) {
    throw new InfrastructureError(`${tool} was killed by ${res.signal} (out of memory or time?); this says nothing about the file, the message is retried`);
  }
  const line = lines.find((l) => INFRASTRUCTURE_LINE.some((re) => re.test(l)) || (ownOutput !== undefined && l.includes(ownOutput) && /\[(error|fatal|panic)\]|Permission denied|Could not|Cannot|No such file/i.test(l)));
  if (line !== undefined) {
    throw new InfrastructureError(`${tool} failed for a reason other than the file (${line.replace(/\[[^\]]*@ 0x[0-9a-f]+\]\s*/g, '').trim()}); the message is retried`);
  }
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
