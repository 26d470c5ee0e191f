// The app images of every target and command (`tier up`, `tier deploy`, `tier pipeline`, ci:images): one
// immutable image per tier from its Dockerfile, tagged with the tree's version (git.ts), built once per
// version and reused after, its content id (and pushed digest) recorded.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TierError, type TierName } from '../backend.js';
import { detectEngine, type EngineKind } from '../engine-setup.js';
import { exec } from '../exec.js';

export interface ImageRecord {
  readonly tier: TierName;
  /** Local reference, `localhost/tier-<tier>:<version>` (docs/conventions.md). */
  readonly image: string;
  readonly version: string;
  /** Content id of the built image (`sha256:...`): the same bytes always have the same id. */
  readonly id: string;
  /** Registry reference pinned by digest (`<repo>@sha256:...`), once pushed. */
  readonly pushed?: string;
  readonly builtAt: string;
}

export interface BuildOptions {
  readonly root: string;
  readonly version: string;
  readonly tiers: readonly TierName[];
  /** Base image build argument (NODE_IMAGE); default: the Dockerfile's own (localhost/tier-node:24). */
  readonly nodeImage?: string;
  /**
   * Push after building and record the pushed digest: a repository template with `{tier}`, e.g.
   * `123456789012.dkr.ecr.eu-west-1.amazonaws.com/tier-dev/{tier}` (the tag is always the version).
   */
  readonly pushTo?: string;
  /** Where each build's output goes (one log per tier). */
  readonly logDir: string;
  readonly engine?: EngineKind;
  /** Called with each finished image, so a progress display can show it. */
  readonly onImage?: (record: ImageRecord) => void;
}

export const imageName = (tier: TierName, version: string) => `localhost/tier-${tier}:${version}`;

/** The machine's CA bundle, passed to npm inside builds (a TLS-inspecting proxy needs it). */
export function caBundle(): string {
  const candidates = [
    process.env.NODE_EXTRA_CA_CERTS,
    '/etc/ssl/certs/ca-certificates.crt',
    '/etc/pki/tls/certs/ca-bundle.crt',
  ];
  return candidates.find((f): f is string => !!f && existsSync(f)) ?? '/dev/null';
}

/** Bakes the version into an image as APP_VERSION and OCI labels. */
export function versionBuildArgs(engine: EngineKind, version: string): string[] {
  const args = ['--build-arg', `APP_VERSION=${version}`];
  // buildah's layer cache ignores build-arg values in LABEL/ENV steps: an image built for a new
  // version from unchanged sources would keep the old version. Set both explicitly as well.
  if (engine === 'podman') {
    args.push('--env', `APP_VERSION=${version}`);
    args.push('--label', `org.opencontainers.image.revision=${version}`);
    args.push('--label', `org.opencontainers.image.version=${version}`);
  }
  return args;
}

/** Runs an engine command to its stdout: the local context's runner, or a plain one. */
export type EngineRun = (cmd: string, args: readonly string[]) => Promise<string>;
const plainRun: EngineRun = async (cmd, args) => (await exec(cmd, args)).stdout;

/** The image's content id (`sha256:…`), or undefined when the engine does not have it. */
export async function imageId(engine: string, ref: string, run: EngineRun = plainRun): Promise<string | undefined> {
  const id = await run(engine, ['image', 'inspect', '--format', '{{.Id}}', ref]).then(
    (out) => out.trim(),
    () => '',
  );
  return id ? normaliseId(id) : undefined;
}

