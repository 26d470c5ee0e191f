// Conformance, in containers: every ECS task definition of every stage's synthesized templates, started as ECS
// would start it (this repo's image, the template's command, user, read-only root, init, memory/CPU, volumes and
// environment, secrets as test values of the same shape), against a PostgreSQL that refuses sessions without TLS
// like RDS with rds.force_ssl=1. Services must pass their target group's health check and their container health
// check; the migration task must exit 0.
//
// Why in the e2e stage rather than a file that builds its own images: the app images are the local environment's
// (packages/tier/src/local/images.ts: debootstrapped base images, then apps/<tier>/Dockerfile), minutes of work and
// root on a clean machine. The e2e stage's earlier files run `tier up`, which builds exactly these images for this
// checkout, on a fresh CI clone too (.ci/run -> npm test -> scripts/test-all.sh, stage e2e). This file needs none of
// the environment running, only those images; when one is missing it fails and says how to build it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { appImageRef, appVersion, DEPLOY_ORDER, localPaths, readSettings } from '@tier/cli';
import { imageTagParameterName } from '../../infra/aws/lib/registry/registry-stack.js';
import {
  httpCodeMatches,
  type LoadBalancerModel,
  loadBalancersOf,
  type StageDatabase,
  secretStringOf,
  stageDatabases,
  type TaskContainer,
  TEST_MASTER_PASSWORD,
  TEST_RESTORE_CHECK_PASSWORD,
  taskContainers,
} from '../../infra/aws/test/support/task-definitions.js';
import { STAGES, type StageName, stageStacks } from '../../infra/aws/test/support/templates.js';
import { liveDatabaseParameter } from '../../packages/contract/src/index.js';
import { ENGINE, engine } from './support/ops.js';

/** Our containers and networks carry this prefix (never the compose project's `tier_*`), one run apart from another. */
const RUN = `tdconf-${Date.now().toString(36)}`;
const UP_HINT = 'run `npx tier up` (or the whole e2e stage: npm run test:e2e), which builds the local images';

/**
 * The stand-in for RDS: the local environment's PostgreSQL image with a throwaway self-signed certificate, TLS on,
 * and pg_hba accepting only `hostssl` (a plain `host` session is rejected), which is what rds.force_ssl=1 enforces.
 * The database and master user are the template's DBName and MasterUsername, as RDS creates them.
 */
const RDS_LIKE_POSTGRES = `set -euo pipefail
initdb -D "$PGDATA" --encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$TLS_CN" \\
  -keyout "$PGDATA/server.key" -out "$PGDATA/server.crt" 2>/dev/null
chmod 600 "$PGDATA/server.key"
printf '%s\\n' 'local all all peer' 'hostssl all all all scram-sha-256' 'host all all all reject' >"$PGDATA/pg_hba.conf"
printf '%s\\n' "listen_addresses = '*'" "port = $PGPORT" 'ssl = on' "ssl_cert_file = 'server.crt'" \\
  "ssl_key_file = 'server.key'" 'fsync = off' >>"$PGDATA/postgresql.conf"
pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
psql -v ON_ERROR_STOP=1 -q -d postgres --set=user="$MASTER_USER" --set=pass="$MASTER_PASS" --set=db="$DB_NAME" <<'SQL'
CREATE ROLE :"user" LOGIN CREATEDB CREATEROLE PASSWORD :'pass';
CREATE DATABASE :"db" OWNER :"user";
SQL
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
exec postgres -D "$PGDATA"`;

/** A client in the VPC: one session without TLS, one with it (run with the api image, which carries pg). */
const TLS_PROBE = `const pg = require('pg');
const [host, port, database, user, password] = process.argv.slice(1);
const attempt = async (ssl) => {
  const c = new pg.Client({ host, port: Number(port), database, user, password, ssl, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    const { rows } = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    await c.end();
    return 'connected, ssl=' + rows[0].ssl;
  } catch (e) { return 'refused: ' + e.message; }
};
(async () => console.log(JSON.stringify({ plain: await attempt(false), tls: await attempt({ rejectUnauthorized: false }) })))();`;

/**
 * The stand-in for Secrets Manager's regional endpoint: answers GetSecretValue (the JSON 1.1 protocol the SDK
 * speaks) for the secrets the templates name, with test values of their shape, and logs each call it gets.
 */
