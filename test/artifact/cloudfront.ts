/**
 * The dashboard's front door as the template wires it, on this machine: one HTTP server standing for the CloudFront
 * distribution and the HTTP API behind it.
 *
 * - CloudFront: the distribution's cache behaviours decide, by path pattern, whether a request goes to the HTTP API
 *   (every viewer header but Host, as `ALL_VIEWER_EXCEPT_HOST_HEADER` does) or to the asset bucket, whose content
 *   is the BucketDeployment's asset folder in the cloud assembly (what `cdk deploy` uploads); `/` is the default
 *   root object; bucket responses get the response headers policy's security headers (CSP, HSTS, nosniff, frame).
 * - HTTP API: only the template's route keys (`GET /jobs/{jobId}`, `POST /ui/api/{proxy+}`, …) reach the function,
 *   anything else is API Gateway's `404 {"message":"Not Found"}`; requests become payload-v2 events (cookies in
 *   `event.cookies`, form bodies base64-encoded) and the function's structured result becomes the response
 *   (`cookies` → one `Set-Cookie` each).
 * What differs from AWS: plain http on 127.0.0.1 (the distribution is https on *.cloudfront.net), so the page's
 * Origin is this server's (the test tells the function so, see its envOverrides).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { ArtifactDeployment } from './deployment.js';
import type { CloudAssembly } from './synth.js';
import { ofType, referencedId } from './template.js';

export interface DashboardFront {
  /** `http://127.0.0.1:PORT`: where the browser opens the dashboard. */
  readonly url: string;
  /** Start answering API requests with this deployment's API function. */
  attach(deployment: ArtifactDeployment): void;
  /** API requests seen (method, path, status), for failure messages. */
  readonly requests: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export async function startDashboardFront(assembly: CloudAssembly): Promise<DashboardFront> {
  const { template } = assembly;
  const [[, distribution] = []] = ofType(template, 'AWS::CloudFront::Distribution');
  if (!distribution) throw new Error('the template has no CloudFront distribution (synthesize with -c dashboard=true)');
  const config = distribution.Properties!.DistributionConfig;
  const apiPatterns: string[] = (config.CacheBehaviors ?? []).map((b: { PathPattern: string }) => b.PathPattern);
  const toRegex = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const apiBehaviours = apiPatterns.map(toRegex);

  // The response headers policy of the default behaviour.
  const policyId = referencedId(config.DefaultCacheBehavior.ResponseHeadersPolicyId);
  const security = policyId ? template.Resources[policyId]?.Properties?.ResponseHeadersPolicyConfig?.SecurityHeadersConfig : undefined;
  const assetHeaders: Record<string, string> = {};
  if (security?.ContentSecurityPolicy) assetHeaders['content-security-policy'] = security.ContentSecurityPolicy.ContentSecurityPolicy;
  if (security?.ContentTypeOptions) assetHeaders['x-content-type-options'] = 'nosniff';
  if (security?.FrameOptions) assetHeaders['x-frame-options'] = security.FrameOptions.FrameOption;
  if (security?.ReferrerPolicy) assetHeaders['referrer-policy'] = security.ReferrerPolicy.ReferrerPolicy;
  if (security?.StrictTransportSecurity) assetHeaders['strict-transport-security'] = `max-age=${security.StrictTransportSecurity.AccessControlMaxAgeSec}`;

  // The deployed assets: the BucketDeployment's source asset (`<hash>.zip` is the folder `asset.<hash>`).
  const [[, deployment] = []] = ofType(template, 'Custom::CDKBucketDeployment');
  const zip = String(deployment?.Properties?.SourceObjectKeys?.[0] ?? '');
  const assetDir = join(assembly.dir, `asset.${zip.replace(/\.zip$/, '')}`);
  if (!existsSync(join(assetDir, 'index.html'))) throw new Error(`no deployed web assets at ${assetDir}`);

  // The HTTP API's routes.
  const routes = ofType(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => {
    const key = String(r.Properties!.RouteKey);
    const [method = '', path = ''] = key.split(' ');
    const regex = new RegExp(`^${path.replace(/\{[^}]+\+\}/g, '.+').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return { key, method, regex };
  });

  let target: ArtifactDeployment | undefined;
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      requests.push(`${req.method} ${req.url} → front error ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('502 front error');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front');
    if (apiBehaviours.some((r) => r.test(url.pathname))) return api(req, res, url);
    // S3 origin: the default root object, else the object at the path; S3 answers 403 for a missing key (OAC).
    const key = url.pathname === '/' ? String(config.DefaultRootObject) : url.pathname.slice(1);
    const file = normalize(join(assetDir, key));
    if (!file.startsWith(assetDir) || !existsSync(file)) {
      res.writeHead(403, { 'content-type': 'application/xml', ...assetHeaders });
      return void res.end('<Error><Code>AccessDenied</Code></Error>');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...assetHeaders });
    res.end(readFileSync(file));
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const route = routes.find((r) => (r.method === method || r.method === 'ANY') && r.regex.test(url.pathname));
    if (!route || !target) {
      requests.push(`${method} ${url.pathname} → 404 (no route)`);
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end('{"message":"Not Found"}');
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (k !== 'host' && k !== 'cookie' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const apiDomain = 'abcdef1234.execute-api.eu-west-1.amazonaws.com';
    headers.host = apiDomain;
    headers['x-forwarded-proto'] = 'https';
    const cookies = req.headers.cookie?.split(';').map((c) => c.trim()).filter(Boolean);
    const textual = /^(text\/|application\/json)/.test(req.headers['content-type'] ?? '');
    const event = {
      version: '2.0',
      routeKey: route.key,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      ...(cookies?.length ? { cookies } : {}),
      headers,
      ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
      requestContext: {
        accountId: '123456789012',
        apiId: 'abcdef1234',
        domainName: apiDomain,
        domainPrefix: 'abcdef1234',
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' },
        requestId: randomUUID(),
        routeKey: route.key,
        stage: '$default',
        time: new Date().toISOString(),
        timeEpoch: Date.now(),
      },
      ...(raw.length ? { body: textual ? raw.toString('utf8') : raw.toString('base64'), isBase64Encoded: !textual } : { isBase64Encoded: false }),
    };
    const result = (await target.fn('ApiHandler').invoke(event)) as {
      statusCode: number;
      headers?: Record<string, string>;
      cookies?: string[];
      body?: string;
      isBase64Encoded?: boolean;
    };
    requests.push(`${method} ${url.pathname} → ${result.statusCode}`);
    res.writeHead(result.statusCode, { ...(result.headers ?? {}), ...(result.cookies?.length ? { 'set-cookie': result.cookies } : {}) });
    res.end(result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    attach(deployment) {
      target = deployment;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
