/**
 * `BackfillJournal` on a local JSON-lines file, with a lock file so two runs never share one journal.
 *
 * Each record is one `appendFile` (one write of a whole line), finished before the job step it describes goes
 * on: a process killed at any moment leaves complete lines plus at most one torn last line, which
 * `parseJournal` drops. A lock left by a killed run (its pid no longer alive) is taken over.
 */
import { appendFile, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type BackfillRecord, parseJournal } from '../core/backfill-ledger.js';
import type { BackfillJournal } from '../backfill/ports.js';

/** Open (creating if needed) the journal at `path`; throws when another live process holds its lock. */
export async function openJournalFile(path: string): Promise<BackfillJournal> {
  await mkdir(dirname(path), { recursive: true });
  const lock = `${path}.lock`;
  await takeLock(lock, path);
  let closed = false;
  return {
    async load() {
      try {
        return parseJournal(await readFile(path, 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
    async append(record: BackfillRecord) {
      await appendFile(path, `${JSON.stringify(record)}\n`, 'utf8');
    },
    async close() {
      if (closed) return;
      closed = true;
      await rm(lock, { force: true });
    },
  };
}

async function takeLock(lock: string, path: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`${path} is in use by another backfill (pid ${owner}); wait for it to finish or pass a different --state`);
      }
      await rm(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`${path}: could not take the lock ${lock}; remove it if no backfill is running`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
