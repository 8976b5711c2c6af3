/**
 * The splitter's input on AWS: a presigned GET URL of the upload, which ffprobe/ffmpeg read with HTTP range
 * requests (seeking where the container needs it, e.g. an m4a whose moov atom is at the end). Nothing is
 * copied to ephemeral storage, which keeps all of `/tmp` for the 16 kHz working copy (a 24-hour input needs
 * 2.8 GB of it) and takes the download off the critical path.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** Long enough for the longest split (the 15-minute Lambda limit) with margin; signed with the role's credentials. */
export const INPUT_URL_TTL_SECONDS = 3600;

/** A presigned GET of `bucket/key` (the function's own `s3:GetObject` grant applies). */
export function presignedInput(s3: S3Client, bucket: string, key: string, expiresIn = INPUT_URL_TTL_SECONDS): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
}
