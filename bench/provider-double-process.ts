/**
 * Runs a provider double in its own process, so that in benchmarks its CPU (multipart parsing, spec
 * validation) does not compete with the pipeline's event loop, as a remote provider would not.
 * Prints the base URL on stdout, then serves until killed.
 *
 *   node --import tsx bench/provider-double-process.ts <vendor> <fixed-ms> <ms-per-audio-second>
 */
import { recognizeByDuration } from '../test/doubles/fake-recognizer.js';
import { headerOnlyFlac } from '../test/doubles/flac.js';
import { startProviderDouble, type Vendor } from '../test/doubles/provider-server.js';

const [vendor = 'openai-compatible', fixed = '300', perSecond = '20'] = process.argv.slice(2);
const double = await startProviderDouble({
  vendor: vendor as Vendor,
  recognize: recognizeByDuration,
  latencyMs: (seconds) => Number(fixed) + Number(perSecond) * seconds,
  apiKey: 'k',
});
// Warm up (the OpenAPI validator compiles the vendor spec on first use): a real provider is already warm.
const form = new FormData();
form.append('model', 'whisper-1');
form.append('file', new Blob([headerOnlyFlac(1)], { type: 'audio/flac' }), 'warm.flac');
await fetch(`${double.url}/audio/transcriptions`, { method: 'POST', body: form, headers: { authorization: 'Bearer k' } });
process.stdout.write(`${double.url}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`calls=${double.calls - 1} maxConcurrent=${double.maxConcurrent}\n`);
  void double.close().then(() => process.exit(0));
});
