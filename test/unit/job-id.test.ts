import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localJobId } from '../../cli/job-id.js';
import type { JobOptions } from '../../shared/core/types.js';

const options: JobOptions = { provider: 'offline', model: 'm', chunkSeconds: 120, words: false, diarize: false, timestamps: 'auto' };

describe('local job id', () => {
  it('is the same for the same content anywhere, and differs when content or options differ', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobid-'));
    // 20 MB: large enough that only the start, middle and end windows are read.
    const bytes = Buffer.alloc(20 * 1024 * 1024, 7);
    await writeFile(join(dir, 'a.mp3'), bytes);
    await copyFile(join(dir, 'a.mp3'), join(dir, 'copy.mp3'));
    const edited = Buffer.from(bytes);
    edited[10 * 1024 * 1024] = 8; // inside the middle window
    await writeFile(join(dir, 'edited.mp3'), edited);
    const longer = Buffer.concat([bytes, Buffer.from([1])]);
    await writeFile(join(dir, 'longer.mp3'), longer);

    const id = await localJobId(join(dir, 'a.mp3'), options);
    expect(await localJobId(join(dir, 'copy.mp3'), options)).toBe(id);
    expect(await localJobId(join(dir, 'edited.mp3'), options)).not.toBe(id);
    expect(await localJobId(join(dir, 'longer.mp3'), options)).not.toBe(id);
    expect(await localJobId(join(dir, 'a.mp3'), { ...options, chunkSeconds: 60 })).not.toBe(id);
  });

  it('hashes small files whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobid-'));
    await writeFile(join(dir, 'x.wav'), Buffer.from('abc'));
    await writeFile(join(dir, 'y.wav'), Buffer.from('abd'));
    expect(await localJobId(join(dir, 'x.wav'), options)).not.toBe(await localJobId(join(dir, 'y.wav'), options));
  });
});
