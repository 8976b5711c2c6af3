/**
 * Issue 11, High 2: the drop folder never writes outside itself through symlinks, never overwrites, and
 * refuses symlinked sidecars and symlinked audio with a reason in failed/ (instead of reading the sidecar's
 * target into reason.json, or skipping the audio silently forever).
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../fixtures/audio.js';
import { voxpipe } from '../e2e/run-cli.js';

const PROFILES = 'version: 1\nprofiles:\n  meetings:\n    formats: [json]\n';

/** A drop folder with one profile, and a victim folder outside it. */
async function setup() {
  const root = await scratchDir('watch-links');
  const drop = join(root, 'drop');
  const victim = join(root, 'victim');
  await mkdir(join(drop, 'meetings'), { recursive: true });
  await mkdir(join(victim, 'meetings'), { recursive: true });
  await writeFile(join(drop, 'profiles.yaml'), PROFILES);
  await writeFile(join(victim, 'meetings', 'x.mp3'), 'PRECIOUS');
  await writeFile(join(victim, 'meetings', 'x.mp3.reason.json'), 'PRECIOUS');
  const watch = () => voxpipe(['watch', drop, '--once', '--out', join(root, 'out'), '--work-dir', join(root, 'work'), '--stable-ms', '100']);
  return { root, drop, victim, watch };
}

/** Every file under a folder, with its content. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name).slice(dir.length + 1)] = await readFile(join(e.parentPath, e.name), 'utf8');
  }
  return out;
}

describe('voxpipe watch and symlinks', () => {
  it.each([
    ['failed/ itself', 'failed', ''],
    ['failed/<profile>', join('failed', 'meetings'), 'meetings'],
  ])('never writes through a symlinked %s', async (_label, linkAt, target) => {
    const { drop, victim, watch } = await setup();
    const before = await tree(victim);
    if (target) await mkdir(join(drop, 'failed'), { recursive: true });
    await symlink(join(victim, target), join(drop, linkAt));
    await writeFile(join(drop, 'meetings', 'x.mp3'), 'attacker-filled, not audio');

    const { code, stdout } = await watch();

    expect(code).toBe(1);
    expect(stdout).toMatch(/symbolic link/);
    expect(await tree(victim)).toEqual(before);
  });

  it('refuses a symlinked sidecar with a reason in failed/, without reading it', async () => {
    const { root, drop, watch } = await setup();
    await writeFile(join(root, 'secret.txt'), '{"language":"TOPSECRET"}');
    await writeFile(join(drop, 'meetings', 'x.mp3'), 'not audio');
    await symlink(join(root, 'secret.txt'), join(drop, 'meetings', 'x.mp3.voxpipe.json'));

    const { code } = await watch();

    expect(code).toBe(1);
    const reason = await readFile(join(drop, 'failed', 'meetings', 'x.mp3.reason.json'), 'utf8');
    expect(JSON.parse(reason)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/sidecar .*symbolic link/) });
    expect(reason).not.toContain('TOPSECRET');
    // The link moved along, unfollowed; its target is untouched.
    expect((await lstat(join(drop, 'failed', 'meetings', 'x.mp3.voxpipe.json'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(root, 'secret.txt'), 'utf8')).toContain('TOPSECRET');
  });

  it('refuses symlinked audio with a reason in failed/, instead of skipping it forever', async () => {
    const { root, drop, watch } = await setup();
    await writeFile(join(root, 'elsewhere.mp3'), 'whatever');
    await symlink(join(root, 'elsewhere.mp3'), join(drop, 'meetings', 'linked.mp3'));

    const { code, stdout } = await watch();

    expect(code).toBe(1);
    expect(stdout).toMatch(/linked\.mp3/);
    const reason = JSON.parse(await readFile(join(drop, 'failed', 'meetings', 'linked.mp3.reason.json'), 'utf8'));
    expect(reason).toMatchObject({ status: 'failed', reason: expect.stringMatching(/symbolic link/) });
    expect(existsSync(join(drop, 'meetings', 'linked.mp3'))).toBe(false);
    expect(await readFile(join(root, 'elsewhere.mp3'), 'utf8')).toBe('whatever');
  });
});
