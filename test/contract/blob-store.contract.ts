/**
 * The BlobStore contract: what every adapter (fs, S3) guarantees to the stages. Run by blob-store.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, NotFoundError } from '../../shared/core/errors.js';
import type { BlobStore } from '../../shared/ports.js';

/** One adapter under test. `make` returns a fresh, empty store. */
export interface BlobStoreFixture {
  readonly name: string;
  setup(): Promise<{ make(): Promise<BlobStore>; teardown(): Promise<void> }>;
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Register the contract for each fixture. */
export function blobStoreContract(fixtures: readonly BlobStoreFixture[]): void {
  describe.each(fixtures)('BlobStore contract: $name', (fixture) => {
    let env: Awaited<ReturnType<BlobStoreFixture['setup']>>;
    let scratch: string;
    beforeAll(async () => {
      env = await fixture.setup();
      scratch = mkdtempSync(join(tmpdir(), 'voxpipe-blob-'));
    });
    afterAll(async () => {
      await env?.teardown();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('fails with NotFoundError naming the key when a key is missing', async () => {
      const store = await env.make();
      const err = await store.get('jobs/nope/manifest.json').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).key).toBe('jobs/nope/manifest.json');
      await expect(store.getFile('jobs/nope/a.flac', join(scratch, 'nope.flac'))).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.exists('jobs/nope/manifest.json')).toBe(false);
    });

    it('round-trips text and every byte value, and overwrites', async () => {
      const store = await env.make();
      const bytes = new Uint8Array(256 * 4).map((_, i) => i % 256);
      await store.put('jobs/j/audio/00000.flac', bytes, { contentType: 'audio/flac' });
      await store.put('jobs/j/status.json', '{"state":"splitting","name":"é ✓ 🎙"}');
      expect(Buffer.from(await store.get('jobs/j/audio/00000.flac')).equals(Buffer.from(bytes))).toBe(true);
      expect(new TextDecoder().decode(await store.get('jobs/j/status.json'))).toBe('{"state":"splitting","name":"é ✓ 🎙"}');
      await store.put('jobs/j/status.json', '{"state":"completed"}');
      expect(new TextDecoder().decode(await store.get('jobs/j/status.json'))).toBe('{"state":"completed"}');
      expect(await store.exists('jobs/j/status.json')).toBe(true);
      await store.put('jobs/j/empty', new Uint8Array());
      expect((await store.get('jobs/j/empty')).byteLength).toBe(0);
    });

    it('lists keys under a prefix in lexicographic order, and nothing else', async () => {
      const store = await env.make();
      const keys = ['jobs/a/chunks/00010.json', 'jobs/a/chunks/00002.json', 'jobs/a/manifest.json', 'jobs/ab/x.json', 'results/a/transcript.json', 'jobs/a/chunks/00001.json'];
      for (const k of keys) await store.put(k, k);
      expect(await collect(store.list('jobs/a/chunks/'))).toEqual(['jobs/a/chunks/00001.json', 'jobs/a/chunks/00002.json', 'jobs/a/chunks/00010.json']);
      expect(await collect(store.list('jobs/a'))).toEqual([
        'jobs/a/chunks/00001.json',
        'jobs/a/chunks/00002.json',
        'jobs/a/chunks/00010.json',
        'jobs/a/manifest.json',
        'jobs/ab/x.json',
      ]);
      expect(await collect(store.list('jobs/zzz/'))).toEqual([]);
    });

    it('pages through more keys than one listing returns (S3: 1000)', async () => {
      const store = await env.make();
      const keys = Array.from({ length: 1010 }, (_, i) => `jobs/many/chunks/${String(i).padStart(5, '0')}.json`);
      await inParallel(keys, 16, (k) => store.put(k, '{}'));
      const listed = await collect(store.list('jobs/many/chunks/'));
      expect(listed).toHaveLength(1010);
      expect(listed).toEqual([...keys].sort());
    });

    it('deletes, and deleting a missing key is not an error', async () => {
      const store = await env.make();
      await store.put('jobs/d/aggregate.claim', 'x');
      await store.delete('jobs/d/aggregate.claim');
      expect(await store.exists('jobs/d/aggregate.claim')).toBe(false);
      await expect(store.delete('jobs/d/aggregate.claim')).resolves.toBeUndefined();
      expect(await collect(store.list('jobs/d/'))).toEqual([]);
    });

    it('streams a large-ish file up and down intact (putFile / getFile)', async () => {
      const store = await env.make();
      const src = join(scratch, 'big.bin');
      const data = randomBytes(21 * 1024 * 1024 + 123); // more than one 16 MiB part
      writeFileSync(src, data);
      await store.putFile('inbox/big recording.wav', src, { contentType: 'audio/wav' });
      const dest = join(scratch, 'down', 'big.bin');
      await store.getFile('inbox/big recording.wav', dest);
      expect(statSync(dest).size).toBe(data.length);
      expect(readFileSync(dest).equals(data)).toBe(true);
    });

    it('put with ifNoneMatch refuses to overwrite (AlreadyExistsError) and keeps the first body', async () => {
      const store = await env.make();
      await store.put('jobs/c/aggregate.claim', 'first', { ifNoneMatch: '*' });
      const err = await store.put('jobs/c/aggregate.claim', 'second', { ifNoneMatch: '*' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlreadyExistsError);
      expect((err as AlreadyExistsError).key).toBe('jobs/c/aggregate.claim');
      expect(new TextDecoder().decode(await store.get('jobs/c/aggregate.claim'))).toBe('first');
    });

    it('lets exactly one of many concurrent conditional writers win', async () => {
      const store = await env.make();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.put('jobs/race/aggregate.claim', `writer ${i}`, { ifNoneMatch: '*' })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const l of lost) expect(l.reason).toBeInstanceOf(AlreadyExistsError);
    });

    it('putFile with ifNoneMatch refuses to overwrite', async () => {
      const store = await env.make();
      const src = join(scratch, 'claim.json');
      writeFileSync(src, '{"claimedAt":"now"}');
      await store.putFile('jobs/f/source.claim', src, { ifNoneMatch: '*' });
      await expect(store.putFile('jobs/f/source.claim', src, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(AlreadyExistsError);
    });
  });
}
