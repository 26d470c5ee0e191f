// Backups of the local database with pgBackRest (repository on the 'backups' volume, WAL archived
// continuously by the db): backup now, list, verify (restore into a scratch container and count
// rows) and restore in place (latest, a backup set, or a point in time), with a safety backup first.
import type { BackupInfo, Progress, RestoreTarget } from '../backend.js';
import { TierError } from '../backend.js';
import { serviceContainer } from './containers.js';
import { compose, engineRun, type OpsEnv, sleep } from './ops-env.js';
import { readEnvFile } from './settings.js';

interface PgBackRestInfo {
  backup?: {
    label: string;
    type: string;
    timestamp: { start: number; stop: number };
    info?: { size?: number; repository?: { size?: number; delta?: number } };
  }[];
  archive?: { min?: string; max?: string }[];
  status?: { code: number; message: string };
}

const dbName = (env: OpsEnv) => readEnvFile(env.envFile).DB_NAME ?? 'app';

/** The container that runs pgBackRest commands: the backup scheduler's (shares the lock with it), else the db. */
async function pgbackrestContainer(env: OpsEnv): Promise<string> {
  const backup = await serviceContainer(env, 'backup').catch(() => undefined);
  if (backup?.running) return backup.name;
  const db = await serviceContainer(env, 'db');
  if (!db.running) throw new TierError('the db is not running', 'start it with `tier start db`');
  return db.name;
}

function toInfo(b: NonNullable<PgBackRestInfo['backup']>[number]): BackupInfo {
  return {
    id: b.label,
    type: b.type,
    startedAt: new Date(b.timestamp.start * 1000).toISOString(),
    finishedAt: new Date(b.timestamp.stop * 1000).toISOString(),
    sizeBytes: b.info?.repository?.delta ?? b.info?.repository?.size ?? b.info?.size,
  };
}

export async function backupList(env: OpsEnv): Promise<BackupInfo[]> {
  const out = await engineRun(
    env,
    ['exec', await pgbackrestContainer(env), 'pgbackrest', '--stanza=main', '--output=json', 'info'],
    {
      hint: 'the backup repository is not readable: `tier logs backup --since 1h`',
    },
  );
  const [stanza] = JSON.parse(out) as PgBackRestInfo[];
  return (stanza?.backup ?? []).map(toInfo);
}

/** Takes a backup now: differential when a full one exists (pgBackRest falls back to full otherwise). */
export async function backupNow(
  env: OpsEnv,
  progress: Progress,
  type = process.env.TIER_BACKUP_TYPE ?? 'diff',
): Promise<BackupInfo> {
  if (!['full', 'diff', 'incr'].includes(type))
    throw new TierError(`unknown backup type '${type}'`, 'use full, diff or incr');
  const container = await pgbackrestContainer(env);
  progress.step(`pgBackRest ${type} backup (in ${container})`);
  const before = new Set((await backupList(env)).map((b) => b.id));
  await engineRun(
    env,
    ['exec', container, 'pgbackrest', '--stanza=main', `--type=${type}`, '--log-level-console=warn', 'backup'],
    {
      timeoutMs: 30 * 60_000,
      hint: 'see `tier logs db --since 10m`; `pgbackrest check` in the db container shows whether WAL archiving works',
    },
  );
  const created = (await backupList(env)).filter((b) => !before.has(b.id)).pop();
  if (!created) throw new TierError('pgBackRest finished but listed no new backup', 'run `tier backup list`');
  progress.done(`${created.id} (${created.type})`);
  return created;
}

/** Volume names behind the db container's data directory and the backup repository. */
async function dbVolumes(env: OpsEnv): Promise<{ data: string; backups: string; image: string; name: string }> {
  const db = await serviceContainer(env, 'db');
  const [info] = JSON.parse(await engineRun(env, ['inspect', db.name])) as {
    Mounts?: { Name?: string; Destination: string }[];
  }[];
  const mount = (dest: string) => info?.Mounts?.find((m) => m.Destination === dest)?.Name;
  const data = mount('/var/lib/postgresql/data');
  const backups = mount('/var/lib/pgbackrest');
  if (!data || !backups) throw new TierError('cannot find the db volumes', 'run `tier up` to recreate the environment');
  return { data, backups, image: db.image, name: db.name };
}

/** Restores the latest backup (plus archived WAL) into a throwaway container and counts the guestbook. */
export async function backupVerify(env: OpsEnv, progress: Progress): Promise<{ backup: BackupInfo; rows: number }> {
  const list = await backupList(env);
  const latest = list.at(-1);
  if (!latest) throw new TierError('there is no backup to verify', 'take one with `tier backup now`');
  const { backups, image } = await dbVolumes(env);
  progress.step(`restoring ${latest.id} into a scratch container`);
  const out = await engineRun(
    env,
    [
      'run',
      '--rm',
      '--network',
      'none',
      '-e',
      `DB=${dbName(env)}`,
      '-v',
      `${backups}:/var/lib/pgbackrest`,
      image,
      'db-restore-verify',
      'SELECT count(*) FROM messages',
    ],
    {
      timeoutMs: 15 * 60_000,
      hint: 'the backup does not restore: keep the current one and take a full backup (`TIER_BACKUP_TYPE=full tier backup now`)',
    },
  );
  const rows = Number(out.trim().split('\n').pop());
  if (!Number.isInteger(rows))
    throw new TierError(`the restored database answered '${out.trim()}'`, 'see `tier logs db`');
  progress.done(`${rows} guestbook rows`);
  return { backup: latest, rows };
}

