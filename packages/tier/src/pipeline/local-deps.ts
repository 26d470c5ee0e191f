// The real effects behind `tier pipeline` on this machine: npm scripts for tests, the engine for images, fetch for smoke.
import { join } from 'node:path';
import type { Backend, Progress, TierName } from '../backend.js';
import { detectEngine, type EngineKind } from '../engine-setup.js';
import { exec } from '../exec.js';
import { ensureImages, type ImageRecord, recordImages } from '../images/build.js';
import { createGit } from '../images/git.js';
import { stateDir } from '../state.js';
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
  const logDir = opts.logDir ?? join(stateDir(root), 'pipeline', new Date().toISOString().replace(/[:.]/g, '-'));
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
      // An immutable tag is built once: a rerun after a failed deploy ships the very same image.
      const records = await ensureImages({
        root,
        version,
        tiers,
        logDir,
        engine: await engine,
        onReuse: (r) => opts.progress.info(`${r.tier}: reusing ${r.image} (${r.id.slice(0, 19)})`),
        onImage: (r) => opts.progress.info(`${r.tier}: built ${r.image} (${r.id.slice(0, 19)})`),
      });
      await recordImages(join(stateDir(root), 'images.json'), records);
      return records;
    },
    smoke: (url, version) => smokeTest({ url, version }),
  };
}