const SECRETS_MANAGER_STANDIN = `const http = require('node:http');
const secrets = JSON.parse(process.env.SECRETS);
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const target = req.headers['x-amz-target'];
    let id;
    try { id = JSON.parse(body).SecretId; } catch {}
    const signed = /^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization || '');
    console.log(JSON.stringify({ call: target, id, signed }));
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    if (target === 'secretsmanager.GetSecretValue' && signed && id in secrets) {
      res.end(JSON.stringify({ ARN: id, Name: id.split(':')[6], SecretString: secrets[id], VersionId: 'v1',
        VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 }));
    } else {
      res.statusCode = 400;
      res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
    }
  });
}).listen(8080, () => console.log('listening'));`;
const SECRET_ARN = /^arn:aws:secretsmanager:([a-z0-9-]+):\d{12}:secret:/;

/**
 * The stand-in for an internal ALB, reached by its DNS name: each listener of the template on its port, its rules
 * tried in priority order (http-header and path-pattern conditions), a match forwarded to the target the rule's
 * weighted target group reaches, else the default fixed response. Logs every request it routes.
 */
const BALANCER_STANDIN = `const http = require('node:http');
const glob = (p) => new RegExp('^' + p.replace(/[.+^$()|[\\]{}\\\\]/g, '\\\\$&').replace(/\\*/g, '.*').replace(/\\?/g, '.') + '$');
for (const listener of JSON.parse(process.env.LISTENERS)) {
  http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    const rule = listener.rules.find((r) =>
      Object.entries(r.headers).every(([name, values]) => values.includes(req.headers[name.toLowerCase()])) &&
      (r.paths.length === 0 || r.paths.some((p) => glob(p).test(path))));
    const targets = rule ? rule.forward : listener.defaultForward;
    const log = (status, target) => console.log(JSON.stringify({ port: listener.port, method: req.method, path,
      rule: rule ? rule.priority : 'default', target, status }));
    if (!rule && listener.defaultStatus) { log(listener.defaultStatus); res.statusCode = listener.defaultStatus; return res.end(); }
    if (targets.length === 0) { log(503); res.statusCode = 503; return res.end(); }
    const t = targets[Math.floor(Math.random() * targets.length)];
    const up = http.request({ host: t.host, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      log(r.statusCode, t.host);
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => { log(502, t.host); res.statusCode = 502; res.end(e.message); });
    req.pipe(up);
  }).listen(listener.port, () => console.log('listening ' + listener.port));
}`;

/** A request per tier that needs what the tier depends on (api: the database; web: the api through its balancer). */
const THROUGH_REQUEST: Record<TaskContainer['tier'], string> = { api: '/api/status', web: '/' };

/**
 * What the template leaves to deploy time, and what stands in for it here. Each stage gets its own network, so the
 * names below resolve there as they would in the stage's VPC.
 */
interface DeployTimeMapping {
  /** SSM parameter -> value: the image tag parameters hold the tag `tier deploy` released; here, this checkout's. */
  readonly ssm: Record<string, string>;
  /** The stage's ECR repository image -> the local environment's image of the same tier and tag. */
  readonly image: (c: TaskContainer) => string;
  /** RDS endpoint address (DBHOST) -> network alias of the PostgreSQL container. */
  readonly dbAlias: string;
}

function deployTimeMapping(stage: StageName, version: string, db: StageDatabase): DeployTimeMapping {
  const ssm: Record<string, string> = {
    ...Object.fromEntries(DEPLOY_ORDER.map((tier) => [imageTagParameterName(stage, tier), version] as const)),
    // The live database's address, as the data stack writes it (tier restore rewrites it).
    [liveDatabaseParameter(stage, 'host')]: db.host,
  };
  return {
    ssm,
    image: (c) => {
      const image = substituteSsm(ssm, c.image);
      const match = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/tier-[a-z0-9]+\/(web|api):([\w.-]+)$/.exec(image);
      assert.ok(match, `${c.where}: image ${image} is not the stage's ECR repository of its tier`);
      return appImageRef(match[1] as 'web' | 'api', match[2]!);
    },
    dbAlias: db.host,
  };
}

/** Replaces `{{ssm:<parameter>}}` as CloudFormation would; a parameter with no stand-in fails the test. */
function substituteSsm(ssm: Record<string, string>, value: string): string {
  return value.replace(/\{\{ssm:([^}]+)\}\}/g, (_, name: string) => {
    assert.ok(name in ssm, `SSM parameter ${name} has no test value (add it to deployTimeMapping)`);
    return ssm[name]!;
  });
}

