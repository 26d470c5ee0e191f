// The real API tier for happy-path tests: a throwaway PostgreSQL (test/support/postgres.ts),
// migrations applied, and apps/api started as its own process from source, its JSON logs captured.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, type PostgresCluster, startPostgres } from '../../../../test/support/postgres.js';

const API_DIR = fileURLToPath(new URL('../../../api/', import.meta.url));

export interface RealApi {
  readonly url: string;
  readonly db: PostgresCluster;
  /** Every JSON log line the API printed so far. */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startRealApi(): Promise<RealApi> {
  const db = await startPostgres();
  const port = await freePort();
  const env = {
    ...process.env,
    ...db.env(),
    PORT: String(port),
    ADMIN_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SHUTDOWN_DRAIN_MS: '0',
  };
  const tsx = ['--import', 'tsx'];
  const migrate = spawnSync(process.execPath, [...tsx, 'src/migrate.ts'], { cwd: API_DIR, env, encoding: 'utf8' });
  if (migrate.status !== 0) {
    await db.destroy();
    throw new Error(`API migrations failed: ${migrate.stderr || migrate.stdout}`);
  }
  const child: ChildProcess = spawn(process.execPath, [...tsx, 'src/server.ts'], {
    cwd: API_DIR,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log event (should not happen): ignore
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API exited during start-up: ${stderr}`);
    const ok = await fetch(`${url}/api/status`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`API did not become ready: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    db,
    logs,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await db.destroy();
    },
  };
}
