/**
 * `voxpipe transcribe <files...>`: transcribe local files through the embedded pipeline
 * (cli/local-pipeline.ts) and write `<out>/<name>.<ext>` per input.
 *
 * This file holds the command's definition only (arguments, options, help), built from pure data. The action
 * and everything it needs (config schema, pipeline, SDKs) live in ./transcribe-action.ts, imported when the command
 * runs: `voxpipe --help` and usage errors never load them (test/unit/cli-startup-graph.test.ts guards it).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { PROVIDERS, providersWith } from '../../shared/core/provider-catalog.js';
import { ENV_HELP } from '../env-help.js';
import { ALL_FORMATS, parseFormats } from '../format-option.js';
import type { TranscribeFlags } from './transcribe-action.js';

const FORMATS = ALL_FORMATS;

/** Add `voxpipe transcribe` to the program. */
export function registerTranscribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('Transcribe audio or video files (anything ffmpeg reads, any length)')
    .argument('<files...>', 'input files')
    .option('-o, --out <dir>', 'output directory', 'results')
    .addOption(new Option('--provider <name>', 'speech-to-text provider (VOXPIPE_PROVIDER)').choices(PROVIDERS))
    .option('--model <id>', 'model id (VOXPIPE_MODEL)')
    .option('--base-url <url>', 'provider API root (VOXPIPE_BASE_URL)')
    .option('--language <code>', 'ISO 639-1 language of the audio (VOXPIPE_LANGUAGE)')
    .option('--concurrency <n>', 'parallel provider calls (VOXPIPE_CONCURRENCY)')
    .option('--chunk-seconds <s>', 'target chunk length in seconds (VOXPIPE_CHUNK_SECONDS)')
    .addOption(new Option('--timestamps <mode>', 'timing source (VOXPIPE_TIMESTAMPS)').choices(['auto', 'provider', 'cut-plan']))
    .option('--format <list>', `output formats, comma separated: ${FORMATS.join(',')}`, parseFormats, [...FORMATS])
    .option('--words', 'ask the provider for word timestamps too', false)
    .option('--diarize', `ask the provider for speaker labels (${providersWith('diarization').join(', ')})`, false)
    .option('--vocabulary <terms>', `words and phrases to bias recognition towards, comma separated (${providersWith('contextBias').join(', ')}: context_bias; VOXPIPE_VOCABULARY)`)
    .option('--force', 'start a new job even if this file was transcribed before with the same options', false)
    .option('--work-dir <dir>', 'job store and scratch space (VOXPIPE_WORK_DIR)')
    .option('--translate <langs>', 'also translate the transcript, segment by segment: ISO 639-1 codes, comma separated (e.g. fr,de)', parseLanguages)
    .option('--translate-speech', `also translate the speech into English with the provider's native speech translation, <name>.en.srt/.vtt/.txt (${providersWith('speechTranslation').join(', ')}; VOXPIPE_TRANSLATE_SPEECH)`)
    .option('--summary', 'also write a summary (<name>.summary.md)', false)
    .option('--summary-prompt <text>', 'instruction for the summary (implies --summary)')
    .option('--extract <schema.json>', 'also extract JSON matching this JSON Schema (<name>.extract.json)')
    .option('--ask <question>', 'also answer a question about the audio (in <name>.json, "answer")')
    .option('--webhook <url>', 'POST signed job events to this URL (VOXPIPE_WEBHOOK_URL)')
    .option('--webhook-secret <whsec>', 'Standard Webhooks signing secret, whsec_… (visible in ps: prefer VOXPIPE_WEBHOOK_SECRET or --webhook-secret-file)')
    .option('--webhook-secret-file <path>', 'read the webhook signing secret from this file (VOXPIPE_WEBHOOK_SECRET_FILE)')
    .option('--no-progress', 'no progress bars')
    .option('--verbose', 'debug logging to <work-dir>/voxpipe.log', false)
    .addHelpText('after', ENV_HELP)
    .action(async (files: string[], flags: TranscribeFlags) => {
      const { transcribeCommand } = await import('./transcribe-action.js');
      await transcribeCommand(files, flags);
    });
}

function parseLanguages(value: string): string[] {
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((l) => !/^[a-z]{2}$/.test(l));
  if (bad.length || list.length === 0) throw new InvalidArgumentError(`not ISO 639-1 codes: ${bad.join(',') || '(none)'}; e.g. fr,de`);
  return [...new Set(list)];
}
