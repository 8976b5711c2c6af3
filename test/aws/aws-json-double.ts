/**
 * A double for the two JSON-protocol AWS services the handlers call besides S3 and SQS:
 * EventBridge `PutEvents` (events are recorded) and Secrets Manager `GetSecretValue` (answers from a map).
 * Reached through the SDK's own `AWS_ENDPOINT_URL_EVENTBRIDGE` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One PutEvents entry as received. */
export interface RecordedEvent {
  readonly source: string;
  readonly detailType: string;
  readonly eventBusName: string;
  readonly detail: Record<string, any>;
}

export interface AwsJsonDouble {
  readonly endpoint: string;
  readonly events: RecordedEvent[];
  /** Secret values by id (ARN or name). */
  readonly secrets: Map<string, string>;
  close(): Promise<void>;
}

export async function startAwsJsonDouble(): Promise<AwsJsonDouble> {
  const events: RecordedEvent[] = [];
  const secrets = new Map<string, string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const reply = (status: number, payload: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
      if (target === 'AWSEvents.PutEvents') {
        for (const e of body.Entries ?? []) {
          events.push({ source: e.Source, detailType: e.DetailType, eventBusName: e.EventBusName, detail: JSON.parse(e.Detail) });
        }
        reply(200, { FailedEntryCount: 0, Entries: (body.Entries ?? []).map((_: unknown, i: number) => ({ EventId: `e-${events.length}-${i}` })) });
      } else if (target === 'secretsmanager.GetSecretValue') {
        const value = secrets.get(body.SecretId);
        if (value === undefined) reply(400, { __type: 'ResourceNotFoundException', message: `no secret ${body.SecretId}` });
        else reply(200, { ARN: body.SecretId, Name: 'voxpipe-key', SecretString: value, VersionId: 'v1' });
      } else {
        reply(400, { __type: 'UnknownOperationException', message: target });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    events,
    secrets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
