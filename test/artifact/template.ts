/**
 * The synthesized CloudFormation template as the artifact harness reads it: resources by type, and the
 * intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`) resolved against
 * physical names the harness chooses for the test account and region, the way CloudFormation would.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, any>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** Account and region of the synth (`CDK_DEFAULT_ACCOUNT` / `AWS_REGION` given to the CDK CLI). */
export interface TestEnvironment {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
}

/** What `Ref` and `Fn::GetAtt` of one resource resolve to. */
export interface Physical {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * Physical names as CloudFormation makes them (`<stack>-<logicalId>-<suffix>`, buckets lower-case), and the
 * `Ref`/`GetAtt` values of each resource type the stack uses. `queueUrl` decides where queue URLs point
 * (the harness's gateway instead of `https://sqs.<region>.amazonaws.com`).
 */
export function physicalResources(template: CfnTemplate, env: TestEnvironment, queueUrl: (name: string) => string): Map<string, Physical> {
  const { account, region, stackName } = env;
  const out = new Map<string, Physical>();
  const suffix = (id: string) => {
    let h = 0;
    for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return h.toString(36).toUpperCase().padStart(7, '0').slice(0, 7);
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    const name = `${stackName}-${id}-${suffix(id)}`.slice(0, 64);
    switch (r.Type) {
      case 'AWS::S3::Bucket': {
        const bucket = (typeof p.BucketName === 'string' ? p.BucketName : `${stackName}-${id}-${suffix(id)}`.toLowerCase()).slice(0, 63);
        out.set(id, { ref: bucket, attributes: { Arn: `arn:aws:s3:::${bucket}`, DomainName: `${bucket}.s3.amazonaws.com` } });
        break;
      }
      case 'AWS::SQS::Queue': {
        const queueName = typeof p.QueueName === 'string' ? p.QueueName : name.slice(0, 80);
        out.set(id, { ref: queueUrl(queueName), attributes: { Arn: `arn:aws:sqs:${region}:${account}:${queueName}`, QueueName: queueName, QueueUrl: queueUrl(queueName) } });
        break;
      }
      case 'AWS::Events::EventBus': {
        const busName = typeof p.Name === 'string' ? p.Name : name;
        out.set(id, { ref: busName, attributes: { Arn: `arn:aws:events:${region}:${account}:event-bus/${busName}`, Name: busName } });
        break;
      }
      case 'AWS::SecretsManager::Secret': {
        // Secrets Manager appends a random 6-character suffix to every secret ARN.
        const secretName = typeof p.Name === 'string' ? p.Name : `${id}-${suffix(id)}`;
        const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${secretName}-AbCdEf`;
        out.set(id, { ref: arn, attributes: { Id: arn } });
        break;
      }
      case 'AWS::CloudFront::Distribution': {
        const distributionId = `E${suffix(id)}`;
        out.set(id, { ref: distributionId, attributes: { Id: distributionId, DomainName: `d${suffix(id).toLowerCase()}.cloudfront.net` } });
        break;
      }
      case 'AWS::ApiGatewayV2::Api': {
        const apiId = suffix(id).toLowerCase();
        out.set(id, { ref: apiId, attributes: { ApiId: apiId, ApiEndpoint: `https://${apiId}.execute-api.${region}.amazonaws.com` } });
        break;
      }
      case 'AWS::Lambda::Function':
        out.set(id, { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` } });
        break;
      case 'AWS::IAM::Role':
        out.set(id, { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: `AROA${suffix(id)}` } });
        break;
      case 'AWS::Lambda::LayerVersion':
        out.set(id, { ref: `arn:aws:lambda:${region}:${account}:layer:${name}:1`, attributes: {} });
        break;
      case 'AWS::Logs::LogGroup': {
        const group = typeof p.LogGroupName === 'string' ? p.LogGroupName : name;
        out.set(id, { ref: group, attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${group}:*` } });
        break;
      }
      default:
        out.set(id, { ref: name, attributes: { Arn: `arn:aws:cloudformation:${region}:${account}:${id}` } });
    }
  }
  return out;
}

/** Resolves intrinsic functions to plain values. Throws on anything it cannot resolve, naming it. */
export function intrinsicResolver(env: TestEnvironment, physical: ReadonlyMap<string, Physical>): (value: unknown) => any {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': env.region,
    'AWS::AccountId': env.account,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': env.stackName,
    'AWS::StackId': `arn:aws:cloudformation:${env.region}:${env.account}:stack/${env.stackName}/00000000-0000-0000-0000-000000000000`,
  };
  const ref = (name: string): string => {
    if (name in pseudo) return pseudo[name]!;
    const p = physical.get(name);
    if (!p) throw new Error(`cannot resolve Ref ${name}`);
    return p.ref;
  };
  const getAtt = (id: string, attr: string): string => {
    const value = physical.get(id)?.attributes[attr];
    if (value === undefined) throw new Error(`cannot resolve Fn::GetAtt ${id}.${attr}`);
    return value;
  };
  const resolve = (value: unknown): any => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          return getAtt(id!, attr!);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (resolve(parts) as unknown[]).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (resolve(list) as unknown[])[Number(resolve(index))];
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, unknown];
          return String(resolve(source)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
          const bound = resolve(vars) as Record<string, string>;
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name.startsWith('!')) return `\${${name.slice(1)}}`;
            if (name in bound) return bound[name]!;
            if (name.includes('.')) {
              const [id, attr] = name.split('.');
              return getAtt(id!, attr!);
            }
            return ref(name);
          });
        }
        default:
          if (fn.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${fn}`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}

/** Resources of one type, as `[logicalId, resource]`. */
export function ofType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
export function referencedId(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  const att = v['Fn::GetAtt'];
  if (Array.isArray(att)) return att[0] as string;
  if (typeof att === 'string') return att.split('.')[0];
  return undefined;
}
