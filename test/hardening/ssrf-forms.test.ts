/**
 * Issue 11, Medium 7: the webhook SSRF guard judges IPv6 forms that embed an IPv4 address by that address,
 * including SIIT (`::ffff:0:a.b.c.d`) and 6to4 (`2002:aabb:ccdd::/48`), and refuses Teredo (`2001::/32`).
 */
import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isBlockedAddress } from '../../shared/adapters/ssrf-guard.js';

describe('SSRF guard: IPv4 embedded in IPv6', () => {
  it.each([
    '::ffff:0:127.0.0.1',
    '::ffff:0:7f00:1',
    '::ffff:0:169.254.169.254',
    '::ffff:0:10.0.0.5',
    '2002:7f00:1::',
    '2002:a9fe:a9fe::1',
    '2002:0a00:0001:1234::1',
    '2002:c0a8:0101::',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo: the real address is obfuscated, so the prefix is refused
  ])('refuses %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['::ffff:0:8.8.8.8', '2002:0808:0808::1', '2606:4700:4700::1111', '8.8.8.8'])('allows the public address %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });

  it.each(['https://[::ffff:0:169.254.169.254]/hook', 'https://[2002:a9fe:a9fe::]/hook'])('refuses the URL %s', async (url) => {
    await expect(checkWebhookUrl(url, { mode: 'cloud' })).rejects.toThrow(/refused/);
  });
});
