/**
 * Offline `Transcriber` on CMU PocketSphinx (`pocketsphinx_continuous`, Debian package `pocketsphinx`):
 * transcribes real English speech with no account and no network. Slow-ish (about 4× faster than real time)
 * and far less accurate than a hosted model, but it returns word timestamps.
 *
 * Per chunk: ffmpeg decodes the FLAC to a 16 kHz mono WAV in a temp dir, `pocketsphinx_continuous -infile x.wav
 * -time yes` prints per utterance a hypothesis line and `word start end confidence` lines (times from the start
 * of the file), which are parsed here.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError } from '../core/errors.js';
import type { ChunkTranscript, Segment, Word } from '../core/types.js';
import { findOnPath, resolveFfmpegBinaries } from '../adapters/ffmpeg-binaries.js';
import { runProcess } from '../adapters/process-runner.js';
import type { TranscribeRequest, Transcriber, TranscriberCapabilities } from '../ports.js';

export interface PocketsphinxOptions {
  /** `pocketsphinx_continuous` executable (`VOXPIPE_POCKETSPHINX`). @default found in `searchPath` */
  readonly binary?: string;
  /**
   * Model directory holding `en-us/` (acoustic model), `en-us.lm.bin` and `cmudict-en-us.dict`.
   * @default /usr/share/pocketsphinx/model/en-us (Debian package `pocketsphinx-en-us`)
   */
  readonly modelDir?: string;
  /** ffmpeg used to decode the FLAC chunk (`VOXPIPE_FFMPEG`). @default looked up like the audio tools do */
  readonly ffmpegPath?: string;
  /** Directories searched for the executables, in `PATH` format (the runtime's `PATH`). */
  readonly searchPath?: string;
  /** Scratch directory for the decoded WAV (`TMPDIR`). @default the OS temp directory */
  readonly tmpDir?: string;
}

const INSTALL = 'apt-get install -y pocketsphinx pocketsphinx-en-us';
const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
/** Words further apart than this start a new segment. */
const SEGMENT_GAP_SECONDS = 0.5;

/** PocketSphinx as a transcriber: provider `offline`, model `pocketsphinx-en-us`, English only. */
export function createPocketsphinxTranscriber(opts: PocketsphinxOptions = {}): Transcriber {
  const capabilities: TranscriberCapabilities = {
    timestamps: true,
    words: true,
    maxUploadBytes: 1024 * 1024 * 1024,
    maxAudioSeconds: 300,
    translate: false,
  };
  let ready: Promise<{ binary: string; ffmpeg: string; modelArgs: string[] }> | undefined;
  const setup = () => {
    ready ??= locate(opts);
    return ready;
  };

  return {
    provider: 'offline',
    model: 'pocketsphinx-en-us',
    capabilities,

    async transcribe(req: TranscribeRequest, signal: AbortSignal): Promise<ChunkTranscript> {
      signal.throwIfAborted();
      const { binary, ffmpeg, modelArgs } = await setup();
      const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'voxpipe-sphinx-'));
      try {
        const wav = join(dir, 'chunk.wav');
        const decoded = await runChild(
          ffmpeg,
          ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 'wav', '-y', wav],
          signal,
          req.audio,
        );
        if (decoded.code !== 0) {
          throw new PermanentError(`${req.label}: cannot decode chunk audio for pocketsphinx (ffmpeg: ${decoded.tail.join(' | ')})`);
        }
        const words: Word[] = [];
        const res = await runChild(binary, ['-infile', wav, '-time', 'yes', ...modelArgs], signal, undefined, (line) => {
          const w = parseWordLine(line);
          if (w !== undefined) words.push(w);
        });
        if (res.code !== 0) {
          // A local decoder failing on a valid 16 kHz WAV does so again on retry.
          throw new PermanentError(`${req.label}: pocketsphinx failed (exit ${res.code}: ${res.tail.slice(-2).join(' | ')})`);
        }
        words.sort((a, b) => a.start - b.start);
        return {
          text: words.map((w) => w.word).join(' '),
          language: 'en',
          segments: toSegments(words),
          words,
          provider: 'offline',
          model: 'pocketsphinx-en-us',
          usage: { audioSeconds: req.durationSeconds, costUsd: 0 },
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

async function locate(opts: PocketsphinxOptions): Promise<{ binary: string; ffmpeg: string; modelArgs: string[] }> {
  const explicit = opts.binary || undefined;
  const binary = explicit ?? findOnPath('pocketsphinx_continuous', opts.searchPath);
  if (binary === undefined || !existsSync(binary)) {
    throw new PermanentError(`pocketsphinx_continuous not found${explicit ? ` at ${explicit}` : ' on PATH'}; install it: ${INSTALL} (or set VOXPIPE_POCKETSPHINX)`);
  }
  const modelDir = opts.modelDir ?? DEFAULT_MODEL_DIR;
  const hmm = join(modelDir, 'en-us');
  const lm = join(modelDir, 'en-us.lm.bin');
  const dict = join(modelDir, 'cmudict-en-us.dict');
  const missing = [hmm, lm, dict].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new PermanentError(`pocketsphinx English model missing (${missing.join(', ')}); install it: ${INSTALL}`);
  }
  const { ffmpeg } = await resolveFfmpegBinaries({ ffmpegPath: opts.ffmpegPath, searchPath: opts.searchPath });
  return { binary, ffmpeg, modelArgs: ['-hmm', hmm, '-lm', lm, '-dict', dict] };
}

const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/i;

/**
 * One `word start end confidence` line → a word, or `undefined` for hypothesis lines and fillers
 * (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `++UH++`). `(2)` alternate-pronunciation suffixes are dropped.
 */
export function parseWordLine(line: string): Word | undefined {
  const m = WORD_LINE.exec(line.trim());
  if (m === null) return undefined;
  const [, raw = '', start = '0', end = '0'] = m;
  if (/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(raw)) return undefined;
  const word = raw.replace(/\(\d+\)$/, '');
  if (word === '') return undefined;
  return { word, start: Number(start), end: Number(end) };
}

function toSegments(words: readonly Word[]): Segment[] {
  const segments: Segment[] = [];
  let current: Word[] = [];
  const flush = () => {
    const first = current[0];
    const last = current.at(-1);
    if (first !== undefined && last !== undefined) {
      segments.push({ start: first.start, end: last.end, text: current.map((w) => w.word).join(' ') });
    }
    current = [];
  };
  for (const w of words) {
    const prev = current.at(-1);
    if (prev !== undefined && w.start - prev.end > SEGMENT_GAP_SECONDS) flush();
    current.push(w);
  }
  flush();
  return segments;
}

/** Run a child through the shared runner; kill it when `signal` aborts. Stdout goes line by line to `onLine`. */
function runChild(
  bin: string,
  args: readonly string[],
  signal: AbortSignal,
  stdin?: Uint8Array,
  onLine?: (line: string) => void,
): Promise<{ code: number; tail: string[] }> {
  return runProcess(bin, args, {
    signal,
    stdin,
    onStdoutLine: onLine ?? (() => undefined),
    tailLines: 5,
    tailFilter: (l) => !l.startsWith('INFO:'),
    spawnError: (err) => new PermanentError(`cannot run ${bin}: ${err.message}; install it: ${INSTALL}`, { cause: err }),
  });
}
