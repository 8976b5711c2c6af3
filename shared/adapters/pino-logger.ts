import { pino } from 'pino';
import type { Logger } from '../ports.js';

/**
 * Structured JSON-lines logger for the local runtime (the Lambda handlers use Powertools Logger).
 * `destination` is a file path; logs never mix with the CLI's progress output on stdout.
 */
export function createPinoLogger(opts: { destination: string; level?: string }): Logger {
  const log = pino(
    { level: opts.level ?? 'info', base: { service: 'voxpipe' } },
    pino.destination({ dest: opts.destination, mkdir: true, sync: false, mode: 0o600 }),
  );
  return {
    debug: (msg, extra) => log.debug(extra ?? {}, msg),
    info: (msg, extra) => log.info(extra ?? {}, msg),
    warn: (msg, extra) => log.warn(extra ?? {}, msg),
    error: (msg, extra) => log.error(extra ?? {}, msg),
  };
}
