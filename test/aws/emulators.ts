/**
 * S3 and SQS emulators over real HTTP, for the adapter contract suites and the Lambda harness.
 * - S3: s3rver, in a child process (see s3rver-child.mjs for why). It ignores `If-None-Match`, so
 *   conditional writes are not tested against it.
 * - SQS: local-aws-sqs, in-process (`createSqsServer`), on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Credentials and region the emulators accept. */
export const FAKE_AWS = { region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } as const;

/**
 * The environment a handler sees in the harness: fake credentials, SDK endpoints pointed at the emulators,
 * checksums as the emulators accept them, Powertools quiet. Callers add their `VOXPIPE_*` settings.
 */
export function emulatedAwsEnv(endpoints: { sqs: string; json: string; bucket: string; s3: string }, service: string): Record<string, string> {
  return {
    AWS_REGION: FAKE_AWS.region,
    AWS_ACCESS_KEY_ID: FAKE_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_AWS.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.json,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.json,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    POWERTOOLS_LOG_LEVEL: process.env.VOXPIPE_TEST_LOG_LEVEL ?? 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: service,
    VOXPIPE_BUCKET: endpoints.bucket,
    VOXPIPE_S3_ENDPOINT: endpoints.s3,
  };
}

export interface S3Emulator {
  readonly endpoint: string;
  client(): S3Client;
  close(): Promise<void>;
}

/** Start s3rver with the given buckets. */
export async function startS3Emulator(buckets: readonly string[]): Promise<S3Emulator> {
  const directory = mkdtempSync(join(tmpdir(), 'voxpipe-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', join(import.meta.dirname, 's3rver-child.mjs'), directory, ...buckets], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    client: () =>
      new S3Client({
        ...FAKE_AWS,
        endpoint,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface SqsEmulator {
  readonly endpoint: string;
  client(): SQSClient;
  close(): Promise<void>;
}

/** Start local-aws-sqs in this process. */
export async function startSqsEmulator(): Promise<SqsEmulator> {
  const { createSqsServer } = await import('local-aws-sqs');
  const port = await freePort();
  const server = await createSqsServer({ port, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    client: () => new SQSClient({ ...FAKE_AWS, endpoint }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
