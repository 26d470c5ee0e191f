// IAM decides as AWS would for the operators: the tier CLI's AWS commands (a restore end to end, from the latest
// restorable time and from a backup, scale, stop/start, backup, status, logs, metrics, deploy/rollback, the admin
// task) run against a fake account answered from the synthesized templates, and every SDK call they make is
// evaluated with a real policy evaluator against the policies of the stage's operator role.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { RunTaskCommand } from '@aws-sdk/client-ecs';
import { createAwsBackend, DEPLOY_ORDER, type Progress } from '@tier/cli';
import { operatorRoleName } from '../../../infra/aws/lib/access/operator-access.js';
import { liveDatabaseParameter, restoreStateParameter } from '../../../packages/contract/src/index.js';
import { FakeAws } from './conformance/fake-aws.js';
import {
  type Decision,
  decide,
  decideAssumeRole,
  type IamRequest,
  iamRequestsOf,
  isReadOnly,
  type RolePolicies,
  rolePolicies,
} from './conformance/iam.js';
import { StageResolver } from './conformance/resolve.js';
import { type Json, synthesizedStages } from './conformance/stage-templates.js';

const quiet: Progress = { step() {}, info() {}, done() {}, warn() {} };
const VERSION = '0123456789ab';

interface Stage {
  readonly name: string;
  readonly resolver: StageResolver;
  readonly operator: RolePolicies;
  readonly pipeline: RolePolicies;
}

interface Session {
  readonly requests: IamRequest[];
  /** Operator command -> what it left behind, for the assertions that it did its job. */
  readonly fake: FakeAws;
  readonly restores: Array<{ liveId: string; newId: string; step: string }>;
  readonly backupId: string;
}

let stages: Map<string, Stage>;
let sessions: Map<string, Session>;

/** Runs every operator command of a stage against its fake account; returns the IAM requests they made. */
async function operatorSession(stage: Stage): Promise<Session> {
  const fake = new FakeAws(stage.resolver);
  const { config } = stage.resolver.stage;
  let clock = Date.parse('2026-03-01T12:00:00Z');
  const backend = createAwsBackend({
    stage: config.stage,
    region: config.region,
    clients: fake.tierClients(config.region),
    pollIntervalMs: 0,
    // Each restore gets its own minute, so its own instance id.
    now: () => clock,
  });
  const requests: IamRequest[] = [];
  const run = async <T>(command: string, fn: () => Promise<T>): Promise<T> => {
    const mark = fake.calls.length;
    try {
      return await fn();
    } finally {
      for (const call of fake.calls.slice(mark)) {
        for (const r of iamRequestsOf(call, config.account, (td) => fake.rolesOf(td)))
          requests.push({ ...r, origin: `${command}: ${r.origin}` });
      }
    }
  };
  await run('tier status', () => backend.status());
  await run('tier scale web=3 api=4', () => backend.scale(quiet, { web: 3, api: 4 }));
  await run('tier scale api=3 --min 2 --max 6', () => backend.scale(quiet, { api: 3 }, { api: { min: 2, max: 6 } }));
  for (const tier of ['web', 'api', 'db']) {
    await run(`tier stop ${tier}`, () => backend.stop(quiet, tier));
    await run(`tier start ${tier}`, () => backend.start(quiet, tier));
  }
  const backup = await run('tier backup now', () => backend.backupNow(quiet));
  await run('tier backup list', () => backend.backupList());
  const restores: Session['restores'] = [];
  await run('tier restore --latest --dry-run', () =>
    backend.restoreDatabase(quiet, { target: { latest: true }, dryRun: true }),
  );
  restores.push(await run('tier restore --latest', () => backend.restoreDatabase(quiet, { target: { latest: true } })));
  clock += 5 * 60_000;
  restores.push(
    await run('tier restore --backup', () => backend.restoreDatabase(quiet, { target: { backupId: backup.id } })),
  );
  clock += 5 * 60_000;
  await run('tier restore --time', () =>
    // Before every instance's latest restorable time (the fake's clock: five minutes before it started).
    backend.restoreDatabase(quiet, { target: { time: '2026-03-01T11:30:00.000Z' } }),
  ).then((s) => restores.push(s));
  await run('tier logs', () => backend.logs({ since: new Date(clock - 3_600_000).toISOString() }));
  await run('tier logs db', () => backend.logs({ tier: 'db', grep: 'ERROR' }));
  await run('tier metrics', () => backend.metrics({ windowSeconds: 3600 }));
  await run('tier history', () => backend.history());
  await run('tier deploy', () => backend.deploy(quiet, { version: VERSION, tiers: [...DEPLOY_ORDER] }));
  await run('tier rollback', () => backend.rollback(quiet, { tiers: [...DEPLOY_ORDER] }));
  // The admin task as infra/aws/README.md runs it (aws ecs run-task): the family's latest revision, own cluster.
  await run('aws ecs run-task (admin task)', async () => {
    const services = stage.resolver.stackOf('services');
    const out = Object.fromEntries(stage.resolver.outputs(services).map((o) => [o.OutputKey, o.OutputValue]));
    await fake.tierClients(config.region).ecs.send(
      new RunTaskCommand({
        cluster: out.ClusterName,
        taskDefinition: `tier-${config.stage}-admin`,
        launchType: 'FARGATE',
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: String(out.MigrationSubnetIds).split(','),
            securityGroups: [String(out.MigrationSecurityGroupId)],
          },
        },
        overrides: { containerOverrides: [{ name: 'admin', environment: [{ name: 'DBHOST', value: 'x' }] }] },
      }),
    );
  });
  return { requests, fake, restores, backupId: backup.id };
}

