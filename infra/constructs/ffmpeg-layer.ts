import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Annotations, AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, type ILayerVersion, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface FfmpegLayerProps {
  /**
   * CPU architecture of the binaries. x86_64 uses `@ffmpeg-installer/linux-x64` + `@ffprobe-installer/linux-x64`
   * (installed as dev dependencies). arm64 (about 20% cheaper per GB-second) needs
   * `@ffmpeg-installer/linux-arm64` + `@ffprobe-installer/linux-arm64` installed; synth fails with that advice otherwise.
   * @default Architecture.X86_64
   */
  readonly architecture?: Architecture;
  /**
   * An existing layer version with `bin/ffmpeg` and `bin/ffprobe` (e.g. a current static build), used instead of
   * the bundled one (`-c ffmpegLayerArn=…`). See docs/decisions/ffmpeg-version-policy.md.
   * @default the bundled 2018 build
   */
  readonly layerArn?: string;
  /** A zip with `bin/ffmpeg` and `bin/ffprobe`, published as this layer (`-c ffmpegLayerZip=…`). @default the bundled 2018 build */
  readonly layerZip?: string;
}

/**
 * A Lambda layer with static `ffmpeg` and `ffprobe` at `/opt/bin` (on the Lambda PATH), built at synth
 * time from the registry packages: no Docker, no download. The asset hash is the packages' versions, so
 * an unchanged layer is neither re-copied nor re-published.
 */
export class FfmpegLayer extends Construct {
  readonly layer: ILayerVersion;
  /** Where the binaries come from: `bundled`, `arn` or `zip`. */
  readonly source: 'bundled' | 'arn' | 'zip';
  /** Paths the splitter passes to the audio adapter. */
  static readonly ffmpegPath = '/opt/bin/ffmpeg';
  static readonly ffprobePath = '/opt/bin/ffprobe';

  constructor(scope: Construct, id: string, props: FfmpegLayerProps = {}) {
    super(scope, id);
    const architecture = props.architecture ?? Architecture.X86_64;
    if (props.layerArn) {
      this.source = 'arn';
      this.layer = LayerVersion.fromLayerVersionArn(this, 'Layer', props.layerArn);
      return;
    }
    if (props.layerZip) {
      if (!existsSync(props.layerZip)) throw new Error(`ffmpegLayerZip: ${props.layerZip} does not exist (a zip with bin/ffmpeg and bin/ffprobe)`);
      this.source = 'zip';
      this.layer = new LayerVersion(this, 'Layer', {
        description: 'static ffmpeg/ffprobe (ffmpegLayerZip)',
        compatibleArchitectures: [architecture],
        code: Code.fromAsset(props.layerZip),
      });
      return;
    }
    this.source = 'bundled';
    Annotations.of(this).addWarning(
      'ffmpeg layer: the bundled @ffmpeg-installer build is from 2018 and decodes untrusted uploads with known CVEs since; deploy a current static build with -c ffmpegLayerArn=… or -c ffmpegLayerZip=… (infra/README.md, docs/decisions/ffmpeg-version-policy.md)',
    );
    const platform = architecture === Architecture.ARM_64 ? 'linux-arm64' : 'linux-x64';
    const binaries = [locate(`@ffmpeg-installer/${platform}`, 'ffmpeg'), locate(`@ffprobe-installer/${platform}`, 'ffprobe')];

    this.layer = new LayerVersion(this, 'Layer', {
      description: `static ffmpeg/ffprobe (${binaries.map((b) => `${b.pkg}@${b.version}`).join(', ')})`,
      compatibleArchitectures: [architecture],
      code: Code.fromAsset(dirname(binaries[0]!.path), {
        assetHashType: AssetHashType.CUSTOM,
        assetHash: binaries.map((b) => `${b.pkg}@${b.version}`).join('+'),
        bundling: {
          image: DockerImage.fromRegistry('unused-local-bundling-only'),
          local: {
            tryBundle(outputDir: string) {
              const bin = join(outputDir, 'bin');
              mkdirSync(bin, { recursive: true });
              for (const b of binaries) {
                // Copy, then 0755: the package ships ffprobe as 0744, and Lambda runs as a non-root user.
                copyFileSync(b.path, join(bin, b.name));
                chmodSync(join(bin, b.name), 0o755);
              }
              return true;
            },
          },
        },
      }),
    });
  }
}

interface Binary {
  readonly pkg: string;
  readonly version: string;
  readonly name: string;
  readonly path: string;
}

function locate(pkg: string, name: string): Binary {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch (cause) {
    throw new Error(`FfmpegLayer: ${pkg} is not installed; run \`npm install --save-dev ${pkg}\` or choose the other architecture`, { cause });
  }
  const path = join(dirname(manifest), name);
  if (!existsSync(path)) throw new Error(`FfmpegLayer: ${path} is missing; reinstall ${pkg}`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return { pkg, version, name, path };
}
