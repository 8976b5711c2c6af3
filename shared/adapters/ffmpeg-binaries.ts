/**
 * Where the ffmpeg and ffprobe executables are. Looked up once per process, in this order:
 * explicit path (`VOXPIPE_FFMPEG` / `VOXPIPE_FFPROBE`) → `ffmpeg` / `ffprobe` in the search path (`PATH`)
 * → the `@ffmpeg-installer/ffmpeg` / `@ffprobe-installer/ffprobe` npm packages (the Lambda bundle's copy).
 * Reads no environment: the runtime passes what its configuration says (`shared/config.ts` `toolPathsOf`,
 * `functions/lib/env.ts`).
 */
import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PermanentError } from '../core/errors.js';

/** Paths of the two executables the audio tools run. */
export interface FfmpegBinaries {
  readonly ffmpeg: string;
  readonly ffprobe: string;
}

/** Explicit paths (each one not given is looked up) and where to look. */
export interface FfmpegBinaryOptions {
  /** `VOXPIPE_FFMPEG`. */
  readonly ffmpegPath?: string;
  /** `VOXPIPE_FFPROBE`. */
  readonly ffprobePath?: string;
  /** Directories searched, in `PATH` format (the runtime's `PATH`). Unset: none, only the bundled packages. */
  readonly searchPath?: string;
}

const INSTALL_HINT = 'install it (Debian/Ubuntu: `apt-get install -y ffmpeg`, macOS: `brew install ffmpeg`) or set VOXPIPE_FFMPEG / VOXPIPE_FFPROBE';

/**
 * Resolve both executables. Throws `PermanentError` with the install command when one cannot be found.
 */
export async function resolveFfmpegBinaries(opts: FfmpegBinaryOptions): Promise<FfmpegBinaries> {
  const [ffmpeg, ffprobe] = await Promise.all([
    resolveOne('ffmpeg', opts.ffmpegPath, opts.searchPath, '@ffmpeg-installer/ffmpeg'),
    resolveOne('ffprobe', opts.ffprobePath, opts.searchPath, '@ffprobe-installer/ffprobe'),
  ]);
  return { ffmpeg, ffprobe };
}

/** Find one executable in `searchPath` (`PATH` format), or `undefined`. */
export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function resolveOne(
  name: 'ffmpeg' | 'ffprobe',
  explicit: string | undefined,
  searchPath: string | undefined,
  npmPackage: string,
): Promise<string> {
  const chosen = explicit !== undefined && explicit !== '' ? explicit : undefined;
  if (chosen !== undefined) {
    if (!isExecutableFile(chosen)) {
      throw new PermanentError(`${name} not found or not executable at ${chosen}; ${INSTALL_HINT}`);
    }
    return chosen;
  }
  const onPath = findOnPath(name, searchPath);
  if (onPath !== undefined) return onPath;
  const bundled = await fromNpmPackage(npmPackage);
  if (bundled !== undefined) return bundled;
  throw new PermanentError(`${name} not found on PATH; ${INSTALL_HINT}`);
}

/** The binary shipped inside an installer package; made executable when the package manager dropped the mode bits. */
async function fromNpmPackage(pkg: string): Promise<string | undefined> {
  let path: unknown;
  try {
    const mod = (await import(pkg)) as { default?: { path?: unknown }; path?: unknown };
    path = mod.default?.path ?? mod.path;
  } catch {
    return undefined; // package not installed or platform unsupported
  }
  if (typeof path !== 'string') return undefined;
  if (!isExecutableFile(path)) {
    try {
      chmodSync(path, 0o755);
    } catch {
      return undefined; // read-only file system (e.g. Lambda /var/task): nothing more we can do
    }
  }
  return isExecutableFile(path) ? path : undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
