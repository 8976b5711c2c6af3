/**
 * Result names for the inputs of one `voxpipe transcribe` run: `talk.mp3` → `talk`, and never one name for two
 * inputs, whatever the names (`a/talk.wav b/talk.wav talk-2.wav`), case-insensitively (macOS and Windows disks
 * fold case). An input keeps its own base name when no earlier input took it; a colliding one gets the first
 * free `<base>-<n>` that is neither taken nor some other input's own base name, so `talk-2.wav` keeps `talk-2`.
 */
import { basename, extname } from 'node:path';

export function uniqueResultNames(files: readonly string[]): string[] {
  const bases = files.map((file) => basename(file, extname(file)) || basename(file));
  const fold = (name: string) => name.toLowerCase();
  const ownBases = new Set(bases.map(fold));
  const taken = new Set<string>();
  return bases.map((base) => {
    let name = base;
    if (taken.has(fold(name))) {
      for (let n = 2; ; n++) {
        name = `${base}-${n}`;
        if (!taken.has(fold(name)) && !ownBases.has(fold(name))) break;
      }
    }
    taken.add(fold(name));
    return name;
  });
}
