/**
 * The copy the drop folder and the backfill use, against s3rver (behind the conformance proxy, which adds UploadPartCopy): one CopyObject up to the threshold,
 * CreateMultipartUpload + UploadPartCopy + CompleteMultipartUpload above it (here with a small threshold
 * override, as a 5 GB object is out of reach of a test), keeping the bytes, the metadata and the type.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3DropArea } from '../../shared/adapters/s3-drop-area.js';
import { copyS3Object } from '../../shared/adapters/s3-copy.js';
import { type ConditionalS3Proxy, startConditionalS3Proxy } from './conditional-s3-proxy.js';
import { FAKE_AWS, type S3Emulator, startS3Emulator } from './emulators.js';

const BUCKET = 'voxpipe-copy';
const MiB = 1024 ** 2;
let emu: S3Emulator;
let proxy: ConditionalS3Proxy;
let s3: S3Client;
const body = randomBytes(12 * MiB + 12345);

beforeAll(async () => {
  emu = await startS3Emulator([]);
  // s3rver has no UploadPartCopy: the conformance proxy adds it (test/aws/conditional-s3-proxy.ts).
  proxy = await startConditionalS3Proxy(emu.endpoint);
  s3 = new S3Client({ ...FAKE_AWS, endpoint: proxy.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inbox/talk été.m4a', Body: body, ContentType: 'audio/mp4', Metadata: { 'voxpipe-language': 'fr' } }));
});
afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await emu?.close();
});

async function readBack(key: string) {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = Buffer.from(await res.Body!.transformToByteArray());
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  return { bytes, contentType: head.ContentType, metadata: head.Metadata };
}

describe('S3 copy: single CopyObject below the threshold, multipart (UploadPartCopy) above', () => {
  it('copies part by part above the threshold: same bytes, metadata and content type', async () => {
    await copyS3Object(s3, { bucket: BUCKET, key: 'inbox/talk été.m4a' }, { bucket: BUCKET, key: 'processed/talk été.m4a' }, { multipartThresholdBytes: 6 * MiB, partBytes: 5 * MiB });
    const copy = await readBack('processed/talk été.m4a');
    expect(copy.bytes.equals(body)).toBe(true);
    expect(copy.contentType).toBe('audio/mp4');
    expect(copy.metadata).toEqual({ 'voxpipe-language': 'fr' });
  });

  it('the drop area moves a large source with the multipart copy, then deletes it', async () => {
    const area = createS3DropArea({ client: s3, bucket: BUCKET, copy: { multipartThresholdBytes: 6 * MiB, partBytes: 5 * MiB } });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inbox/p/big.wav', Body: body }));
    await area.move('inbox/p/big.wav', 'processed/p/big.wav');
    expect((await readBack('processed/p/big.wav')).bytes.equals(body)).toBe(true);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'inbox/p/big.wav' }))).rejects.toThrow();
  });

  it('copies in one call at or below the threshold', async () => {
    await copyS3Object(s3, { bucket: BUCKET, key: 'inbox/talk été.m4a' }, { bucket: BUCKET, key: 'results/one-call.m4a' });
    expect((await readBack('results/one-call.m4a')).bytes.equals(body)).toBe(true);
  });
});
