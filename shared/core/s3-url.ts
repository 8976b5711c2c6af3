/** `s3://bucket/prefix` → its parts; undefined for anything else. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  return m ? { bucket: m[1]!, prefix: m[2] ?? '' } : undefined;
}
