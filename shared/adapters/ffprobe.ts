/**
 * What ffprobe says about an input, parsed. Pure: ffprobe's JSON text in, the audio stream's facts out (or a
 * `PermanentError` naming the file when it is not audio). Running ffprobe is `ffmpeg-audio.ts`'s job.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors.js';

/** The ffprobe options whose output `parseFfprobe` reads (followed by the input arguments). */
export const FFPROBE_ARGS: readonly string[] = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'];

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

/** The first audio stream of an input, as ffprobe describes it. */
export interface FfprobeAudio {
  readonly formatName: string;
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
  /**
   * The audio stream's duration, else the container's (a video track can make the container longer than the
   * audio); undefined when neither is known (e.g. a streamed webm: measure it by decoding).
   */
  readonly durationSeconds: number | undefined;
}

/**
 * Parse `ffprobe FFPROBE_ARGS -i <input>` stdout. `name` is how the input is named in messages.
 * Throws `PermanentError` for output without usable stream information, without an audio stream, or with an
 * audio stream that has no sample rate or channels.
 */
export function parseFfprobe(stdout: string, name: string): FfprobeAudio {
  const parsed = FfprobeOutput.safeParse(safeJson(stdout));
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
  return {
    formatName: format?.format_name ?? 'unknown',
    codec: audio.codec_name ?? 'unknown',
    sampleRate,
    channels,
    durationSeconds: positive(audio.duration) ?? positive(format?.duration),
  };
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
