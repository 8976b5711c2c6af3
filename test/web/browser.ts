/**
 * Debian's chromium driven by playwright-core (no browser download): the executable from `VOXPIPE_CHROMIUM`
 * (or `CHROME_PATH`), else the first of `chromium`, `chromium-browser`, `google-chrome` on PATH. Each launch
 * gets a fresh profile directory, removed on close.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** Path of the chromium executable, or throws naming what was tried. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.VOXPIPE_CHROMIUM ?? env.CHROME_PATH;
  if (explicit) return explicit;
  const names = ['chromium', 'chromium-browser', 'google-chrome'];
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  throw new Error(`no chromium found: set VOXPIPE_CHROMIUM, or install Debian's chromium (tried ${names.join(', ')} on PATH)`);
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** A headless chromium with a fresh user data dir. */
export async function launchChromium(opts: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'voxpipe-chromium-'));
  // Playwright passes the profile as --user-data-dir itself (a persistent context is the way to choose it).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
