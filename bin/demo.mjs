#!/usr/bin/env node
// `npm run demo`: transcribe a real recorded speech sample with the embedded default (offline pocketsphinx).
// Installs the Debian packages it needs when run as root; otherwise prints the exact command.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGES = ['ffmpeg', 'pocketsphinx', 'pocketsphinx-en-us', 'pocketsphinx-testdata'];
const SAMPLES = '/usr/share/pocketsphinx/test/data/librivox';
const MODEL = '/usr/share/pocketsphinx/model/en-us/en-us';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensurePackages() {
  if (has('ffmpeg') && has('pocketsphinx_continuous') && existsSync(MODEL) && existsSync(SAMPLES)) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`;
  if (process.getuid?.() !== 0 || !has('apt-get')) {
    console.error(`voxpipe demo needs ffmpeg and pocketsphinx. Install them with:\n  sudo sh -c '${cmd}'`);
    process.exit(1);
  }
  console.error(`installing ${PACKAGES.join(', ')} …`);
  execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

ensurePackages();
// Real recorded speech (LibriVox, "Sense and Sensibility"), joined with pauses into one file.
const work = join(process.cwd(), '.tmp', 'demo');
mkdirSync(work, { recursive: true });
const sample = join(work, 'sense-and-sensibility.mp3');
const clips = readdirSync(SAMPLES).filter((f) => f.endsWith('.wav')).sort().map((f) => join(SAMPLES, f));
const inputs = clips.flatMap((c) => ['-i', c]);
const chain = clips.map((_, i) => `[${i}:a]apad=pad_dur=1.2[a${i}]`).join(';');
const concat = `${clips.map((_, i) => `[a${i}]`).join('')}concat=n=${clips.length}:v=0:a=1[out]`;
execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', `${chain};${concat}`, '-map', '[out]', '-ac', '1', '-b:a', '64k', sample]);

const out = join('results', 'demo');
const run = spawnSync(process.execPath, [join(import.meta.dirname, 'voxpipe.mjs'), 'transcribe', sample, '--out', out, '--provider', 'offline', '--chunk-seconds', '20', '--work-dir', join(work, 'store')], {
  stdio: 'inherit',
});
if (run.status !== 0) process.exit(run.status ?? 1);
console.log(`\nTranscript (${join(out, 'sense-and-sensibility.txt')}):\n`);
console.log(readFileSync(join(out, 'sense-and-sensibility.txt'), 'utf8'));
console.log(`Subtitles: ${join(out, 'sense-and-sensibility.srt')}, .vtt; full result: .json`);