async function psql(env: OpsEnv, container: string, sql: string): Promise<string> {
  return (
    await engineRun(env, ['exec', container, 'psql', '-h', '/run/postgresql', '-d', dbName(env), '-tA', '-c', sql])
  ).trim();
}

async function waitDbWritable(env: OpsEnv, container: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await psql(env, container, 'SELECT pg_is_in_recovery()').catch(() => '');
    if (state === 'f') return;
    if (Date.now() > deadline) {
      throw new TierError(
        `the db did not finish recovery within ${timeoutMs / 1000}s`,
        `see \`${env.engine} logs ${container}\``,
      );
    }
    await sleep(500);
  }
}

/** pgBackRest restore options for a target. */
export function restoreOptions(target: RestoreTarget, list: BackupInfo[]): string[] {
  if ('time' in target) {
    const t = Date.parse(target.time);
    const first = list[0];
    if (!first || t < Date.parse(first.finishedAt)) {
      throw new TierError(
        `no backup finished before ${target.time}${first ? ` (the oldest finished at ${first.finishedAt})` : ''}`,
        'pick a later time (`tier backup list`)',
      );
    }
    if (t > Date.now()) throw new TierError(`${target.time} is in the future`, 'pick a time in the past');
    return [
      '--type=time',
      `--target=${new Date(t).toISOString().replace('T', ' ').replace('Z', '+00')}`,
      '--target-action=promote',
    ];
  }
  if ('backupId' in target) {
    if (!list.some((b) => b.id === target.backupId)) {
      throw new TierError(`no backup '${target.backupId}'`, 'pick an id from `tier backup list`');
    }
    return [`--set=${target.backupId}`, '--type=immediate', '--target-action=promote'];
  }
  // Latest: the newest backup plus every archived WAL segment (recovery to the end of the archive).
  return [];
}

export async function restore(env: OpsEnv, progress: Progress, target: RestoreTarget): Promise<{ rows: number }> {
  const list = await backupList(env);
  const options = restoreOptions(target, list);
  const vols = await dbVolumes(env);
  const db = await serviceContainer(env, 'db');

  if (db.running) {
    // The safety backup: whatever happens next, today's data can be restored again.
    await backupNow(env, progress, 'incr');
    progress.step('archiving the current WAL segment (pgbackrest check)');
    await engineRun(env, ['exec', db.name, 'pgbackrest', '--stanza=main', '--log-level-console=warn', 'check'], {
      timeoutMs: 120_000,
    });
    progress.done();
  }

  // With the db stopped the API answers 503 (Retry-After) on its own: no write is acknowledged meanwhile.
  progress.step('stopping the db (the API answers 503 until it is back)');
  await compose(env, ['stop', 'backup', 'postgres-exporter'], { timeoutMs: 120_000 }).catch(() => undefined);
  await compose(env, ['stop', 'db'], { timeoutMs: 120_000 });
  progress.done();

  progress.step(`pgBackRest restore ${options.join(' ') || '(latest, full WAL replay)'}`);
  await engineRun(
    env,
    [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${vols.data}:/var/lib/postgresql/data`,
      '-v',
      `${vols.backups}:/var/lib/pgbackrest`,
      vols.image,
      // The db container is stopped, so no PostgreSQL runs on this directory: a postmaster.pid left by
      // an unclean stop is stale (and the delta restore replaces the files anyway).
      'bash',
      '-c',
      'rm -f /var/lib/postgresql/data/postmaster.pid && exec pgbackrest --stanza=main --delta --log-level-console=warn restore "$@"',
      'restore',
      ...options,
    ],
    {
      timeoutMs: 30 * 60_000,
      hint: `the db is stopped and unchanged or partly restored: retry \`tier restore\` or restore the safety backup (\`tier backup list\`); \`tier start db\` starts it as it is`,
    },
  );
  progress.done();

  progress.step('starting the db and replaying WAL');
  await compose(env, ['start', 'db'], { timeoutMs: 120_000 });
  await waitDbWritable(env, db.name);
  await compose(env, ['start', 'backup', 'postgres-exporter'], { timeoutMs: 120_000 }).catch(() =>
    progress.warn('backup/exporter did not start: `tier start backup`'),
  );
  const rows = Number(await psql(env, db.name, 'SELECT count(*) FROM messages'));
  progress.done(`${rows} guestbook rows`);
  if (options.length > 0) {
    // A point-in-time or set restore starts a new timeline: back it up, so later restores and
    // `tier backup verify` replay from a backup on it.
    await backupNow(env, progress);
  }
  return { rows };
}
