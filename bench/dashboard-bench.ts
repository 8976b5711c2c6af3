/**
 * Dashboard viewer on a long transcript, in Debian's chromium (playwright-core):
 *
 *     node --import tsx bench/dashboard-bench.ts [--hours 3] [--words 30000] [--rounds 3]
 *
 * Seeds a finished 3-hour job (~30,000 words, 3 speakers, silent 3-hour mp3 source) into a fresh `voxpipe serve`
 * store, signs in, and per round opens the viewer in a new tab and measures:
 * - open: navigation start → first segments painted (`voxpipe:transcript-painted`, two animation frames after the
 *   first render), with its parts: the transcript request, data loaded (`voxpipe:transcript-loaded`), first render
 *   (`…-rendered`); and the wall time seen from node (adds the DevTools protocol round trips);
 * - scroll: 300 animation frames scrolling the list by 900 px a frame (top to ~bottom), frame times p50/p95/max
 *   and frames over 50 ms, and how many segment elements exist at the end (virtualization keeps it small);
 * - seek: click on the timeline at 90 % → the current segment highlighted and scrolled to.
 * Prints Markdown. Timings depend on machine load: nothing here is asserted.
 */
import { join } from 'node:path';
import { startApiServer } from '../cli/commands/serve-action.js';
import { loadConfig } from '../shared/config.js';
import { silentLogger } from '../test/e2e/local-harness.js';
import { scratchDir } from '../test/fixtures/audio.js';
import { launchChromium } from '../test/web/browser.js';
import { seedJob, silentMp3, syntheticTranscript } from './dashboard-fixture.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 ? Number(args[k + 1]) : dflt;
};
const hours = arg('hours', 3);
const words = arg('words', 30_000);
const rounds = arg('rounds', 3);

const workDir = await scratchDir('dashboard-bench');
const seconds = hours * 3600;
const jobId = 'bench0000000000000001';
const transcript = syntheticTranscript({ id: jobId, source: `uploads/${jobId}/long-meeting.mp3`, seconds, words, speakers: 3, seed: 3 });
const audio = await silentMp3(join(workDir, 'long-meeting.mp3'), seconds);
await seedJob(workDir, 'local', transcript, { fileName: 'long-meeting.mp3', sourceFile: audio });
const server = await startApiServer({ config: loadConfig(process.env, { VOXPIPE_WORK_DIR: workDir }), logger: silentLogger, port: 0 });
const browser = await launchChromium({ viewport: { width: 1280, height: 800 } });

/** Scripts run in the page, as source text (tsx would wrap functions in helpers the page does not have). */
const IN_PAGE = {
  twoFrames: 'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))',
  marks: `(() => {
    const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
    const tr = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/transcript'));
    return {
      loaded: at('voxpipe:transcript-loaded'),
      rendered: at('voxpipe:transcript-rendered'),
      painted: at('voxpipe:transcript-painted'),
      transcriptMs: tr ? tr.responseEnd - tr.startTime : NaN,
      transcriptKb: tr ? tr.encodedBodySize / 1024 : NaN,
      segs: document.querySelectorAll('#transcript .seg').length,
    };
  })()`,
  scroll: `(async () => {
    const list = document.getElementById('transcript');
    const frames = [];
    let last = performance.now();
    for (let k = 0; k < 300; k++) {
      list.scrollTop += 900;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    frames.sort((a, b) => a - b);
    const q = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))];
    return { p50: q(0.5), p95: q(0.95), max: frames.at(-1), slow: frames.filter((f) => f > 50).length, scrolledPx: list.scrollTop, endSegments: document.querySelectorAll('#transcript .seg').length };
  })()`,
  seek: `(async () => {
    const timeline = document.getElementById('timeline');
    const box = timeline.getBoundingClientRect();
    const start = performance.now();
    timeline.dispatchEvent(new MouseEvent('click', { clientX: box.left + box.width * 0.9, clientY: box.top + 4, bubbles: true }));
    while (!document.querySelector('#transcript .seg.current')) await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - start;
  })()`,
};

interface Round {
  openMs: number;
  wallMs: number;
  transcriptMs: number;
  transcriptKb: number;
  loadedMs: number;
  renderMs: number;
  domSegments: number;
  p50: number;
  p95: number;
  max: number;
  slow: number;
  scrolledPx: number;
  endSegments: number;
  seekMs: number;
}

try {
  const signIn = await browser.context.newPage();
  await signIn.goto(server.dashboardUrl);
  await signIn.waitForSelector('#dropzone');
  await signIn.close();
  const results: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const page = await browser.context.newPage();
    const t0 = Date.now();
    await page.goto(`${server.url}/#/jobs/${jobId}`);
    await page.waitForSelector('body[data-viewer-ready] #transcript .seg');
    await page.evaluate(IN_PAGE.twoFrames);
    const openMs = Date.now() - t0;
    await page.waitForFunction(() => performance.getEntriesByName('voxpipe:transcript-painted').length > 0);
    const marks = (await page.evaluate(IN_PAGE.marks)) as { loaded: number; rendered: number; painted: number; transcriptMs: number; transcriptKb: number; segs: number };
    const scroll = (await page.evaluate(IN_PAGE.scroll)) as Pick<Round, 'p50' | 'p95' | 'max' | 'slow' | 'scrolledPx' | 'endSegments'>;
    const seekMs = (await page.evaluate(IN_PAGE.seek)) as number;
    results.push({ openMs: marks.painted, wallMs: openMs, transcriptMs: marks.transcriptMs, transcriptKb: marks.transcriptKb, loadedMs: marks.loaded, renderMs: marks.rendered - marks.loaded, domSegments: marks.segs, ...scroll, seekMs });
    await page.close();
  }
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
  console.log(`\nViewer, ${hours} h transcript: ${transcript.segments.length} segments, ${transcript.words?.length} words (chromium ${browser.context.browser()?.version() ?? ''})\n`);
  console.log('| round | navigation → first segments painted (ms) | of which transcript fetch (ms, kB) | data loaded at (ms) | first render (ms) | wall, incl. CDP (ms) | segments in DOM | scroll p50 / p95 / max frame (ms) | frames > 50 ms | segments in DOM after scrolling | seek to 90 % (ms) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  results.forEach((r, k) => {
    console.log(`| ${k + 1} | ${fmt(r.openMs)} | ${fmt(r.transcriptMs)}, ${fmt(r.transcriptKb)} | ${fmt(r.loadedMs)} | ${fmt(r.renderMs)} | ${fmt(r.wallMs)} | ${r.domSegments} | ${r.p50.toFixed(1)} / ${r.p95.toFixed(1)} / ${r.max.toFixed(1)} | ${r.slow} / 300 | ${r.endSegments} | ${fmt(r.seekMs)} |`);
  });
} finally {
  await browser.close();
  await server.close();
}
