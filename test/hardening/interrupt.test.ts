/**
 * Issue 11 (Low): SIGINT used to end `voxpipe transcribe` / `voxpipe watch` without a summary, leaving their
 * ffmpeg and pocketsphinx children running as orphans. The shipped CLI on real speech (offline provider, so a
 * pocketsphinx child runs for seconds): once a child is seen in /proc, SIGINT goes to the CLI process alone (as
 * `kill -INT` or a supervisor sends it, not a terminal's whole process group); the CLI must print a summary, exit
 * 130, and leave no child alive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ffmpeg, scratchDir } from '../fixtures/audio.js';
import { librivoxAvailable, librivoxSpeech } from '../fixtures/noisy-speech.js';

const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');

/** Live descendants of `pid` with their command names, read from /proc (zombies count as gone). */
function descendants(pid: number): { pid: number; comm: string }[] {
  const procs = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state === 'Z' ? [] : [{ pid: Number(e), ppid: Number(ppid), comm: readFileSync(`/proc/${e}/comm`, 'utf8').trim() }];
      } catch {
        return [];
      }
    });
  const out: { pid: number; comm: string }[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of procs.filter((x) => x.ppid === parent)) {
      out.push({ pid: p.pid, comm: p.comm });
      queue.push(p.pid);
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
};

const until = async (what: string, check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe.runIf(librivoxAvailable())('SIGINT: a summary, exit 130, no orphaned ffmpeg/pocketsphinx', () => {
  let speech: string;
  let dir: string;
  const leftovers: number[] = [];
  beforeAll(async () => {
    dir = await scratchDir('interrupt');
    // About 4 minutes of real speech: pocketsphinx works on each 120-s chunk for several seconds.
    const { path } = await librivoxSpeech();
    speech = join(dir, 'long talk.wav');
    await ffmpeg(['-stream_loop', '3', '-i', path, '-ac', '1', '-ar', '16000', '-y', speech]);
  }, 120_000);
  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  /** Start the CLI, wait for a pocketsphinx or ffmpeg child, SIGINT the CLI alone, collect what happened. */
  const interruptRun = async (args: string[]) => {
    const cli: ChildProcess = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TMPDIR: process.env.TMPDIR ?? '/tmp', VOXPIPE_PROVIDER: 'offline' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    cli.stdout!.on('data', (d) => (stdout += d));
    cli.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => cli.once('exit', (code, signal) => resolve({ code, signal })));
    let seen: { pid: number; comm: string }[] = [];
    let ended = false;
    void exited.then(() => (ended = true));
    await until(
      'a pocketsphinx child',
      () => {
        if (ended) throw new Error(`the CLI ended before a pocketsphinx child was seen: ${stdout}${stderr}`);
        seen = descendants(cli.pid!);
        return seen.some((p) => p.comm.startsWith('pocketsphinx'));
      },
      120_000,
    );
    leftovers.push(...seen.map((p) => p.pid));
    cli.kill('SIGINT');
    const exit = await exited;
    // No grace period: a child still running once the CLI has exited is an orphan.
    const survivors = seen.filter((p) => alive(p.pid));
    return { exit, stdout, stderr, children: seen, survivors };
  };

  it('voxpipe transcribe', async () => {
    const out = join(dir, 'out');
    const r = await interruptRun(['transcribe', speech, '--out', out, '--work-dir', join(dir, 'work-t'), '--no-progress']);
    expect(r.children.some((c) => c.comm.startsWith('pocketsphinx'))).toBe(true);
    expect(r.survivors, `orphaned: ${JSON.stringify(r.survivors)}`).toEqual([]);
    expect(r.exit, r.stdout + r.stderr).toEqual({ code: 130, signal: null });
    expect(r.stdout).toMatch(/interrupted \(SIGINT\); stopped \d+ child process/);
    expect(r.stdout).toContain(`1 file: 0 completed, 0 failed, 1 interrupted · results in ${out}`);
    expect(r.stdout).toContain('run the same command again to resume');
  }, 180_000);

  it('voxpipe watch --once', async () => {
    const root = join(dir, 'watch');
    await mkdir(join(root, 'drop', 'meetings'), { recursive: true });
    await writeFile(join(root, 'profiles.yaml'), 'version: 1\nprofiles:\n  meetings:\n    formats: [json]\n');
    await copyFile(speech, join(root, 'drop', 'meetings', 'long talk.wav'));
    const r = await interruptRun(['watch', join(root, 'drop'), '--once', '--profiles', join(root, 'profiles.yaml'), '--out', join(root, 'out'), '--work-dir', join(root, 'work'), '--stable-ms', '100']);
    expect(r.survivors, `orphaned: ${JSON.stringify(r.survivors)}`).toEqual([]);
    expect(r.exit, r.stdout + r.stderr).toEqual({ code: 130, signal: null });
    expect(r.stdout).toContain(`1 file: 0 completed, 0 duplicates, 0 failed, 1 interrupted (left in ${join(root, 'drop')}: resumed on the next start) · results in ${join(root, 'out')}`);
    // the interrupted drop stays in the inbox, to resume on the next start
    expect(existsSync(join(root, 'drop', 'meetings', 'long talk.wav'))).toBe(true);
  }, 180_000);

  it('voxpipe watch (watching)', async () => {
    const root = join(dir, 'watching');
    await mkdir(join(root, 'drop', 'meetings'), { recursive: true });
    await writeFile(join(root, 'profiles.yaml'), 'version: 1\nprofiles:\n  meetings:\n    formats: [json]\n');
    await copyFile(speech, join(root, 'drop', 'meetings', 'long talk.wav'));
    const args = ['watch', join(root, 'drop'), '--profiles', join(root, 'profiles.yaml'), '--out', join(root, 'out'), '--work-dir', join(root, 'work')];
    const r = await interruptRun([...args, '--stable-ms', '100', '--interval-ms', '100']);
    expect(r.survivors, `orphaned: ${JSON.stringify(r.survivors)}`).toEqual([]);
    expect(r.exit, r.stdout + r.stderr).toEqual({ code: 130, signal: null });
    expect(r.stdout).toMatch(/1 file: 0 completed, 0 duplicates, 0 failed, 1 interrupted/);
    expect(existsSync(join(root, 'drop', 'meetings', 'long talk.wav'))).toBe(true);
  }, 180_000);
});
