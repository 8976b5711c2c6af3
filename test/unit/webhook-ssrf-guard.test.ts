import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWebhookUrl, guardedLookup, isBlockedAddress, type Resolver, type UrlPolicy } from '../../shared/adapters/ssrf-guard.js';
import { createHttpSender } from '../../shared/adapters/webhook-delivery.js';
import { PermanentError } from '../../shared/core/errors.js';

/** A resolver that answers from a table, like `dns.lookup` with `all: true`. */
function fakeDns(table: Record<string, string[]>): Resolver {
  return async (host) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

const dns = fakeDns({
  'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'internal.example.com': ['10.0.3.7'],
  'rebind.example.com': ['93.184.216.34', '169.254.169.254'],
  'v6-internal.example.com': ['fd12:3456::1'],
  localhost: ['127.0.0.1', '::1'],
});
const cloud: UrlPolicy = { mode: 'cloud', resolve: dns };

describe('SSRF guard', () => {
  it.each([
    ['127.0.0.1'],
    ['127.255.0.9'],
    ['10.1.2.3'],
    ['172.16.0.1'],
    ['172.31.255.254'],
    ['192.168.1.10'],
    ['169.254.169.254'],
    ['100.64.0.1'],
    ['0.0.0.0'],
    ['::1'],
    ['::'],
    ['fc00::1'],
    ['fd00:ec2::254'],
    ['fe80::1'],
    ['febf::1'],
    ['ff02::1'],
    ['::ffff:127.0.0.1'],
    ['::ffff:7f00:1'],
    ['::ffff:169.254.169.254'],
    ['::ffff:a00:1'],
    ['64:ff9b::10.0.0.1'],
    ['not-an-ip'],
  ])('treats %s as blocked', (ip) => {
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each([['93.184.216.34'], ['172.32.0.1'], ['8.8.8.8'], ['2606:4700::1111'], ['::ffff:8.8.8.8'], ['64:ff9b::8.8.8.8']])(
    'treats public %s as allowed',
    (ip) => {
      expect(isBlockedAddress(ip)).toBe(false);
    },
  );

  it.each([
    'https://127.0.0.1/hook',
    'https://10.0.0.5/hook',
    'https://172.16.4.4/hook',
    'https://192.168.0.1/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::1]/hook',
    'https://[fc00::5]/hook',
    'https://[fe80::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://2130706433/hook', // 127.0.0.1 as a decimal number
    'https://0x7f.0.0.1/hook',
    'https://localhost/hook',
  ])('fails in cloud mode for %s', async (url) => {
    await expect(checkWebhookUrl(url, cloud)).rejects.toThrow(PermanentError);
    await expect(checkWebhookUrl(url, cloud)).rejects.toThrow(/refused/);
  });

  it('fails when a DNS name resolves to a private address, even one among public ones', async () => {
    await expect(checkWebhookUrl('https://internal.example.com/h', cloud)).rejects.toThrow(/internal\.example\.com resolves to 10\.0\.3\.7/);
    await expect(checkWebhookUrl('https://rebind.example.com/h', cloud)).rejects.toThrow(/169\.254\.169\.254/);
    await expect(checkWebhookUrl('https://v6-internal.example.com/h', cloud)).rejects.toThrow(/fd12:3456::1/);
  });

  it('accepts an https URL whose name resolves only to public addresses', async () => {
    const url = await checkWebhookUrl('https://hooks.example.com/voxpipe?token=x', cloud);
    expect(url.hostname).toBe('hooks.example.com');
  });

  it('fails for http in cloud mode unless http is allowed, and for other schemes always', async () => {
    await expect(checkWebhookUrl('http://hooks.example.com/h', cloud)).rejects.toThrow(/https only/);
    await expect(checkWebhookUrl('http://hooks.example.com/h', { ...cloud, allowHttp: true })).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl('ftp://hooks.example.com/h', { ...cloud, allowHttp: true })).rejects.toThrow(/refused/);
    await expect(checkWebhookUrl('file:///etc/passwd', { mode: 'local' })).rejects.toThrow(/refused/);
  });

  it('fails for credentials in the URL and does not echo them', async () => {
    const err = await checkWebhookUrl('https://user:s3cret@hooks.example.com/h', cloud).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).not.toContain('s3cret');
  });

  it('accepts an allowlisted host (tests, a known internal receiver) and local mode with http://127.0.0.1', async () => {
    await expect(checkWebhookUrl('http://127.0.0.1:8080/h', { ...cloud, allowHttp: true, allowHosts: ['127.0.0.1'] })).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl('https://internal.example.com/h', { ...cloud, allowHosts: ['internal.example.com'] })).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl('http://127.0.0.1:8080/h', { mode: 'local' })).resolves.toBeInstanceOf(URL);
  });

  it('refuses at connect time when the answer changed to a private address (DNS rebinding)', async () => {
    const lookup = guardedLookup(cloud);
    const result = (host: string, all: boolean) =>
      new Promise((resolve, reject) => lookup(host, { all }, (err, address) => (err ? reject(err) : resolve(address))));
    await expect(result('internal.example.com', false)).rejects.toThrow(PermanentError);
    await expect(result('rebind.example.com', true)).rejects.toThrow(/169\.254\.169\.254/);
    await expect(result('hooks.example.com', false)).resolves.toBe('93.184.216.34');
    await expect(result('hooks.example.com', true)).resolves.toHaveLength(2);
  });

  describe('redirects', () => {
    let server: Server;
    const hits: string[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        hits.push(req.url ?? '');
        if (req.url === '/hook') res.writeHead(302, { location: '/elsewhere' }).end();
        else res.writeHead(200).end('ok');
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it('are not followed: the sender reports the 3xx and the target is never requested', async () => {
      const { port } = server.address() as AddressInfo;
      const send = createHttpSender({ mode: 'local' });
      const status = await send(new URL(`http://127.0.0.1:${port}/hook`), '{}', {}, AbortSignal.timeout(5_000));
      expect(status).toBe(302);
      await new Promise((r) => setTimeout(r, 20));
      expect(hits).toEqual(['/hook']);
    });

    it('fails to connect in cloud mode to a name that resolves to loopback', async () => {
      const { port } = server.address() as AddressInfo;
      const send = createHttpSender({ mode: 'cloud', allowHttp: true, resolve: dns });
      await expect(send(new URL(`http://localhost:${port}/ok`), '{}', {}, AbortSignal.timeout(5_000))).rejects.toThrow(PermanentError);
      expect(hits).not.toContain('/ok');
    });
  });
});
