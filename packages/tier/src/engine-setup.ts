// Which container engine this machine uses: infra/local/engine/setup.sh decides (a Docker Engine with
// Compose v2 when one runs, else podman), for the local environment and for image builds alike.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TierError } from './backend.js';
import { exec } from './exec.js';

export type EngineKind = 'podman' | 'docker';

/**
 * Runs infra/local/engine/setup.sh (idempotent: installs and configures when root) and returns what it
 * printed: ENGINE, COMPOSE, DOCKER_HOST, CONTAINER_LOG_DIR. The one place that asks which engine to use.
 */
export async function engineSetup(
  root: string,
  opts: { readonly stateDir?: string; readonly hint: string },
): Promise<Record<string, string>> {
  const { stdout } = await exec('bash', [join(root, 'infra/local/engine/setup.sh')], {
    cwd: root,
    env: opts.stateDir ? { ...process.env, TIER_STATE_DIR: opts.stateDir } : process.env,
    hint: opts.hint,
  });
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * The engine that builds images: TIER_ENGINE when set, else what infra/local/engine/setup.sh
 * picked, else whichever is installed.
 */
export async function detectEngine(root: string): Promise<EngineKind> {
  const forced = process.env.TIER_ENGINE;
  if (forced === 'docker' || forced === 'podman') return forced;
  const setup = join(root, 'infra/local/engine/setup.sh');
  if (existsSync(setup)) {
    const { ENGINE: engine } = await engineSetup(root, {
      hint: 'run `bash infra/local/engine/setup.sh` and follow what it prints',
    });
    if (engine === 'docker' || engine === 'podman') return engine;
  }
  for (const candidate of ['podman', 'docker'] as const) {
    if (
      await exec(candidate, ['--version']).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  throw new TierError('no container engine found', 'install podman (apt-get install -y podman) or Docker');
}
