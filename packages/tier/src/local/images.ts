// The images only the local environment runs: the two base images (pulled, or built offline) and the
// infra images (tagged with a hash of their sources, rebuilt only when those change). The app images
// are ../images/build.ts's. Builds use the docker format, which keeps HEALTHCHECK.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Progress } from '../backend.js';
import { exec } from '../exec.js';
import { imageId } from '../images/build.js';
import type { Engine } from './engine.js';
import type { LocalPaths } from './paths.js';

export interface BaseImages {
  readonly debian: string;
  readonly node: string;
}

export const INFRA_IMAGES = ['logs', 'db', 'lb', 'edge', 'metrics'] as const;
export type InfraImage = (typeof INFRA_IMAGES)[number];

export async function ensureBaseImages(engine: Engine, paths: LocalPaths, progress: Progress): Promise<BaseImages> {
  const { stdout } = await exec('bash', [join(paths.localDir, 'images/base/build.sh')], {
    env: { ...process.env, CLI: engine.cli, TIER_STATE_DIR: paths.stateDir },
    onLine: (line) => line.startsWith('base-images:') && progress.info(line.slice('base-images: '.length)),
    hint: 'building base images needs root (debootstrap) and the Debian mirror, or a registry with debian:trixie-slim',
  });
  const get = (key: string) => stdout.match(new RegExp(`^${key}=(.+)$`, 'm'))?.[1]?.trim() ?? '';
  return { debian: get('DEBIAN_IMAGE'), node: get('NODE_IMAGE') };
}

async function hashDir(dir: string, hash: ReturnType<typeof createHash>): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true, recursive: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  for (const file of entries)
    hash
      .update(relative(dir, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
}

/** Infra images, each tagged with the hash of its build context and base image: unchanged ones are not rebuilt. */
export async function ensureInfraImages(
  engine: Engine,
  paths: LocalPaths,
  base: BaseImages,
  progress: Progress,
): Promise<Record<InfraImage, string>> {
  const { stdout: baseId } = await exec(engine.cli, ['image', 'inspect', '--format', '{{.Id}}', base.debian]);
  const refs = {} as Record<InfraImage, string>;
  for (const name of INFRA_IMAGES) {
    const context = join(paths.localDir, 'images', name);
    const hash = createHash('sha256').update(baseId.trim());
    await hashDir(context, hash);
    const ref = `localhost/tier-${name}:${hash.digest('hex').slice(0, 12)}`;
    refs[name] = ref;
    if (await imageId(engine.cli, ref)) continue;
    progress.info(`building ${ref}`);
    await exec(engine.cli, buildArgs(engine, ['--build-arg', `DEBIAN_IMAGE=${base.debian}`, '-t', ref, context]), {
      hint: `build it by hand to see the whole output: ${engine.cli} build ${relative(paths.root, context)}`,
    });
  }
  return refs;
}

function buildArgs(engine: Engine, args: string[]): string[] {
  // docker format keeps HEALTHCHECK (OCI drops it); Docker's builder takes no --format.
  return engine.kind === 'podman' ? ['build', '-q', '--format', 'docker', ...args] : ['build', '-q', ...args];
}