const show = (r: IamRequest) =>
  `${r.origin}: ${r.action} ${r.resource}${r.context['iam:PassedToService'] ? ` to ${r.context['iam:PassedToService']}` : ''}`;

/** The role with one action taken out of every statement that grants it (a statement left empty is dropped). */
function without(role: RolePolicies, action: string): RolePolicies {
  return {
    ...role,
    identityPolicies: role.identityPolicies.map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: [policy.Statement]
          .flat()
          .map((st: Json) => ({ ...st, Action: [st.Action].flat().filter((a: string) => a !== action) }))
          .filter((st: Json) => st.Action.length > 0),
      },
    })),
  };
}

before(async () => {
  stages = new Map();
  for (const [name, stage] of synthesizedStages()) {
    const resolver = new StageResolver(stage);
    stages.set(name, {
      name,
      resolver,
      operator: rolePolicies(resolver, operatorRoleName(name)),
      pipeline: rolePolicies(resolver, `tier-${name}-github-deploy`),
    });
  }
  sessions = new Map();
  for (const stage of stages.values()) sessions.set(stage.name, await operatorSession(stage));
});

describe('the operator commands against the fake account', () => {
  test('a restore runs every step to the end and switches the stage to the restored instance', () => {
    for (const [name, { fake, restores }] of sessions) {
      assert.deepEqual(
        restores.map((r) => r.step),
        ['done', 'done', 'done'],
        `${name}: latest, backup and time restores finish`,
      );
      const last = restores.at(-1)!;
      assert.equal(fake.parameter(liveDatabaseParameter(name, 'instance-id')), last.newId, `${name}: live parameter`);
      assert.match(last.newId, new RegExp(`^tier-${name}-db-\\d{12}$`));
      assert.equal(JSON.parse(fake.parameter(restoreStateParameter(name))!).step, 'done');
      assert.equal(fake.tagsOf(fake.describeDatabase(last.newId).DBInstanceArn).backup, 'daily', 'backup tag moved');
      assert.equal(fake.tagsOf(fake.describeDatabase(last.liveId).DBInstanceArn).backup, undefined);
    }
  });

  test('every command made AWS calls, and each maps to IAM requests', () => {
    for (const [name, { requests }] of sessions) {
      const commands = new Set(requests.map((r) => r.origin.split(':')[0]));
      assert.ok(commands.size >= 20, `${name}: ${[...commands].join(', ')}`);
    }
  });
});

