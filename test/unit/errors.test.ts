/** Every voxpipe error reports its own class name (logs, stack traces and results show what was thrown). */
import { describe, expect, it } from 'vitest';
import { EditError, RevisionConflictError } from '../../shared/api/revisions.js';
import { ContextLengthError } from '../../shared/core/chat-errors.js';
import { AlreadyExistsError, ConfigError, InfrastructureError, NotFoundError, PermanentError, TransientError, VoxpipeError } from '../../shared/core/errors.js';

describe('error names', () => {
  it.each([
    [new TransientError('t'), 'TransientError', TransientError],
    [new InfrastructureError('i'), 'InfrastructureError', TransientError],
    [new PermanentError('p'), 'PermanentError', PermanentError],
    [new ContextLengthError('c'), 'ContextLengthError', PermanentError],
    [new NotFoundError('k'), 'NotFoundError', NotFoundError],
    [new AlreadyExistsError('k'), 'AlreadyExistsError', AlreadyExistsError],
    [new ConfigError('c'), 'ConfigError', ConfigError],
    [new RevisionConflictError('r'), 'RevisionConflictError', RevisionConflictError],
    [new EditError('field', 'e'), 'EditError', EditError],
  ] as const)('%s is named after its own class and keeps its parents', (err, name, parent) => {
    expect(err.name).toBe(name);
    expect(String(err)).toMatch(new RegExp(`^${name}: `));
    expect(err.stack).toMatch(new RegExp(`^${name}: `));
    expect(err).toBeInstanceOf(parent);
    expect(err).toBeInstanceOf(VoxpipeError);
    expect(err).toBeInstanceOf(Error);
  });

  it('keeps the fields and the cause of the subclasses', () => {
    const cause = new Error('socket hang up');
    const t = new InfrastructureError('ffmpeg killed', { cause, retryAfterMs: 5 });
    expect(t).toMatchObject({ message: 'ffmpeg killed', cause, retryAfterMs: 5, rateLimited: false, infrastructure: true });
    expect(new NotFoundError('jobs/x').key).toBe('jobs/x');
  });
});
