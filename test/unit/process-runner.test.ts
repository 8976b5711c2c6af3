/**
 * The shared process runner on real child processes: Node scripts (`process.execPath -e …`) for the mechanics
 * and real ffmpeg for the infrastructure-vs-input classification.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess, throwIfInfrastructure } from '../../shared/adapters/process-runner.js';
import { InfrastructureError } from '../../shared/core/errors.js';
import { scratchDir } from '../fixtures/audio.js';

const node = (script: string) => [process.execPath, ['-e', script]] as const;

describe('runProcess', () => {
  it('collects stdout, resolves with the exit code and keeps only the last non-blank stderr lines', async () => {
    const [bin, args] = node('for (let i = 1; i <= 20; i++) console.error("line " + i); console.error(""); process.stdout.write("out"); process.exit(3)');
    const res = await runProcess(bin, args, { tailLines: 3 });
    expect(res).toMatchObject({ code: 3, signal: null, timedOut: false, tail: ['line 18', 'line 19', 'line 20'] });
    expect(res.stdout.toString()).toBe('out');
  });

  it('hands every stdout and stderr line to the callbacks (a last line without newline too), and filters the tail', async () => {
    const [bin, args] = node('console.log("a"); process.stdout.write("b"); console.error("INFO: chatter"); console.error("real problem")');
    const out: string[] = [];
    const err: string[] = [];
    const res = await runProcess(bin, args, { onStdoutLine: (l) => out.push(l), onStderrLine: (l) => err.push(l), tailFilter: (l) => !l.startsWith('INFO:') });
    expect(out).toEqual(['a', 'b']);
    expect(err).toEqual(['INFO: chatter', 'real problem']);
    expect(res.tail).toEqual(['real problem']);
    expect(res.stdout.length).toBe(0);
  });

  it('writes stdin and closes it; without stdin the child reads EOF at once', async () => {
    const [bin, args] = node('let n = 0; process.stdin.on("data", (b) => (n += b.length)); process.stdin.on("end", () => console.log(n))');
    expect((await runProcess(bin, args, { stdin: new Uint8Array(100_000) })).stdout.toString().trim()).toBe('100000');
    expect((await runProcess(bin, args)).stdout.toString().trim()).toBe('0');
  });

  it('kills a child past its timeout; the result says so and counts as an infrastructure fault', async () => {
    const [bin, args] = node('setInterval(() => {}, 1000)');
    const res = await runProcess(bin, args, { timeoutMs: 300 });
    expect(res).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(() => throwIfInfrastructure('ffmpeg', res, res.tail)).toThrow(InfrastructureError);
    expect(() => throwIfInfrastructure('ffmpeg', res, res.tail)).toThrow(/ffmpeg did not finish within 0.3 s.*says nothing about the file/);
  });

  it('kills the child when the signal aborts, and rejects with the abort reason', async () => {
    const [bin, args] = node('console.log("started"); setInterval(() => {}, 1000)');
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    const run = runProcess(bin, args, { signal: ac.signal, onStdoutLine: (l) => l === 'started' && ac.abort(reason) });
    await expect(run).rejects.toBe(reason);
    await expect(runProcess(bin, args, { signal: ac.signal })).rejects.toBe(reason); // already aborted: not started
  });

  it('a binary that cannot start rejects with an InfrastructureError, or the caller’s error', async () => {
    await expect(runProcess('/nonexistent/ffmpeg', [])).rejects.toThrow(InfrastructureError);
    await expect(runProcess('/nonexistent/ffmpeg', [])).rejects.toThrow(/cannot run \/nonexistent\/ffmpeg: .*ENOENT/);
    await expect(runProcess('/nonexistent/tool', [], { spawnError: (e, bin) => new RangeError(`${bin}: ${e.message}`) })).rejects.toThrow(RangeError);
  });
});

describe('throwIfInfrastructure on real ffmpeg failures', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir('process-runner');
  });
  const ffmpeg = (args: string[]) => runProcess('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'level+error', ...args]);

  it('a corrupt input is the input’s fault: no InfrastructureError, the caller reports the file', async () => {
    const bad = join(dir, 'corrupt.mp3');
    await writeFile(bad, Buffer.alloc(4096, 0x5a));
    const res = await ffmpeg(['-i', bad, '-f', 'null', '-']);
    expect(res.code).not.toBe(0);
    expect(() => throwIfInfrastructure('ffmpeg', res, res.tail)).not.toThrow();
  });

  it('an option ffmpeg does not know is ours: InfrastructureError', async () => {
    const res = await ffmpeg(['-no-such-option', '1', '-f', 'lavfi', '-i', 'anullsrc', '-t', '0.1', '-f', 'null', '-']);
    expect(res.code).not.toBe(0);
    expect(() => throwIfInfrastructure('ffmpeg', res, res.tail)).toThrow(/ffmpeg failed for a reason other than the file \(.*no-such-option/i);
  });

  it('an output path that cannot be written (our own working copy) is ours: InfrastructureError', async () => {
    const out = join(dir, 'missing-dir', 'work.s16le');
    const res = await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc', '-t', '0.1', '-f', 's16le', '-y', out]);
    expect(res.code).not.toBe(0);
    expect(() => throwIfInfrastructure('ffmpeg', res, res.tail, out)).toThrow(InfrastructureError);
    expect(() => throwIfInfrastructure('ffmpeg', res, res.tail)).not.toThrow(); // without knowing the path, it could be the input's
  });
});
