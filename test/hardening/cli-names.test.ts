/**
 * Issue 11, High 4: every input of one `voxpipe transcribe` run gets its own result files, whatever the
 * names: `a/talk.wav b/talk.wav talk-2.wav` once wrote two inputs to `talk-2.*`.
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueResultNames } from '../../cli/result-names.js';
import { scratchDir } from '../fixtures/audio.js';
import { voxpipe } from '../e2e/run-cli.js';

describe('result names of one run', () => {
  it.each([
    [['a/talk.wav', 'b/talk.wav', 'talk-2.wav']],
    [['talk-2.wav', 'a/talk.wav', 'b/talk.wav']],
    [['x/talk.mp3', 'y/talk.wav', 'z/talk.flac', 'talk-2.m4a', 'talk-3.ogg', 'talk-2-2.mp3']],
    [['Talk.wav', 'talk.wav', 'TALK-2.wav']], // one file on a case-insensitive disk (macOS, Windows)
    [['a.mp3', 'a.wav', 'a', '.hidden', 'b/.hidden']],
  ])('never give two inputs one name: %j', (files) => {
    const names = uniqueResultNames(files);
    expect(names).toHaveLength(files.length);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(files.length);
    for (const n of names) expect(n).not.toMatch(/[/\\]/);
  });

  it('keeps a file’s own name when it is free, so re-runs write the same files', () => {
    expect(uniqueResultNames(['a/talk.wav', 'b/talk.wav', 'talk-2.wav'])).toEqual(['talk', 'talk-3', 'talk-2']);
    expect(uniqueResultNames(['meeting.mp3'])).toEqual(['meeting']);
  });

  it('the CLI writes one result per input for colliding names, each naming its own file', async () => {
    const dir = await scratchDir('names');
    const inputs = [join(dir, 'a', 'talk.wav'), join(dir, 'b', 'talk.wav'), join(dir, 'talk-2.wav')];
    for (const [i, f] of inputs.entries()) {
      await mkdir(join(f, '..'), { recursive: true });
      await writeFile(f, `not audio ${i}`.repeat(50)); // fails fast at probing: each result records its own file
    }
    const out = join(dir, 'out');
    const { code, stdout } = await voxpipe(['transcribe', ...inputs, '--out', out, '--no-progress', '--format', 'json'], { VOXPIPE_WORK_DIR: join(dir, 'work') });
    expect(code).toBe(1);
    expect(stdout).toMatch(/3 files: 0 completed, 3 failed/);
    const written = (await readdir(out)).filter((f) => f.endsWith('.json')).sort();
    expect(written).toHaveLength(3);
    const sources = await Promise.all(written.map(async (f) => JSON.parse(await readFile(join(out, f), 'utf8')).source as string));
    expect(sources.sort()).toEqual([...inputs].sort());
  });
});

describe('usage errors', () => {
  it('an unknown option exits 2 (as documented), --help exits 0', async () => {
    const bad = await voxpipe(['transcribe', '--no-such-flag', 'x.mp3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option/);
    expect((await voxpipe(['watch'])).code).toBe(2); // missing argument
    expect((await voxpipe(['transcribe', '--help'])).code).toBe(0);
  });
});

describe('byte-identical inputs', () => {
  it('share one job, and each result names its own file as source', async () => {
    const dir = await scratchDir('copies');
    const inputs = [join(dir, 'a', 'first.wav'), join(dir, 'b', 'copy.wav')];
    for (const f of inputs) {
      await mkdir(join(f, '..'), { recursive: true });
      await writeFile(f, 'identical bytes, not audio'.repeat(40));
    }
    const out = join(dir, 'out');
    await voxpipe(['transcribe', ...inputs, '--out', out, '--no-progress', '--format', 'json'], { VOXPIPE_WORK_DIR: join(dir, 'work') });
    const first = JSON.parse(await readFile(join(out, 'first.json'), 'utf8'));
    const copy = JSON.parse(await readFile(join(out, 'copy.json'), 'utf8'));
    expect(first.id).toBe(copy.id);
    expect(first.source).toBe(inputs[0]);
    expect(copy.source).toBe(inputs[1]);
  });
});

describe('bad output and work folders', () => {
  it('--out under /proc, --work-dir naming a file and an unreadable secret file are usage errors (exit 2), not a hang or a stack trace', async () => {
    const dir = await scratchDir('bad-dirs');
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const out = await voxpipe(['transcribe', file, '--out', '/proc/voxpipe-test/x', '--no-progress']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--out \/proc\/voxpipe-test\/x: cannot create it/);
    const work = await voxpipe(['transcribe', file, '--work-dir', file, '--out', join(dir, 'out'), '--no-progress']);
    expect(work.code).toBe(2);
    expect(work.stderr).toMatch(/is a file, not a folder/);
    expect(work.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const secret = await voxpipe(['transcribe', file, '--webhook-secret-file', join(dir, 'missing'), '--out', join(dir, 'out'), '--no-progress']);
    expect(secret.code).toBe(2);
    const flag = await voxpipe(['transcribe', join(dir, 'missing.wav'), '--webhook-secret', 'whsec_abc', '--out', join(dir, 'out'), '--work-dir', join(dir, 'w'), '--no-progress']);
    expect(flag.stderr).toMatch(/warning: --webhook-secret shows in `ps`/);
  });
});