async function imageExists(ref: string): Promise<boolean> {
  return engine('image', 'inspect', '--format', '{{.Id}}', ref).then(
    () => true,
    () => false,
  );
}

/** The container's last output lines, stdout and stderr (a refused configuration is reported on stderr). */
async function logsOf(name: string): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)(ENGINE, ['logs', '--tail', '40', name]).catch(
    (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
  return `${stdout}${stderr}`;
}

async function stateOf(name: string): Promise<{ running: boolean; exitCode: number }> {
  const [status = '', code = ''] = (await engine('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name))
    .trim()
    .split(' ');
  return { running: status === 'running', exitCode: Number(code) };
}

/** Polls until `probe` returns true; fails at once when the container stops (ECS would replace the task). */
async function whileRunning(
  name: string,
  what: string,
  deadlineMs: number,
  probe: () => Promise<true | string>,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const state = await stateOf(name);
    if (!state.running) assert.fail(`${what}: the container stopped (exit ${state.exitCode}):\n${await logsOf(name)}`);
    const result = await probe();
    if (result === true) return;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${deadlineMs} ms (last: ${result})`);
    await sleep(250);
  }
}

/** `podman run` arguments that give the container what ECS/Fargate gives it. */
async function ecsRunArgs(c: TaskContainer, image: string, env: Record<string, string>): Promise<string[]> {
  const args: string[] = [];
  if (c.user) args.push('--user', c.user);
  if (c.readonlyRootFilesystem) {
    // Fargate adds no writable /tmp or /run of its own (podman would, by default).
    args.push('--read-only', ...(ENGINE === 'podman' ? ['--read-only-tmpfs=false'] : []));
  }
  if (c.initProcessEnabled) args.push('--init');
  if (c.memoryMiB) args.push('--memory', `${c.memoryMiB}m`);
  if (c.cpuUnits) args.push('--cpus', String(c.cpuUnits / 1024));
  const declared = JSON.parse(
    (await engine('image', 'inspect', '--format', '{{json .Config.Volumes}}', image)).trim() || 'null',
  ) as Record<string, unknown> | null;
  for (const m of c.mounts) {
    assert.ok(m.ephemeral, `${c.where}: mounts a host or EFS volume at ${m.containerPath}; not modelled here`);
    // A Fargate bind mount starts empty, owned by root, mode 0755, unless the image declares VOLUME at that path
    // (then its contents are copied in): AWS docs, "Use bind mounts with Amazon ECS".
    const ro = m.readOnly ? ',readonly' : '';
    args.push(
      '--mount',
      declared && m.containerPath in declared
        ? `type=volume,destination=${m.containerPath}${ro}`
        : `type=tmpfs,destination=${m.containerPath},tmpfs-mode=0755${ro}`,
    );
  }
  for (const [name, value] of Object.entries(env)) args.push('--env', `${name}=${value}`);
  return args;
}

/** The host port that a container port of a started container is published on (loopback). */
async function hostPort(name: string, containerPort: number): Promise<number> {
  const out = (await engine('port', name, `${containerPort}/tcp`)).trim().split('\n')[0] ?? '';
  const port = Number(out.split(':').pop());
  assert.ok(port > 0, `${name}: container port ${containerPort} is not published (${out})`);
  return port;
}

for (const stage of STAGES) {
  describe(`${stage}: task definitions run as ECS would start them`, { timeout: 120_000 }, () => {
    const stacks = stageStacks(stage);
    // One-off tasks (the migration) first: `tier deploy` runs them before it shifts traffic to new service tasks.
    const containers = taskContainers(stacks).sort((a, b) => Number(!!a.service) - Number(!!b.service));
    const [db] = stageDatabases(stacks);
    const network = `${RUN}-${stage}`;
    const dbName = `${network}-db`;
    const secretsName = `${network}-secretsmanager`;
    // The balancers a task calls by DNS name (web's API_HOST names the api ALB) get a stand-in under that name.
    const balancers = loadBalancersOf(stacks).filter((b) =>
      containers.some((c) => Object.values(c.environment).some((v) => v.includes(b.dnsName))),
    );
    const balancerName = (b: LoadBalancerModel) => `${network}-lb-${b.dnsName.split('-')[0]}`;
    // Secrets a task reads by ARN at run time (not injected by ECS at start): Secrets Manager stands in for them.
    const secretArns = [
      ...new Set(containers.flatMap((c) => Object.values(c.environment).filter((v) => SECRET_ARN.test(v)))),
    ];
    const started: string[] = [];
    let mapping: DeployTimeMapping;
    let apiImage: string;

    // Set-up runs once; each test awaits it, so a missing image fails every test (a failing hook only cancels them).
    let setup: Promise<void> | undefined;
    const check = (name: string, fn: () => Promise<void>) =>
      it(name, async () => {
        await setup;
        await fn();
      });

    const prepare = async () => {
      assert.ok(db, `${stage}: the templates have no database instance`);
      const paths = localPaths();
      const version = await appVersion(paths);
      mapping = deployTimeMapping(stage, version, db);
      const images = [...new Set(containers.map((c) => mapping.image(c)))];
      const dbImage = (await readSettings(paths)).DB_IMAGE;
      assert.ok(dbImage, `no PostgreSQL image recorded in infra/local/.env: ${UP_HINT}`);
      for (const ref of [...images, dbImage]) assert.ok(await imageExists(ref), `image ${ref} is missing: ${UP_HINT}`);
      apiImage = images.find((ref) => ref.includes('/tier-api:'))!;
      process.stderr.write(
        `${stage}: deploy-time values -> test: ${JSON.stringify({
          ssm: mapping.ssm,
          images: Object.fromEntries(containers.map((c) => [c.image, mapping.image(c)])),
          [`DBHOST ${db.host}`]: `network alias of ${dbName}`,
          balancers: Object.fromEntries(balancers.map((b) => [b.dnsName, `network alias of ${balancerName(b)}`])),
        })}\n`,
      );

      await engine('network', 'create', '--label', 'tdconf=1', network);
      started.push(dbName);
      await engine(
        'run',
        '-d',
        '--name',
        dbName,
        '--label',
        'tdconf=1',
        '--network',
        network,
        '--network-alias',
        mapping.dbAlias,
        ...['--env', `PGPORT=${db.port}`, '--env', `TLS_CN=${db.host}`, '--env', `DB_NAME=${db.name}`],
        ...['--env', `MASTER_USER=${db.masterUsername}`, '--env', `MASTER_PASS=${TEST_MASTER_PASSWORD}`],
        dbImage,
        'bash',
        '-c',
        RDS_LIKE_POSTGRES,
      );
      await whileRunning(dbName, `${dbName} accepting TCP connections`, 30_000, () =>
        engine('exec', dbName, 'pg_isready', '-q', '-h', '127.0.0.1', '-p', String(db.port)).then(
          () => true as const,
          (err: Error) => err.message,
        ),
      );
    };
    const sql = (database: string, statement: string) =>
      engine('exec', dbName, 'psql', '-v', 'ON_ERROR_STOP=1', '-q', '-d', database, '-c', statement);
    const startSecretsManager = async () => {
      started.push(secretsName);
      const secrets = Object.fromEntries(secretArns.map((arn) => [arn, secretStringOf(stacks, arn)]));
      await engine(
        'run',
        '-d',
        '--name',
        secretsName,
        '--label',
        'tdconf=1',
        '--network',
        network,
        '--read-only',
        '--env',
        `SECRETS=${JSON.stringify(secrets)}`,
        apiImage,
        'node',
        '-e',
        SECRETS_MANAGER_STANDIN,
      );
      await whileRunning(secretsName, `${secretsName} listening`, 15_000, async () =>
        (await logsOf(secretsName)).includes('listening') ? true : 'not yet',
      );
    };
    const startBalancers = async () => {
      for (const b of balancers) {
        const name = balancerName(b);
        const host = (t: { containerName: string; port: number }) => ({
          host: `${network}-${t.containerName}`,
          port: t.port,
        });
        const listeners = b.listeners.map((l) => ({
          ...l,
          rules: l.rules.map((r) => ({ ...r, forward: r.forward.map(host) })),
          defaultForward: l.defaultForward.map(host),
        }));
        started.push(name);
        await engine(
          'run',
          '-d',
          '--name',
          name,
          '--label',
          'tdconf=1',
          '--network',
          network,
          '--network-alias',
          b.dnsName,
          '--read-only',
          // Listener ports below 1024 (80) as the image's unprivileged user.
          '--sysctl',
          'net.ipv4.ip_unprivileged_port_start=0',
          '--env',
          `LISTENERS=${JSON.stringify(listeners)}`,
          apiImage,
          'node',
          '-e',
          BALANCER_STANDIN,
        );
        await whileRunning(name, `${name} listening`, 15_000, async () =>
          (await logsOf(name)).includes('listening') ? true : 'not yet',
        );
      }
    };
    before(() => {
      setup = prepare()
        .then(() => (secretArns.length ? startSecretsManager() : undefined))
        .then(startBalancers);
      setup.catch(() => undefined);
    });

    after(async () => {
      for (const name of started.reverse()) await engine('rm', '-f', '-t', '0', name).catch(() => undefined);
      await engine('network', 'rm', '-f', network).catch(() => undefined);
    });

    check('has the database the tasks read, with TLS forced like rds.force_ssl=1', async () => {
      assert.ok(db?.forceSsl, `${db?.where}: the parameter group does not set rds.force_ssl=1`);
      const out = await engine(
        'run',
        '--rm',
        '--read-only',
        '--network',
        network,
        apiImage,
        'node',
        '-e',
        TLS_PROBE,
        db.host,
        String(db.port),
        db.name,
        db.masterUsername,
        TEST_MASTER_PASSWORD,
      );
      const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { plain: string; tls: string };
      assert.match(result.plain, /^refused: .*no encryption/, 'a session without TLS is refused');
      assert.equal(result.tls, 'connected, ssl=true', 'a TLS session is accepted');
    });

    for (const c of containers) {
      const name = `${network}-${c.name}`;
      // The template's environment, with what CloudFormation fills in at deploy time filled in (mapping above).
      const env = () => {
        const given = Object.fromEntries(
          Object.entries(c.environment).map(([k, v]) => [k, substituteSsm(mapping.ssm, v)]),
        );
        const region = Object.values(given)
          .map((v) => SECRET_ARN.exec(v)?.[1])
          .find(Boolean);
        if (!region) return given;
        // What Fargate adds for a task that calls AWS: its region, and the task role's credentials (served at
        // AWS_CONTAINER_CREDENTIALS_RELATIVE_URI there; static test keys here); the endpoint is the stand-in's.
        return {
          ...given,
          AWS_REGION: region,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://${secretsName}:8080`,
          AWS_ACCESS_KEY_ID: 'ASIATESTTASKROLE0000',
          AWS_SECRET_ACCESS_KEY: 'test-task-role-secret-key',
          AWS_SESSION_TOKEN: 'test-task-role-session-token',
        };
      };
      const run = async (detach: boolean) => {
        const image = mapping.image(c);
        started.push(name);
        const ports = [...new Set(c.service?.targetGroups.flatMap((tg) => [tg.port, tg.trafficPort]) ?? [])];
        return engine(
          'run',
          ...(detach ? ['-d'] : []),
          '--name',
          name,
          '--label',
          'tdconf=1',
          '--network',
          network,
          // The ALB probes the task's own address; a loopback-published port reaches the same listener and also
          // works where the host cannot route to container addresses (rootless podman).
          ...ports.flatMap((p) => ['--publish', `127.0.0.1::${p}`]),
          ...(await ecsRunArgs(c, image, env())),
          image,
          ...c.command,
        );
      };

      if (!c.service) {
        check(`${c.family} (${c.program}) runs to exit 0`, async () => {
          // The restore check logs in to a restored copy whose owner the validation function gave the throwaway
          // password (ModifyDBInstance) before it started the task: the stand-in database plays that copy, with
          // a guestbook row (a copy of an empty database fails the check, as it should).
          const againstCopy = c.environment.DBPASS === TEST_RESTORE_CHECK_PASSWORD;
          if (againstCopy) {
            await sql(db!.name, "INSERT INTO messages (author, text) VALUES ('e2e', 'a row the copy holds')");
            await sql('postgres', `ALTER ROLE "${db!.masterUsername}" PASSWORD '${TEST_RESTORE_CHECK_PASSWORD}'`);
          }
          const refused = await run(false).then(
            () => undefined,
            (err: Error) => err,
          );
          if (againstCopy)
            await sql('postgres', `ALTER ROLE "${db!.masterUsername}" PASSWORD '${TEST_MASTER_PASSWORD}'`);
          // A container the engine never created (a value the test cannot give it) is that error, not "no such object".
          if (
            refused &&
            !(await engine('inspect', name).then(
              () => true,
              () => false,
            ))
          )
            throw refused;
          const { exitCode } = await stateOf(name);
          assert.equal(exitCode, 0, `${c.where} exited ${exitCode}:\n${await logsOf(name)}`);
        });
        continue;
      }

      const service = c.service;
      check(
        `${service.serviceName} becomes ready on its target group's health check (${service.targetGroups
          .map((tg) => `${tg.path} on ${tg.port}`)
          .join(', ')})`,
        async () => {
          assert.ok(service.targetGroups.length > 0, `${c.where}: the service registers no target group`);
          await run(true);
          // ECS ignores failing load-balancer checks for the grace period; a task not healthy by then is replaced.
          const deadlineMs = Math.max(service.gracePeriodSeconds, 10) * 1000;
          for (const tg of service.targetGroups) {
            const url = `http://127.0.0.1:${await hostPort(name, tg.port)}${tg.path}`;
            let healthyInARow = 0;
            let last = '';
            await whileRunning(
              name,
              `${c.where}: ${tg.healthyThreshold} healthy checks in a row on ${tg.path}:${tg.port}`,
              deadlineMs,
              async () => {
                const res = await fetch(url, { signal: AbortSignal.timeout(tg.timeoutSeconds * 1000) }).catch(
                  (err: Error) => err,
                );
                const ok = !(res instanceof Error) && httpCodeMatches(tg.httpCodes, res.status);
                last = res instanceof Error ? res.message : `${res.status} ${await res.text()}`;
                healthyInARow = ok ? healthyInARow + 1 : 0;
                return healthyInARow >= tg.healthyThreshold || last;
              },
            );
            const version = (JSON.parse(last.slice(last.indexOf(' ') + 1)) as { version?: string }).version;
            assert.equal(version, env().APP_VERSION, `${c.where}: reports the version the image tag parameter names`);
          }
        },
      );

      check(`${service.serviceName}'s container health check passes`, async () => {
        const check = c.healthCheck;
        assert.ok(check, `${c.where}: no container health check`);
        const [kind, ...rest] = check.command;
        // CMD runs the arguments directly; CMD-SHELL needs /bin/sh in the image (ECS task definition HealthCheck).
        const command = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest;
        assert.ok(
          kind === 'CMD' || kind === 'CMD-SHELL',
          `${c.where}: health check ${kind} is neither CMD nor CMD-SHELL`,
        );
        let failure = '';
        // ECS marks the container unhealthy after `retries` failures in a row.
        for (let attempt = 0; attempt < check.retries; attempt++) {
          const ran = await engine('exec', name, ...command).then(
            () => undefined,
            (err: Error) => err.message,
          );
          if (ran === undefined) return;
          failure = ran;
          await new Promise((r) => setTimeout(r, 1000));
        }
        assert.fail(`${c.where}: health check ${JSON.stringify(command)} failed ${check.retries} times: ${failure}`);
      });

      check(
        `${service.serviceName} answers ${THROUGH_REQUEST[c.tier]} on its traffic port, through its dependencies`,
        async () => {
          const trafficPort = service.targetGroups[0]?.trafficPort ?? 0;
          const url = `http://127.0.0.1:${await hostPort(name, trafficPort)}${THROUGH_REQUEST[c.tier]}`;
          const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
          const body = await res.text();
          assert.equal(res.status, 200, `${c.where}: GET ${THROUGH_REQUEST[c.tier]} answered ${res.status}: ${body}`);
        },
      );
    }

    for (const b of balancers) {
      check(`${b.where}: the calls that name it went through its listener rules to a target`, async () => {
        const routed = (await logsOf(balancerName(b)))
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { path: string; rule: number | string; target?: string; status: number });
        assert.ok(
          routed.some((r) => r.target && r.status === 200),
          `no request forwarded to a target and answered 200 by it; the stand-in routed ${JSON.stringify(routed)}`,
        );
      });
    }

    for (const arn of secretArns) {
      check(
        `reads ${arn.split(':')[6]} at run time: a signed GetSecretValue of the ARN its task definition names`,
        async () => {
          const calls = (await logsOf(secretsName))
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { call?: string; id?: string; signed: boolean });
          assert.ok(
            calls.some((call) => call.call === 'secretsmanager.GetSecretValue' && call.id === arn && call.signed),
            `no signed GetSecretValue of ${arn}; the stand-in saw ${JSON.stringify(calls)}`,
          );
        },
      );
    }
  });
}
