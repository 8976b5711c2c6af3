/**
 * SSRF guard for user-supplied webhook URLs. In cloud mode a webhook must not reach the VPC, the
 * instance metadata service or loopback: URLs whose host is (or resolves to) a private, loopback,
 * link-local, CGNAT, multicast or reserved address are refused, IPv4 and IPv6 alike, including
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`). Only https unless `allowHttp`.
 *
 * The check runs twice: `checkWebhookUrl` when a URL is accepted, and `guardedLookup` at every
 * connection (pass it as the `lookup` of `http.request`), so a DNS answer that changes between the
 * two (DNS rebinding) is caught where it matters.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { PermanentError } from '../core/errors.js';

/** Resolves a host name to every address it has (`dns.lookup` with `all: true`). Injectable for tests. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Which webhook URLs are acceptable. */
export interface UrlPolicy {
  /**
   * `cloud`: strict, for URLs given by API users. `local`: the CLI on the user's own machine, where
   * `http://127.0.0.1:…` is legitimate; no address is refused.
   */
  readonly mode: 'cloud' | 'local';
  /** Accept `http:` URLs. @default true in local mode, false in cloud mode */
  readonly allowHttp?: boolean;
  /** Host names or IP literals exempt from the address check (tests, a known internal receiver). @default [] */
  readonly allowHosts?: readonly string[];
  /** @default dns.lookup with all: true */
  readonly resolve?: Resolver;
}

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Parse `raw` and check it against `policy`: scheme, credentials, and every address the host
 * resolves to. Returns the parsed URL. Throws `PermanentError` naming the URL and the reason; DNS
 * failures (the name does not resolve now) are thrown as they come, for the caller to retry.
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new PermanentError(`webhook URL ${raw} is not a valid URL`, { cause });
  }
  const shown = redactUrl(url);
  const allowHttp = policy.allowHttp ?? policy.mode === 'local';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowHttp)) {
    throw new PermanentError(`webhook URL ${shown} refused: ${allowHttp ? 'http or https' : 'https'} only`);
  }
  if (url.username || url.password) throw new PermanentError(`webhook URL ${shown} refused: credentials in the URL are not allowed`);
  if (policy.mode === 'local') return url;
  const host = hostOf(url);
  if (isAllowlisted(host, policy)) return url;
  if (isIP(host)) {
    if (isBlockedAddress(host)) throw new PermanentError(`webhook URL ${shown} refused: ${host} is a private, loopback or link-local address`);
    return url;
  }
  const addresses = await (policy.resolve ?? defaultResolver)(host);
  const bad = addresses.find((a) => isBlockedAddress(a.address));
  if (bad) throw new PermanentError(`webhook URL ${shown} refused: ${host} resolves to ${bad.address}, a private, loopback or link-local address`);
  return url;
}

/**
 * A `lookup` for `http.request` / `net.connect` that refuses to connect to blocked addresses
 * (cloud mode; local mode resolves unchecked). IP-literal hosts never reach a lookup, so
 * `checkWebhookUrl` must have passed first.
 */
export function guardedLookup(policy: UrlPolicy) {
  const resolve = policy.resolve ?? defaultResolver;
  return (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(hostname).then(
      (addresses) => {
        const usable = addresses.filter((a) => !options.family || a.family === options.family);
        const checked = policy.mode === 'local' || isAllowlisted(hostname, policy);
        const bad = checked ? undefined : usable.find((a) => isBlockedAddress(a.address));
        if (bad) {
          callback(new PermanentError(`webhook host ${hostname} resolves to ${bad.address}, a private, loopback or link-local address`), '', 0);
          return;
        }
        const first = usable[0];
        if (!first) {
          const err: NodeJS.ErrnoException = new Error(`webhook host ${hostname}: no address`);
          err.code = 'ENOTFOUND';
          callback(err, '', 0);
          return;
        }
        if (options.all) callback(null, [...usable]);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

const blockedV4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 (EC2/ECS metadata)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast
] as const) {
  blockedV4.addSubnet(net, prefix, 'ipv4');
}

const blockedV6 = new BlockList();
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: the IPv4 address inside is obfuscated, so the whole prefix is refused
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. fd00:ec2::254 (EC2 metadata over IPv6)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routable in some networks)
  ['ff00::', 8], // multicast
] as const) {
  blockedV6.addSubnet(net, prefix, 'ipv6');
}

/**
 * True for addresses a cloud webhook must not reach. IPv6 forms that embed an IPv4 address
 * (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, SIIT `::ffff:0:a.b.c.d`,
 * 6to4 `2002:aabb:ccdd::/48`) are judged by that address; Teredo (`2001::/32`) is refused outright.
 * Anything that is not an IP address is refused too.
 */
export function isBlockedAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(ip);
  if (family === 4) return blockedV4.check(ip, 'ipv4');
  if (family !== 6) return true;
  const bytes = ipv6Bytes(ip);
  const embedded = embeddedIpv4(bytes);
  if (embedded) return blockedV4.check(embedded, 'ipv4');
  return blockedV6.check(ip, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address. */
function embeddedIpv4(b: number[]): string | undefined {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 10) && b[10] === 0xff && b[11] === 0xff;
  const compatible = zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && b[15] === 1); // not :: or ::1
  const nat64 = b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12);
  // SIIT (RFC 6052/7915 "IPv4-translated"): ::ffff:0:a.b.c.d
  const translated = zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12);
  if (mapped || compatible || nat64 || translated) return b.slice(12).join('.');
  // 6to4 (RFC 3056): 2002:aabb:ccdd::/48 carries a.b.c.d in bytes 2–5.
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  return undefined;
}

/** The 16 bytes of a valid IPv6 address (with `::` and a trailing dotted quad expanded). */
function ipv6Bytes(ip: string): number[] {
  let text = ip.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

function isAllowlisted(host: string, policy: UrlPolicy): boolean {
  const h = host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  return (policy.allowHosts ?? []).some((a) => a.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase() === h);
}

/** The URL without credentials, query or fragment (which may hold tokens), for messages and logs. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
