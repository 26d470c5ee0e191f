// The real effects behind `tier pipeline` on this machine: npm scripts for tests, the engine for images, fetch for smoke.
import { join } from 'node:path';
import type { Backend, Progress, TierName } from '../backend.js';
import { exec } from '../exec.js';
import { createGit } from './git.js';
import {
  buildImages,
  detectEngine,
  type EngineKind,
  type ImageRecord,
  imageId,
  imageName,
  recordImages,
} from './images.js';
import type { PipelineDeps, TestPlan } from './run-pipeline.js';
import { smokeTest } from './smoke.js';

export interface LocalDepsOptions {
  readonly backend: Backend;
  readonly progress: Progress;
  readonly cwd?: string;
  /** Folder for this run's logs (default `<root>/.tier/pipeline/<timestamp>`). */
  readonly logDir?: string;
}

export async function createLocalPipelineDeps(opts: LocalDepsOptions): Promise<PipelineDeps & { logDir: string }> {
  const git = createGit(opts.cwd);
  const { root } = await git.state();
  const logDir = opts.logDir ?? join(root, '.tier', 'pipeline', new Date().toISOString().replace(/[:.]/g, '-'));
  let engine: Promise<EngineKind> | undefined;
  const npm = (args: string[], log: string) => exec('npm', args, { cwd: root, log: join(logDir, log) });

  return {
    backend: opts.backend,
    progress: opts.progress,
    git,
    logDir,
    async runTests(plan: TestPlan) {
      // ci:lint = biome + typecheck; the tests are the workspaces' own (`npm test -w`), integration included.
      opts.progress.info(`logs: ${logDir}`);
      await npm(['run', 'ci:lint'], 'lint.log');
      if (plan.full) await npm(['run', 'ci:test'], 'test.log');
      else for (const ws of plan.workspaces) await npm(['test', '-w', ws], `test-${ws.replaceAll('/', '-')}.log`);
    },
    async buildImages(version: string, tiers: TierName[]): Promise<ImageRecord[]> {
      engine ??= detectEngine(root);
      const eng = await engine;
      // An immutable tag is built once: a rerun after a failed deploy ships the very same image.
      const existing = await reuseExisting(eng, version, tiers);
      const missing = tiers.filter((t) => !existing.some((r) => r.tier === t));
      for (const r of existing) opts.progress.info(`${r.tier}: reusing ${r.image} (${r.id.slice(0, 19)})`);
      const built = await buildImages({
        root,
        version,
        tiers: missing,
        logDir,
        engine: eng,
        onImage: (r) => opts.progress.info(`${r.tier}: built ${r.image} (${r.id.slice(0, 19)})`),
      });
      const records = [...existing, ...built];
      await recordImages(join(root, '.tier', 'images.json'), records);
      return records;
    },
    smoke: (url, version) => smokeTest({ url, version }),
  };
}

async function reuseExisting(engine: EngineKind, version: string, tiers: TierName[]): Promise<ImageRecord[]> {
  // A dirty tree's version hashes its changes, so an existing tag always holds the same sources.
  const found: ImageRecord[] = [];
  for (const tier of tiers) {
    const image = imageName(tier, version);
    const id = await imageId(engine, image);
    if (id) found.push({ tier, image, version, id, builtAt: 'earlier' });
  }
  return found;
}
