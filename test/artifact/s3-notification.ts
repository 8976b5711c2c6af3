/**
 * Object keys in S3 event notifications are form-encoded (`application/x-www-form-urlencoded`, as Java's
 * URLEncoder): a space becomes `+`, a literal `+` becomes `%2B`, every byte of a non-ASCII character is `%XX`,
 * and only `A-Z a-z 0-9 - _ . *` stay as they are. `/` is kept, so prefixes stay readable
 * (`inbox/Board+meeting+%E2%80%93+%C3%A9t%C3%A9.mp3`).
 */
export function encodeS3EventKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.*/]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
