/** `BackfillSource` over a local directory tree: media files by extension, durations by ffprobe. */
import { opendir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { isMediaName } from '../core/backfill-plan.js';
import type { BackfillSource, SourceFile } from '../backfill/ports.js';
import type { AudioTools } from '../ports.js';

/**
 * Walk `dir` (depth first, names sorted, symlinks not followed, hidden directories skipped). Ids are paths
 * relative to `dir` with `/` separators; `exclude` lists absolute directories not to enter (the work dir and
 * the output directory when they lie inside the archive).
 */
export function createFsSource(dir: string, audio: Pick<AudioTools, 'probe'>, exclude: readonly string[] = []): BackfillSource {
  const root = resolve(dir);
  const skip = new Set(exclude.map((d) => resolve(d)));
  return {
    description: root,
    async *list() {
      yield* walk(root);
    },
    async probeSeconds(file) {
      try {
        const probed = await audio.probe(file.location);
        return Number.isFinite(probed.durationSeconds) ? probed.durationSeconds : undefined;
      } catch {
        return undefined; // unreadable: the job will fail it with the reason
      }
    },
  };

  async function* walk(current: string): AsyncGenerator<SourceFile> {
    const names: { name: string; isDir: boolean; isFile: boolean }[] = [];
    for await (const d of await opendir(current)) names.push({ name: d.name, isDir: d.isDirectory(), isFile: d.isFile() });
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      const path = join(current, d.name);
      if (d.isDir) {
        if (!d.name.startsWith('.') && !skip.has(path)) yield* walk(path);
      } else if (d.isFile && isMediaName(d.name)) {
        const { size } = await stat(path);
        yield { id: relative(root, path).split(sep).join('/'), location: path, sizeBytes: size };
      }
    }
  }
}
