// A throwaway PostgreSQL cluster for integration tests and benchmarks: initdb in a temp dir, a free
// loopback port, SCRAM password authentication, and stop/start to simulate an outage.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  /** A non-superuser with CREATEROLE that owns `database`, authenticated with SCRAM-SHA-256. */
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly dataDir: string;
  /** The API's environment variables for this cluster (DB, DBUSER, DBPASS, DBHOST, DBPORT). */
  env(): Record<string, string>;
  /** A client as the superuser (for test set-up: locks, inspection). Caller ends it. */
  superuserClient(): Promise<pg.Client>;
  /** Fast shutdown: open connections are terminated, new ones refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** The newest PostgreSQL installed by the Debian `postgresql` package. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL not found under /usr/lib/postgresql: run scripts/install-deps.sh (apt package postgresql)',
    );
  }
  return join(root, versions[0]!, 'bin');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPostgres(opts: { database?: string; user?: string } = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const owner = runAs();
  const baseDir = mkdtempSync(join(tmpdir(), 'tier-pg-'));
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');
  const superPassword = `su-${crypto.randomUUID()}`;
  const password = `app-${crypto.randomUUID()}`;
  const user = opts.user ?? 'app';
  const database = opts.database ?? 'app';
  const host = '127.0.0.1';
  const port = await freePort();

  writeFileSync(join(baseDir, 'pwfile'), `${superPassword}\n`);
  if (owner) {
    chownSync(baseDir, owner.uid, owner.gid);
    chownSync(join(baseDir, 'pwfile'), owner.uid, owner.gid);
  }
  chmodSync(baseDir, 0o700);

  const run = (cmd: string, args: string[]) => {
    const result = spawnSync(join(bin, cmd), args, { encoding: 'utf8', ...(owner ?? {}), cwd: baseDir });
    if (result.status !== 0) {
      throw new Error(`${cmd} failed (${result.status}): ${result.stderr || result.stdout}`);
    }
  };

  run('initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--pwfile',
    join(baseDir, 'pwfile'),
    '--auth-local=scram-sha-256',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  // Settings live in the cluster's config, so start() after stop() brings back the same server.
  writeFileSync(
    join(dataDir, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      `listen_addresses = '${host}'`,
      `unix_socket_directories = '${baseDir}'`,
      "password_encryption = 'scram-sha-256'",
      // A throwaway cluster: durability buys nothing here and costs seconds.
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      '',
    ].join('\n'),
    { flag: 'a' },
  );

  let running = false;
  const start = async () => {
    run('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s']);
    running = true;
  };
  const stop = async () => {
    run('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60', '-s']);
    running = false;
  };
  // If the test process dies without destroy(), do not leave a server behind.
  const onExit = () => {
    if (running) spawnSync(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-s'], owner ?? {});
    rmSync(baseDir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const superuserClient = async () => {
    const client = new pg.Client({ host, port, user: 'postgres', password: superPassword, database });
    await client.connect();
    return client;
  };

  await start();
  const setup = new pg.Client({ host, port, user: 'postgres', password: superPassword, database: 'postgres' });
  await setup.connect();
  try {
    // CREATEROLE like RDS's master user: the migrations create the API's own role.
    await setup.query(
      `CREATE ROLE ${pg.escapeIdentifier(user)} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(password)}`,
    );
    await setup.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(user)}`);
  } finally {
    await setup.end();
  }

  return {
    host,
    port,
    user,
    password,
    database,
    dataDir,
    env: () => ({ DB: database, DBUSER: user, DBPASS: password, DBHOST: host, DBPORT: String(port) }),
    superuserClient,
    stop,
    start,
    async destroy() {
      process.removeListener('exit', onExit);
      if (running) await stop().catch(() => undefined);
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
