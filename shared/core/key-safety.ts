/**
 * Keys and relative paths that stay where they are put. Every key a client, a drop folder or an S3 event
 * names is checked here before it is used to build another key or a filesystem path: no empty segment
 * (`a//b`), no `.` or `..` segment, no leading `/`, no NUL or other control character. A key that passes
 * means the same object on S3 and on the local store (the fs store's `join` would fold `a/./b` and `a//b`
 * into `a/b`, S3 would not), and a path built from it never leaves its folder.
 */

/** Why `key` is not a safe relative key, or undefined when it is. */
export function unsafeKeyReason(key: string): string | undefined {
  if (key.length === 0) return 'is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains a control character';
  if (key.startsWith('/')) return 'starts with "/"';
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty path segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `has a "${segment}" path segment`;
  }
  return undefined;
}

/** True when `key` is a safe relative key (see `unsafeKeyReason`). */
export const isSafeKey = (key: string): boolean => unsafeKeyReason(key) === undefined;

/** True when `key` is safe and strictly below `prefix` (which ends with "/"). */
export function isSafeKeyUnder(key: string, prefix: string): boolean {
  return prefix.endsWith('/') && key.startsWith(prefix) && key.length > prefix.length && isSafeKey(key);
}
