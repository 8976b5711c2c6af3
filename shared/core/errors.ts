/**
 * Errors that cross a port. Adapters and providers translate vendor errors into these,
 * so stages decide "retry or give up" without knowing HTTP statuses or SDK classes.
 */

/**
 * Base of voxpipe's errors: `name` is the class actually thrown (`new.target`), so a subclass reports its
 * own name (`InfrastructureError`, `ContextLengthError`…) in logs, stack traces and results, not its parent's.
 */
export class VoxpipeError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Worth retrying: 429, 5xx, timeouts, dropped or truncated responses. */
export class TransientError extends VoxpipeError {
  /** Server-advised wait (from `Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number;
  /** True for rate limiting (429): callers may wait instead of counting it as a failure. */
  readonly rateLimited: boolean;
  constructor(message: string, opts: { cause?: unknown; retryAfterMs?: number; rateLimited?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
    this.rateLimited = opts.rateLimited ?? false;
  }
}

/**
 * The machine failed, not the input: a tool that cannot run (missing binary, an option it does not know),
 * a process killed, a full disk, no memory. Transient (retried through the queue, counted, alarmed) and never
 * reported as a verdict on the user's file.
 */
export class InfrastructureError extends TransientError {
  readonly infrastructure = true;
}

/** Retrying cannot help: bad request, auth, payment, payload too large, unsupported or corrupt audio. */
export class PermanentError extends VoxpipeError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
  }
}

/** A key that does not exist in a BlobStore. */
export class NotFoundError extends VoxpipeError {
  constructor(readonly key: string, opts: { cause?: unknown } = {}) {
    super(`not found: ${key}`, { cause: opts.cause });
  }
}

/** A conditional write (`ifNoneMatch: '*'`) lost: the key exists already. */
export class AlreadyExistsError extends VoxpipeError {
  constructor(readonly key: string, opts: { cause?: unknown } = {}) {
    super(`already exists: ${key}`, { cause: opts.cause });
  }
}

/** Invalid configuration, found at start-up. The message names the variable and the allowed values. */
export class ConfigError extends VoxpipeError {}

/** Message of any thrown value, for results and logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
