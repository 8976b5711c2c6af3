#!/usr/bin/env node
// The CLI ships compiled: `npm ci` / `npm install` build dist/cli/ (the `prepare` script runs bin/build-cli.mjs),
// so a start does not compile TypeScript. Without a build (a checkout before `npm ci`, or dist/ removed) it runs
// the sources through tsx instead: slower to start, same behaviour.
import { existsSync } from 'node:fs';

// Everything voxpipe and its children (ffmpeg, pocketsphinx) create is the user's alone: files 0600, folders
// 0700 (audio, transcripts, logs, job state). The store and the log also set their modes explicitly.
process.umask(0o077);

const built = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (existsSync(built)) {
  ({ main } = await import(built.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
await main(process.argv);
