/**
 * Issue 11: `s3:ListBucket` is scoped by `s3:prefix` to what each function may read (it used to be granted on
 * the whole bucket, so any function could enumerate `api-keys/` hashes and every tenant's file names), and the
 * splitter may not read chunk transcripts (`jobs/*\/chunks/*`: any tenant's, since job ids carry no tenant). Checked on
 * the CLI-synthesized template with the harness's IAM evaluator (iam.ts), which evaluates `s3:prefix`. That the
 * pipeline still runs under these policies, including reads of missing keys (403 from S3, see aws-gateway.ts),
 * is what the artifact pipeline and crash tests show (no denied call).
 */
import { describe, expect, it } from 'vitest';
import { PIPELINE_CONTEXT } from './artifact-context.js';
import { evaluate, rolePolicies } from './iam.js';
import { synthesizedAssembly, TEST_ENV } from './synth.js';
import { intrinsicResolver, ofType, physicalResources, referencedId } from './template.js';

describe('artifact: who may list which prefix of the bucket', () => {
  it('each function lists only under prefixes it reads; nobody lists the whole bucket', { timeout: 900_000 }, async () => {
    const { template } = await synthesizedAssembly(PIPELINE_CONTEXT);
    const physical = physicalResources(template, TEST_ENV, (name) => `http://gateway/${TEST_ENV.account}/${name}`);
    const policies = rolePolicies(template, intrinsicResolver(TEST_ENV, physical));
    const bucketArn = [...physical.entries()].find(([id]) => id.startsWith('IngestBucket'))![1].attributes.Arn!;
    const roleOf = (prefix: string) => {
      const [, fn] = ofType(template, 'AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))!;
      return policies.get(referencedId(fn.Properties?.Role) ?? '') ?? [];
    };
    const mayList = (fn: string, prefix?: string) => evaluate(roleOf(fn), 's3:ListBucket', bucketArn, prefix === undefined ? {} : { 's3:prefix': prefix }).allowed;

    for (const fn of ['Splitter', 'Transcriber', 'Aggregator', 'Api']) {
      expect(mayList(fn), `${fn}: a listing without a prefix`).toBe(false);
      expect(mayList(fn, ''), `${fn}: a listing from the root`).toBe(false);
    }
    // what the stages list: chunk results (fan-in), the running index (sweeper), a tenant's index (API)
    expect(mayList('Transcriber', 'jobs/0123456789abcdef0123/chunks/')).toBe(true);
    expect(mayList('Splitter', 'jobs/0123456789abcdef0123/chunks/')).toBe(true);
    expect(mayList('Aggregator', 'jobs/0123456789abcdef0123/chunks/')).toBe(true);
    expect(mayList('Api', 'tenants/acme/index/')).toBe(true);
    expect(mayList('Api', 'results/0123456789abcdef0123/')).toBe(true);
    // what they must not enumerate: API key hashes, the job records and sources of tenants (but for the API)
    for (const fn of ['Splitter', 'Transcriber', 'Aggregator']) {
      expect(mayList(fn, 'api-keys/'), `${fn} lists api-keys/`).toBe(false);
      expect(mayList(fn, 'tenants/acme/jobs/'), `${fn} lists tenant records`).toBe(false);
    }
    expect(mayList('Transcriber', 'inbox/')).toBe(false);
    expect(mayList('Transcriber', 'results/')).toBe(false);
    expect(mayList('Splitter', 'results/')).toBe(false);

    // the splitter (ffmpeg on untrusted uploads) reads job state but no chunk transcript; the stages after it do
    const mayRead = (fn: string, key: string) => evaluate(roleOf(fn), 's3:GetObject', `${bucketArn}/${key}`).allowed;
    const job = 'jobs/0123456789abcdef0123';
    for (const key of ['manifest.json', 'status.json', 'request.json', 'source.claim', 'aggregate.claim', 'audio/00000-0-60000.flac']) {
      expect(mayRead('Splitter', `${job}/${key}`), `splitter reads ${key}`).toBe(true);
    }
    expect(mayRead('Splitter', `${job}/chunks/00000-0-60000.json`)).toBe(false);
    expect(mayRead('Aggregator', `${job}/chunks/00000-0-60000.json`)).toBe(true);
    expect(mayRead('Transcriber', `${job}/chunks/00000-0-60000.json`)).toBe(true);
  });
});