export async function buildImages(opts: BuildOptions): Promise<ImageRecord[]> {
  const engine = opts.engine ?? (await detectEngine(opts.root));
  const records: ImageRecord[] = [];
  for (const tier of opts.tiers) {
    const image = imageName(tier, opts.version);
    const log = join(opts.logDir, `image-${tier}.log`);
    const args = ['build', '-f', `apps/${tier}/Dockerfile`, '-t', image, ...versionBuildArgs(engine, opts.version)];
    // The Dockerfiles mount the machine's CA bundle for npm (a TLS-inspecting proxy needs it), as the local backend does.
    args.push('--secret', `id=npm_ca,src=${caBundle()}`);
    // podman's default OCI format drops HEALTHCHECK; the docker format keeps it.
    if (engine === 'podman') args.push('--format', 'docker');
    const nodeImage = opts.nodeImage ?? process.env.TIER_NODE_IMAGE;
    if (nodeImage) args.push('--build-arg', `NODE_IMAGE=${nodeImage}`);
    args.push('.');
    await exec(engine, args, { cwd: opts.root, log }).catch((err: TierError) => {
      const missingBase = /tier-node|manifest unknown|pull access denied|not found/i.test(err.message);
      throw new TierError(
        `building the ${tier} image failed: ${err.message}`,
        missingBase
          ? 'the base image is missing: run `npx tier up` once (it builds localhost/tier-node:24) or set TIER_NODE_IMAGE'
          : `see ${log}`,
      );
    });
    const id = await imageId(engine, image);
    if (!id) throw new TierError(`built ${image} but the engine does not know it`, `see ${log}`);
    let pushed: string | undefined;
    if (opts.pushTo) {
      const remote = `${repositoryFor(opts.pushTo, tier)}:${opts.version}`;
      await exec(engine, ['tag', image, remote], { cwd: opts.root, log });
      await exec(engine, ['push', remote], { cwd: opts.root, log });
      const digests = (await inspect(engine, remote, '{{json .RepoDigests}}').then((s) => JSON.parse(s))) as
        | string[]
        | null;
      const repo = remote.slice(0, remote.lastIndexOf(':'));
      pushed = (digests ?? []).find((d) => d.startsWith(`${repo}@`));
      if (!pushed) throw new TierError(`pushed ${remote} but the registry returned no digest`, `see ${log}`);
    }
    const record: ImageRecord = { tier, image, version: opts.version, id, pushed, builtAt: new Date().toISOString() };
    records.push(record);
    opts.onImage?.(record);
  }
  return records;
}

export interface EnsureOptions extends Omit<BuildOptions, 'pushTo' | 'engine'> {
  readonly engine: EngineKind;
  /** Runs the engine CLI (tests: a fake engine). @default a plain exec */
  readonly run?: EngineRun;
  /** Called with each image the engine already has. */
  readonly onReuse?: (record: ImageRecord) => void;
  /** Called with the tiers whose image is missing, before they are built. */
  readonly onBuild?: (tiers: readonly TierName[]) => void;
}

/**
 * The tiers' images at a version: an image the engine already has is reused (a version names exactly
 * one tree, its uncommitted changes hashed in, so the same tag holds the same sources), the rest built.
 */
export async function ensureImages(opts: EnsureOptions): Promise<ImageRecord[]> {
  const reused: ImageRecord[] = [];
  for (const tier of opts.tiers) {
    const image = imageName(tier, opts.version);
    const id = await imageId(opts.engine, image, opts.run);
    if (!id) continue;
    const record: ImageRecord = { tier, image, version: opts.version, id, builtAt: 'earlier' };
    reused.push(record);
    opts.onReuse?.(record);
  }
  const missing = opts.tiers.filter((t) => !reused.some((r) => r.tier === t));
  if (missing.length === 0) return reused;
  opts.onBuild?.(missing);
  return [...reused, ...(await buildImages({ ...opts, tiers: missing }))];
}

/** `{tier}` in the template names the tier's repository; without it the repository is `<template>/tier-<tier>`. */
export function repositoryFor(template: string, tier: TierName): string {
  const t = template.replace(/\/+$/, '');
  return t.includes('{tier}') ? t.replaceAll('{tier}', tier) : `${t}/tier-${tier}`;
}

async function inspect(engine: EngineKind, image: string, format: string): Promise<string> {
  const { stdout } = await exec(engine, ['image', 'inspect', '--format', format, image]);
  return stdout.trim();
}

function normaliseId(id: string): string {
  return id.startsWith('sha256:') ? id : `sha256:${id}`;
}

/** Merges records into `.tier/images.json` (one entry per tier and version), so later stages ship exactly these. */
export async function recordImages(file: string, records: readonly ImageRecord[]): Promise<void> {
  const existing: ImageRecord[] = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : [];
  const key = (r: ImageRecord) => `${r.tier}@${r.version}`;
  const merged = new Map(existing.map((r) => [key(r), r]));
  for (const r of records) merged.set(key(r), r);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify([...merged.values()], null, 2)}\n`);
}
