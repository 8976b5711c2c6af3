/**
 * The local drop folder (`voxpipe watch DIR`) as a `DropArea`: the watched directory, the results directory
 * and the fs job store under `<work-dir>/store`.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { NotFoundError } from '../core/errors.js';
import type { DropArea } from '../ports.js';

/**
 * The watched directory and the results directory as a `DropArea`, written without following links: every
 * folder on the way to a destination is checked with `lstat` (and created, 0700, when missing), a symbolic
 * link anywhere on the way refuses the write, and files land by `rename` of a temp file, which replaces a
 * name rather than writing through it. A move never overwrites (re-drops get free names first, `freeDropName`).
 */
export function createFsDropArea(dir: string, out: string, workDir: string): DropArea {
  const inDir = (key: string) => join(dir, ...key.split('/'));
  const store = join(workDir, 'store');
  return {
    async move(from, to) {
      // A symbolic link moves as the link itself: rename never follows it.
      await lstat(inDir(from)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new NotFoundError(from, { cause: err });
        throw err;
      });
      const target = await safeTarget(dir, to);
      if (await lstat(target).then(() => true, () => false)) throw new Error(`${to} already exists in ${dir}: not overwritten`);
      await rename(inDir(from), target);
    },
    async put(key, body) {
      await replaceFile(await safeTarget(dir, key), (tmp) => writeFile(tmp, body, { mode: 0o600, flag: 'wx' }));
    },
    async publish(from, to) {
      const target = await safeTarget(out, to);
      // The fs job store keeps keys as paths under <work-dir>/store: a plain file copy.
      try {
        await replaceFile(target, (tmp) => copyFile(join(store, ...from.split('/')), tmp));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(from, { cause: err });
        throw err;
      }
    },
  };
}

/** `root/<rel>` after checking that no folder on the way is a symbolic link (missing folders are created, 0700). */
async function safeTarget(root: string, rel: string): Promise<string> {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new Error(`unsafe path ${rel}`);
  await mkdir(root, { recursive: true }); // the folder the user named; below it nothing is followed
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    let s = await lstat(at).catch(() => undefined);
    if (!s) {
      await mkdir(at, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      s = await lstat(at);
    }
    if (s.isSymbolicLink()) throw new Error(`${relative(root, at) || at} is a symbolic link: voxpipe never writes through links in the drop or results folder`);
    if (!s.isDirectory()) throw new Error(`${relative(root, at) || at} is not a folder`);
  }
  return join(at, parts[parts.length - 1] ?? '');
}

/** Write a sibling temp file, then rename it over `target` (which replaces a link instead of following it). */
async function replaceFile(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(target), `.voxpipe-${randomUUID()}.tmp`);
  try {
    await write(tmp);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}
