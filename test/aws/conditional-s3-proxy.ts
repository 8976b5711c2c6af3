/**
 * A conformance double for S3 conditional writes, in front of s3rver (which ignores `If-None-Match`).
 * PutObject and CompleteMultipartUpload carrying `If-None-Match: *` are checked and applied under a
 * per-key lock: 412 PreconditionFailed (S3's XML error) when the key exists, else forwarded. Everything
 * else is piped through, with whole-object GETs and PUTs of one key ordered (S3 puts are atomic; s3rver's
 * in-place writes are not). With it the S3 adapter's conditional path runs over real HTTP:
 * the SDK parses a real 412, the adapter turns it into `AlreadyExistsError`.
 *
 * It also fixes one s3rver decoding bug on the way through: S3 percent-decodes `x-amz-copy-source` fully
 * (`%2B` is `+`), s3rver only with `decodeURI` (which leaves `%2B`, `%2F`, … encoded), so a CopyObject of a key
 * with `+` fails there. The header is re-encoded into the form both decode to the same key. And it adds
 * UploadPartCopy (multipart copy of objects over 5 GB), which s3rver does not implement.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConditionalS3Proxy {
  readonly endpoint: string;
  /** Conditional writes refused with 412 so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Proxy `upstream` (an s3rver endpoint) on a free port. */
export async function startConditionalS3Proxy(upstream: string): Promise<ConditionalS3Proxy> {
  const target = new URL(upstream);
  const locks = new Map<string, Promise<void>>();
  let refused = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const up = request(
        { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: withS3rverCopySource(req.headers) },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', resolve);
          // A client that hangs up early (ffmpeg seeking, a size probe) must not hold the key's lock forever.
          res.on('close', () => {
            upRes.destroy();
            resolve();
          });
        },
      );
      up.on('error', (err) => {
        res.writeHead(502).end(String(err));
        resolve();
      });
      if (body) up.end(body);
      else req.pipe(up);
    });

  const exists = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const head = request({ hostname: target.hostname, port: target.port, path, method: 'HEAD' }, (r) => {
        r.resume();
        resolve(r.statusCode === 200);
      });
      head.on('error', reject);
      head.end();
    });

  /** One upstream request, body buffered: status, headers, body. */
  const call = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const r = request({ hostname: target.hostname, port: target.port, path, method, headers }, async (up) => {
        resolve({ status: up.statusCode ?? 502, headers: up.headers, body: await readAll(up) });
      });
      r.on('error', reject);
      r.end(body);
    });

  /**
   * UploadPartCopy, which s3rver answers with 501: read the source range (honouring
   * `x-amz-copy-source-if-match`), upload it as the part, answer with S3's `CopyPartResult`.
   */
  const uploadPartCopy = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    await readAll(req);
    const source = decodeURIComponent(String(req.headers['x-amz-copy-source'])).replace(/^\//, '');
    const sourcePath = `/${source.split('/').map(encodeURIComponent).join('/')}`;
    const range = req.headers['x-amz-copy-source-range'];
    const got = await call('GET', sourcePath, typeof range === 'string' ? { range } : {});
    const ifMatch = req.headers['x-amz-copy-source-if-match'];
    const xmlError = (status: number, code: string): void =>
      void res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
    if (got.status === 404) return xmlError(404, 'NoSuchKey');
    if (typeof ifMatch === 'string' && got.headers.etag !== ifMatch) return xmlError(412, 'PreconditionFailed');
    const put = await call('PUT', (req.url ?? '').replace(/&x-id=UploadPartCopy/, ''), { 'content-length': String(got.body.length) }, got.body);
    if (put.status !== 200) return void res.writeHead(put.status, put.headers).end(put.body);
    res
      .writeHead(200, { 'content-type': 'application/xml' })
      .end(`<?xml version="1.0" encoding="UTF-8"?><CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>${put.headers.etag}</ETag></CopyPartResult>`);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const conditional =
      req.headers['if-none-match'] === '*' &&
      ((req.method === 'PUT' && !url.searchParams.has('partNumber')) || (req.method === 'POST' && url.searchParams.has('uploadId')));
    if (req.method === 'PUT' && url.searchParams.has('partNumber') && typeof req.headers['x-amz-copy-source'] === 'string') {
      void uploadPartCopy(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
      return;
    }
    if (!conditional) {
      const objectKey = url.pathname.split('/').filter(Boolean).length >= 2 ? url.pathname : undefined;
      const wholePut = req.method === 'PUT' && !url.searchParams.has('partNumber') && !url.searchParams.has('uploadId');
      if (objectKey && (wholePut || req.method === 'GET')) {
        // s3rver overwrites a file in place, so a GET racing a PUT can read a partial (even empty) object.
        // S3 puts are atomic: order whole-object GETs and PUTs of one key, as the conditional path does.
        const previous = locks.get(objectKey) ?? Promise.resolve();
        const bodyRead = wholePut ? readAll(req) : Promise.resolve(undefined);
        const current = previous.then(async () => forward(req, res, await bodyRead)).catch((err) => {
          if (!res.headersSent) res.writeHead(500).end(String(err));
        });
        locks.set(objectKey, current);
        return;
      }
      void forward(req, res);
      return;
    }
    // Read the body first, so the lock is held only for check + write.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = url.pathname;
      const previous = locks.get(key) ?? Promise.resolve();
      const checkAndWrite = async () => {
        if (await exists(key)) {
          refused += 1;
          res.writeHead(412, { 'content-type': 'application/xml' }).end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>',
          );
          return;
        }
        await forward(req, res, Buffer.concat(chunks));
      };
      const current = previous.then(async () => {
        try {
          await checkAndWrite();
        } catch (err) {
          if (!res.headersSent) res.writeHead(500).end(String(err));
        }
      });
      locks.set(key, current);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `x-amz-copy-source` as S3 reads it (fully percent-decoded), re-encoded so s3rver's `decodeURI` yields the same key. */
function withS3rverCopySource(headers: IncomingMessage['headers']): IncomingMessage['headers'] {
  const source = headers['x-amz-copy-source'];
  if (typeof source !== 'string') return headers;
  return { ...headers, 'x-amz-copy-source': encodeURI(decodeURIComponent(source)) };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
