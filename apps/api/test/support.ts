// Test helpers for the API: a migrated throwaway database and the API running in-process on free ports.
import { Writable } from 'node:stream';
import { EnvReader, type Logger } from '@tier/runtime';
import pg from 'pg';
import { pino } from 'pino';
import { type PostgresCluster, startPostgres } from '../../../test/support/postgres.js';
import { type Api, buildApi } from '../src/app.js';
import { readApiConfig } from '../src/config.js';
import { migrate } from '../src/migrations.js';

export const silentLog = pino({ level: 'silent' }) as Logger;

export function clientFor(db: PostgresCluster): pg.Client {
  return new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
}

export async function startMigratedPostgres(): Promise<PostgresCluster> {
  const db = await startPostgres();
  const client = clientFor(db);
  await client.connect();
  try {
    await migrate(client, silentLog);
  } finally {
    await client.end();
  }
  return db;
}

export interface RunningApi {
  readonly api: Api;
  readonly url: string;
  readonly adminUrl: string;
  /** Every log line the API wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startApi(db: PostgresCluster, env: Record<string, string> = {}): Promise<RunningApi> {
  const config = readApiConfig(
    new EnvReader({ ...db.env(), HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0', SHUTDOWN_DRAIN_MS: '0', ...env }),
  );
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info', base: { tier: 'api', version: 'test' }, messageKey: 'msg' }, sink) as Logger;
  const api = await buildApi(config, { logger });
  const { port, adminPort } = await api.listen();
  return {
    api,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    logs,
    close: () => api.shutdown('test done'),
  };
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export async function postMessage(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`. For state, not for timing. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** True once some API connection is waiting on a lock (a request is in flight and blocked). */
export async function apiIsBlockedOnLock(db: PostgresCluster): Promise<boolean> {
  const client = await db.superuserClient();
  try {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tier-api' AND wait_event_type = 'Lock'",
    );
    return rows[0].n > 0;
  } finally {
    await client.end();
  }
}
