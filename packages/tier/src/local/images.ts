// Every image the environment runs: the two base images (pulled, or built offline), the infra
// images (tagged with a hash of their sources, rebuilt only when those change) and the app images
// (tagged with the git version). Builds use the docker format, which keeps HEALTHCHECK.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DEPLOY_ORDER, type Progress, type TierName } from '../backend.js';
import { exec } from '../exec.js';
import { buildImages, imageId, imageName } from '../pipeline/images.js';
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

/** The version the app images carry: the git short sha, with -dirty when their sources have uncommitted changes. */
export async function appVersion(paths: LocalPaths): Promise<string> {
  if (process.env.APP_VERSION) return process.env.APP_VERSION;
  const { stdout: sha } = await exec('git', ['rev-parse', '--short', 'HEAD'], { cwd: paths.root }).catch(() => ({
    stdout: 'dev',
  }));
  const { stdout: changes } = await exec(
    'git',
    [
      'status',
      '--porcelain',
      '--',
      'apps',
      'packages/runtime',
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
    ],
    { cwd: paths.root },
  ).catch(() => ({ stdout: '' }));
  return `${sha.trim()}${changes.trim() ? '-dirty' : ''}`;
}

function buildArgs(engine: Engine, args: string[]): string[] {
  // docker format keeps HEALTHCHECK (OCI drops it); Docker's builder takes no --format.
  return engine.kind === 'podman' ? ['build', '-q', '--format', 'docker', ...args] : ['build', '-q', ...args];
}

/** The local reference of an app image (docs/conventions.md). */
export const appImageRef = imageName;

/** Builds the web and api images for a version (skipped when a clean version's images exist). */
export async function ensureAppImages(
  engine: Engine,
  paths: LocalPaths,
  base: BaseImages,
  version: string,
  progress: Progress,
  tiers: readonly TierName[] = DEPLOY_ORDER,
): Promise<Record<TierName, string>> {
  const refs = {} as Record<TierName, string>;
  for (const tier of tiers) {
    const ref = imageName(tier, version);
    refs[tier] = ref;
    if (!version.endsWith('-dirty') && (await imageId(engine.cli, ref))) continue;
    progress.info(`building ${ref}`);
    await buildImages({
      root: paths.root,
      version,
      tiers: [tier],
      nodeImage: base.node,
      logDir: join(paths.stateDir, 'builds', version),
      engine: engine.kind,
    });
  }
  return refs;
}
