import { createReadStream, createWriteStream } from 'node:fs';
import type { Dirent } from 'node:fs';
import { chmod, copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, NotFoundError } from '../core/errors.js';
import type { BlobStore, PutOptions } from '../ports.js';

/**
 * BlobStore on a local directory: the embedded runtime's store (default `~/.voxpipe/store`).
 * Puts write a temp file and rename it into place, so readers never see a partial object.
 * `ifNoneMatch: '*'` publishes with `link(2)`, which fails atomically when the target exists:
 * of concurrent conditional writers, in this process or another, exactly one wins.
 * Private to the user: objects are 0600 and folders 0700 (audio, transcripts and job state are nobody else's),
 * whatever the process umask.
 */
/** Mode of every file the local runtime writes: the user's alone. */
export const PRIVATE_FILE = 0o600;
/** Mode of every folder the local runtime creates. */
export const PRIVATE_DIR = 0o700;

export function createFsStore(rootDir: string): BlobStore {
  const pathOf = (key: string) => {
    if (key.startsWith('/') || key.split('/').includes('..')) throw new Error(`invalid key: ${key}`);
    return join(rootDir, ...key.split('/'));
  };

  async function publish(tmp: string, key: string, opts?: PutOptions): Promise<void> {
    const target = pathOf(key);
    await mkdir(dirname(target), { recursive: true, mode: PRIVATE_DIR });
    if (opts?.ifNoneMatch !== '*') return rename(tmp, target);
    try {
      await link(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(key, { cause: err });
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async function tempPath(): Promise<string> {
    const dir = join(rootDir, '.tmp');
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    return join(dir, randomUUID());
  }

  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(pathOf(key)));
      } catch (err) {
        throw notFoundOr(err, key);
      }
    },

    async put(key, body, opts) {
      const tmp = await tempPath();
      const handle = await open(tmp, 'w', PRIVATE_FILE);
      try {
        await handle.writeFile(body);
      } finally {
        await handle.close();
      }
      await publish(tmp, key, opts);
    },

    async putFile(key, path, opts) {
      const tmp = await tempPath();
      await copyFile(path, tmp); // copies the source's mode too
      await chmod(tmp, PRIVATE_FILE);
      await publish(tmp, key, opts);
    },

    async getFile(key, path) {
      await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR });
      try {
        await pipeline(createReadStream(pathOf(key)), createWriteStream(path, { mode: PRIVATE_FILE }));
      } catch (err) {
        throw notFoundOr(err, key);
      }
    },

    async exists(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch {
        return false;
      }
    },

    async *list(prefix) {
      // Walk only the directory that can hold the prefix, then filter: keys are paths.
      const slash = prefix.lastIndexOf('/');
      const base = slash >= 0 ? prefix.slice(0, slash) : '';
      const keys: string[] = [];
      await walk(base ? pathOf(base) : rootDir, keys);
      const matching = keys
        .map((p) => relative(rootDir, p).split(sep).join('/'))
        .filter((k) => k.startsWith(prefix) && !k.startsWith('.tmp/'))
        .sort();
      yield* matching;
    },

    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
}

function notFoundOr(err: unknown, key: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EISDIR' ? new NotFoundError(key, { cause: err }) : err;
}
