/**
 * The README screenshots of the dashboard, made in Debian's chromium from seeded jobs:
 *
 *     node --import tsx bench/dashboard-screenshots.ts     # writes docs/screenshots/{jobs,viewer,edit}.png
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startApiServer } from '../cli/commands/serve-action.js';
import { loadConfig } from '../shared/config.js';
import type { Transcript } from '../shared/core/types.js';
import { silentLogger } from '../test/e2e/local-harness.js';
import { scratchDir } from '../test/fixtures/audio.js';
import { launchChromium } from '../test/web/browser.js';
import { seedJob, silentMp3, syntheticTranscript } from './dashboard-fixture.js';

const OUT = join(import.meta.dirname, '..', 'docs', 'screenshots');
const workDir = await scratchDir('dashboard-shots');
const now = Date.now();
const minutes = (m: number) => new Date(now - m * 60_000);

const FR = [
  'Bonjour à tous, merci de participer à la revue trimestrielle.',
  'Avant de commencer, tout le monde voit-il les diapositives ?',
  'Oui, la diapositive du budget est affichée. Nous avons clôturé le trimestre huit pour cent sous le plan.',
  'C’est surtout grâce au passage du pipeline à la transcription par lots.',
  'Et la latence ? Les clients ont posé la question le mois dernier.',
  'Le délai médian est maintenant de quatre minutes pour une heure d’audio.',
  'Merci merci merci merci merci.',
  'Parfait. Point suivant : la date de lancement du nouveau tableau de bord.',
];

const talk: Transcript = (() => {
  const base = syntheticTranscript({ id: 'a1b2c3d4e5f6a7b8c9d0', source: 'uploads/a1b2c3d4e5f6a7b8c9d0/board-meeting.mp3', seconds: 1800, words: 4200, speakers: 3, seed: 11 });
  const lines = [
    'Good morning everyone, thanks for joining the quarterly review.',
    'Before we start, can everyone see the shared slides?',
    'Yes, the budget slide is up. We closed the quarter eight percent under plan.',
    'That is mostly the data pipeline moving to batch transcription.',
    'And the latency numbers? Customers asked about turnaround last month.',
    'Median turnaround is now four minutes for an hour of audio.',
    'Thank you thank you thank you thank you thank you.',
    'Great. Next item: the product launch date for the new dashboard.',
  ];
  const segments = base.segments.map((s, k) => (k < lines.length ? { ...s, text: lines[k] as string, ...(k === 6 ? { suspect: true, suspectReason: 'repeated phrase' } : {}) } : s));
  return {
    ...base,
    segments,
    words: base.words?.filter((w) => w.start >= (segments[lines.length]?.start ?? 0)),
    warnings: ['chunk 3 (10:00–15:00): the provider returned no segment timestamps; timing from the cut plan'],
    translations: {
      fr: {
        status: 'ok',
        text: '',
        segments: segments.map((s, k) => ({ id: s.id, start: s.start, end: s.end, text: k < lines.length ? (FR[k] as string) : `[fr] ${s.text}` })),
      },
    },
    summary: { status: 'ok', text: 'Quarterly review: spending closed 8 % under plan thanks to batch transcription; median turnaround is four minutes per audio hour; the dashboard launch date is the next decision.' },
    extraction: { status: 'ok', data: { decisions: ['Keep batch transcription'], actionItems: [{ owner: 'SPEAKER_1', task: 'Propose launch date' }] } },
    answer: { status: 'ok', text: 'Yes: the budget closed eight percent under plan.', mode: 'transcript' },
  } as Transcript;
})();

await seedJob(workDir, 'local', talk, { fileName: 'board-meeting.mp3', sourceFile: await silentMp3(join(workDir, 'board.mp3'), 1800), createdAt: minutes(50) });
await seedJob(workDir, 'local', syntheticTranscript({ id: 'b2c3d4e5f6a7b8c9d0e1', source: '', seconds: 3600, words: 100 }), {
  fileName: 'customer-call-2026-11-30.m4a',
  createdAt: minutes(3),
  state: 'transcribing',
  chunks: { done: 4, total: 6 },
});
await seedJob(workDir, 'local', syntheticTranscript({ id: 'c3d4e5f6a7b8c9d0e1f2', source: '', seconds: 60, words: 10 }), {
  fileName: 'voicemail.amr',
  createdAt: minutes(20),
  state: 'failed',
  reason: 'uploads/c3d4e5f6a7b8c9d0e1f2/voicemail.amr: not an audio file ffmpeg can read (Invalid data found when processing input)',
});
await seedJob(workDir, 'local', syntheticTranscript({ id: 'd4e5f6a7b8c9d0e1f2a3', source: 'uploads/d4e5f6a7b8c9d0e1f2a3/interview.wav', seconds: 2460, words: 5000, seed: 4 }), {
  fileName: 'interview.wav',
  createdAt: minutes(240),
});

const server = await startApiServer({ config: loadConfig(process.env, { VOXPIPE_WORK_DIR: workDir }), logger: silentLogger, port: 0 });
const browser = await launchChromium({ viewport: { width: 1280, height: 760 } });
try {
  await mkdir(OUT, { recursive: true });
  const page = await browser.context.newPage();
  await page.goto(server.dashboardUrl);
  await page.waitForSelector('tr[data-job]');
  await page.screenshot({ path: join(OUT, 'jobs.png') });

  await page.goto(`${server.url}/#/jobs/${talk.id}`);
  await page.waitForSelector('body[data-viewer-ready] #transcript .seg');
  await page.selectOption('#translation', 'fr');
  await page.fill('#search', 'budget');
  await page.locator('#transcript .seg').nth(2).click({ position: { x: 2, y: 4 } });
  await page.waitForSelector('#transcript .seg.current');
  await page.screenshot({ path: join(OUT, 'viewer.png') });

  await page.fill('#search', '');
  await page.selectOption('#translation', '');
  await page.locator('#transcript .seg').nth(5).click({ position: { x: 2, y: 4 } });
  await page.keyboard.press('e');
  await page.waitForSelector('#transcript .editor textarea');
  await page.locator('#transcript .editor textarea').fill('Median turnaround is now four minutes for one hour of audio.');
  await page.screenshot({ path: join(OUT, 'edit.png') });
  console.log(`wrote ${OUT}/{jobs,viewer,edit}.png`);
} finally {
  await browser.close();
  await server.close();
}
