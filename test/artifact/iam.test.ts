/**
 * The artifact harness's IAM evaluator and request → action mapping (iam.ts), on statements shaped as CDK
 * writes them (resolved from intrinsics) and on S3 REST / SQS requests as the SDK sends them.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, rolePolicies, s3Authorizations, sqsAction, type Statement, wildcardMatch } from './iam.js';
import { type CfnTemplate, intrinsicResolver, physicalResources } from './template.js';

const env = { account: '123456789012', region: 'eu-west-1', stackName: 'Voxpipe' };

const template: CfnTemplate = {
  Resources: {
    Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
    Work: { Type: 'AWS::SQS::Queue', Properties: {} },
    Role: { Type: 'AWS::IAM::Role', Properties: {} },
    Policy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'Role' }],
        PolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: ['s3:GetObject*', 's3:PutObject'], Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/jobs/*']] } },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
            { Effect: 'Deny', Action: 's3:*', Resource: { 'Fn::Sub': '${Bucket.Arn}/jobs/secret/*' } },
            { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Work', 'Arn'] } },
          ],
        },
      },
    },
  },
};

describe('IAM evaluator', () => {
  const physical = physicalResources(template, env, (name) => `http://gateway/${env.account}/${name}`);
  const statements = rolePolicies(template, intrinsicResolver(env, physical)).get('Role')!;
  const bucketArn = physical.get('Bucket')!.attributes.Arn!;
  const queueArn = physical.get('Work')!.attributes.Arn!;

  it('allows a call a statement grants, with wildcards in action and resource', () => {
    expect(queueArn).toMatch(/^arn:aws:sqs:eu-west-1:123456789012:Voxpipe-Work-/);
    expect(evaluate(statements, 's3:GetObjectVersion', `${bucketArn}/jobs/j1/manifest.json`)).toMatchObject({ allowed: true, reason: 'allow' });
    expect(evaluate(statements, 'SQS:SendMessage', queueArn).allowed).toBe(true); // actions are case-insensitive
  });

  it('denies what no statement grants, and an explicit Deny over an Allow', () => {
    expect(evaluate(statements, 's3:DeleteObject', `${bucketArn}/jobs/j1/manifest.json`)).toEqual({ allowed: false, reason: 'implicit-deny' });
    expect(evaluate(statements, 's3:GetObject', `${bucketArn}/api-keys/k`)).toMatchObject({ allowed: false, reason: 'implicit-deny' });
    expect(evaluate(statements, 's3:GetObject', `${bucketArn}/jobs/secret/x`)).toMatchObject({ allowed: false, reason: 'explicit-deny' });
    expect(evaluate(statements, 'sqs:SendMessage', queueArn.replace(/Work/, 'Other')).allowed).toBe(false);
  });

  it('honours NotAction / NotResource and ? wildcards', () => {
    const s: Statement[] = [{ Effect: 'Allow', NotAction: 's3:Delete*', NotResource: 'arn:aws:s3:::b/private/*' }];
    expect(evaluate(s, 's3:PutObject', 'arn:aws:s3:::b/x').allowed).toBe(true);
    expect(evaluate(s, 's3:DeleteObject', 'arn:aws:s3:::b/x').allowed).toBe(false);
    expect(evaluate(s, 's3:PutObject', 'arn:aws:s3:::b/private/x').allowed).toBe(false);
    expect(wildcardMatch('secret:voxpipe-key-??????', 'secret:voxpipe-key-AbCdEf')).toBe(true);
    expect(wildcardMatch('secret:voxpipe-key-??????', 'secret:voxpipe-key-AbCdE')).toBe(false);
  });

  it('evaluates s3:prefix conditions: a listing under a granted prefix only, no listing without a prefix', () => {
    const s: Statement[] = [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b', Condition: { StringLike: { 's3:prefix': ['jobs/*', 'tenants/*/inbox/*'] } } }];
    expect(evaluate(s, 's3:ListBucket', 'arn:aws:s3:::b', { 's3:prefix': 'jobs/j1/chunks/' }).allowed).toBe(true);
    expect(evaluate(s, 's3:ListBucket', 'arn:aws:s3:::b', { 's3:prefix': 'tenants/acme/inbox/x.mp3' }).allowed).toBe(true);
    expect(evaluate(s, 's3:ListBucket', 'arn:aws:s3:::b', { 's3:prefix': 'tenants/acme/jobs/' }).allowed).toBe(false);
    expect(evaluate(s, 's3:ListBucket', 'arn:aws:s3:::b', { 's3:prefix': 'api-keys/' }).allowed).toBe(false);
    expect(evaluate(s, 's3:ListBucket', 'arn:aws:s3:::b').allowed).toBe(false); // no prefix: nothing matches
    const ifExists: Statement[] = [{ ...s[0]!, Condition: { StringLikeIfExists: { 's3:prefix': 'jobs/*' } } }];
    expect(evaluate(ifExists, 's3:ListBucket', 'arn:aws:s3:::b').allowed).toBe(true);
    // a condition on a key this model does not know is applied as if it held
    expect(evaluate([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }], 's3:GetObject', 'arn:aws:s3:::b/k').allowed).toBe(true);
  });
});

describe('request → IAM action', () => {
  const url = (path: string) => new URL(path, 'http://gateway');

  it('maps S3 REST requests to actions on object and bucket ARNs (keys decoded)', () => {
    expect(s3Authorizations('GET', url('/b/inbox/a%20b%2Bc.mp3'), {})).toEqual([{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/inbox/a b+c.mp3' }]);
    expect(s3Authorizations('HEAD', url('/b/k'), {})).toEqual([{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' }]);
    expect(s3Authorizations('PUT', url('/b/k'), {})).toEqual([{ action: 's3:PutObject', resource: 'arn:aws:s3:::b/k' }]);
    expect(s3Authorizations('PUT', url('/b/dst'), { 'x-amz-copy-source': '/b/src%20x' })).toEqual([
      { action: 's3:PutObject', resource: 'arn:aws:s3:::b/dst' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::b/src x' },
    ]);
    expect(s3Authorizations('DELETE', url('/b/k'), {})).toEqual([{ action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/k' }]);
    expect(s3Authorizations('DELETE', url('/b/k?uploadId=1'), {})).toEqual([{ action: 's3:AbortMultipartUpload', resource: 'arn:aws:s3:::b/k' }]);
    expect(s3Authorizations('GET', url('/b?list-type=2&prefix=jobs/'), {})).toEqual([{ action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'jobs/' } }]);
    expect(s3Authorizations('GET', url('/b?list-type=2'), {})).toEqual([{ action: 's3:ListBucket', resource: 'arn:aws:s3:::b' }]);
    expect(s3Authorizations('POST', url('/b?delete'), {}, Buffer.from('<Delete><Object><Key>a&amp;b</Key></Object></Delete>'))).toEqual([
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/a&b' },
    ]);
  });

  it('maps SQS operations (JSON targets and query actions) to IAM actions', () => {
    expect(sqsAction('AmazonSQS.SendMessageBatch')).toBe('sqs:SendMessage');
    expect(sqsAction('DeleteMessageBatch')).toBe('sqs:DeleteMessage');
    expect(sqsAction('AmazonSQS.ChangeMessageVisibility')).toBe('sqs:ChangeMessageVisibility');
  });
});