describe('the AWS calls of the operator commands against the operator roles', () => {
  test("every call is allowed to its stage's operator role", async () => {
    for (const [name, { requests }] of sessions) {
      const denied: string[] = [];
      for (const r of requests) {
        const d: Decision = await decide(stages.get(name)!.operator, r);
        if (d !== 'Allowed') denied.push(`${name}: ${show(r)}: ${d}`);
      }
      assert.deepEqual(denied, []);
    }
  });

  test("the other stage's operator role is denied each one", async () => {
    const allowed: string[] = [];
    for (const [name, { requests }] of sessions) {
      for (const other of stages.values()) {
        if (other.name === name) continue;
        for (const r of requests)
          if ((await decide(other.operator, r)) === 'Allowed') allowed.push(`${other.name} may ${show(r)} of ${name}`);
      }
    }
    assert.deepEqual(allowed, []);
  });

  test("names and tags, not only regions, keep the stages apart: the other stage's role, were it in this region, is denied each one", async () => {
    const allowed: string[] = [];
    for (const [name, { requests }] of sessions) {
      const from = stages.get(name)!.resolver.stage.config.region;
      for (const other of stages.values()) {
        if (other.name === name) continue;
        const to = other.resolver.stage.config.region;
        const move = (x: string) => x.replaceAll(`:${from}:`, `:${to}:`).replaceAll(`.${from}.`, `.${to}.`);
        for (const r of requests) {
          const moved: IamRequest = {
            ...r,
            resource: move(r.resource),
            context: Object.fromEntries(
              Object.entries(r.context).map(([k, v]) => [
                k,
                Array.isArray(v) ? v.map(move) : move(v).replace(from, to),
              ]),
            ),
          };
          if ((await decide(other.operator, moved)) !== 'Allowed') continue;
          // Known and documented (infra/aws/README.md): reads without resource-level permissions are bounded by the
          // region only, and so are scalable targets, whose ARNs carry a generated id.
          if (r.resource === '*' && (await isReadOnly(r.action))) continue;
          if (r.action === 'application-autoscaling:RegisterScalableTarget') continue;
          // The engine's default option group belongs to no stage (RDS creates it per account and region).
          if (/:og:default:/.test(r.resource)) continue;
          allowed.push(`${other.name} may ${show(moved)} of ${name}`);
        }
      }
    }
    assert.deepEqual(allowed, []);
  });

  test('the role grants exactly what the commands call: each granted action is needed, and a role without it is caught', async () => {
    for (const [name, { requests }] of sessions) {
      const role = stages.get(name)!.operator;
      const granted = new Set(
        role.identityPolicies.flatMap(({ policy }) =>
          [policy.Statement].flat().flatMap((st: Json) => [st.Action].flat() as string[]),
        ),
      );
      const used = new Set(requests.map((r) => r.action));
      assert.deepEqual([...granted].filter((a) => !used.has(a)).sort(), [], `${name}: granted but never called`);
      for (const action of granted) {
        const needing = requests.filter((r) => r.action === action);
        const reduced = without(role, action);
        const decisions = await Promise.all(needing.map((r) => decide(reduced, r)));
        assert.ok(
          decisions.some((d) => d !== 'Allowed'),
          `${name}: a role without ${action} still allows ${needing.map(show).join('; ')}`,
        );
      }
    }
  });

  test('the pipeline role may not run the admin task', async () => {
    for (const [name, { requests }] of sessions) {
      const admin = requests.filter((r) => r.origin.startsWith('aws ecs run-task'));
      assert.ok(admin.some((r) => r.action === 'ecs:RunTask'));
      for (const r of admin.filter((x) => ['ecs:RunTask', 'iam:PassRole'].includes(x.action)))
        assert.notEqual(await decide(stages.get(name)!.pipeline, r), 'Allowed', `${name} pipeline: ${show(r)}`);
    }
  });
});

describe('who may assume the operator role', () => {
  test('a principal of the stage account with MFA, for at most an hour; without MFA, from elsewhere or via GitHub: no', async () => {
    for (const stage of stages.values()) {
      const { account } = stage.resolver.stage.config;
      const user = `arn:aws:iam::${account}:user/alice`;
      const role = stage.operator;
      assert.equal(await decideAssumeRole(role, user, { 'aws:MultiFactorAuthPresent': 'true' }), 'Allowed');
      assert.notEqual(await decideAssumeRole(role, user, { 'aws:MultiFactorAuthPresent': 'false' }), 'Allowed');
      assert.notEqual(await decideAssumeRole(role, user, {}), 'Allowed', 'a session without the MFA key');
      assert.notEqual(
        await decideAssumeRole(role, 'arn:aws:iam::222222222222:user/mallory', {
          'aws:MultiFactorAuthPresent': 'true',
        }),
        'Allowed',
        'another account',
      );
      const template = stage.resolver.stage.stacks.flatMap((s) =>
        stage.resolver
          .resources(s, 'AWS::IAM::Role')
          .filter(([id]) => stage.resolver.physical(s, id).ref === operatorRoleName(stage.name)),
      );
      assert.equal(template[0]![1].Properties.MaxSessionDuration, 3600);
    }
  });
});
