/** `voxpipe serve` as a child process for the dashboard tests, resolved with its `Dashboard:` sign-in line. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');

export interface Served {
  readonly url: string;
  /** The one-time sign-in URL, exactly as printed after `Dashboard: `. */
  readonly dashboardUrl: string;
  readonly stdout: string;
  stop(): Promise<void>;
}

export async function serveDashboard(workDir: string, env: Record<string, string> = {}): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--work-dir', workDir], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TMPDIR: process.env.TMPDIR ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let out = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const { url, dashboardUrl } = await new Promise<{ url: string; dashboardUrl: string }>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const api = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      const dash = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\S*)$/m.exec(out);
      if (api && dash) resolve({ url: api[1] as string, dashboardUrl: dash[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`voxpipe serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    dashboardUrl,
    get stdout() {
      return out;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
