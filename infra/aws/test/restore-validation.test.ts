// The restore test validation, application level: the function's two halves at the SDK boundary (fake clients record
// every call; the task definition and stack outputs they answer with come from the synthesized templates), and the
// wiring that lets it reach a restored copy: the copy's security group, the restore-check task, its grants, the rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GROUP_PREFIX, validateRestore } from '../lib/data/restore-validation/index.mjs';
import { RESTORE_CHECK } from '../lib/data/restore-validation.js';
import { type Json, platform, resourcesOf, template } from './support/platform.js';
import { makeResolver, stageStacks } from './support/templates.js';

/** Commands as plain records, so the test sees what would be sent. */
const commands = new Proxy({} as Record<string, new (input: object) => unknown>, {
  get: (_t, key: string) =>
    class {
      readonly name = key.replace(/Command$/, '');
      constructor(readonly input: object) {}
    },
});

const stacks = stageStacks('dev');
const resolve = makeResolver(stacks);
const services = stacks.find((s) => s.id === 'Services')!;
/** What DescribeStacks answers for the services stack: its synthesized outputs, resolved to their shape. */
const servicesOutputs = Object.entries(services.template.Outputs ?? {})
  .filter(([key]) => !key.startsWith('ExportsOutput'))
  .map(([OutputKey, o]) => ({ OutputKey, OutputValue: String(resolve(services, (o as Json).Value)) }));
/** The restore-check task definition as ECS describes it: the synthesized one, its values resolved. */
const [restoreCheckId, restoreCheck] = Object.entries(services.template.Resources).find(
  ([, r]) =>
    (r as Json).Type === 'AWS::ECS::TaskDefinition' && (r as Json).Properties.Family === 'tier-dev-restore-check',
)! as [string, Json];
const lower = (o: Json): Json =>
  Array.isArray(o)
    ? o.map(lower)
    : o && typeof o === 'object'
      ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), lower(v)]))
      : typeof o === 'string'
        ? o
        : o;
const describedTaskDefinition = {
  taskDefinitionArn: `arn:aws:ecs:eu-west-1:123456789012:task-definition/tier-dev-restore-check:3`,
  containerDefinitions: (restoreCheck.Properties.ContainerDefinitions as Json[]).map((c) => ({
    ...lower(c),
    logConfiguration: {
      logDriver: c.LogConfiguration.LogDriver,
      // Option keys are awslogs-*, kept as written.
      options: Object.fromEntries(
        Object.entries(c.LogConfiguration.Options).map(([k, v]) => [k, resolve(services, v as Json)]),
      ),
    },
    environment: (c.Environment as Json[]).map((e) => ({ name: e.Name, value: String(resolve(services, e.Value)) })),
  })),
};

const JOB = 'job-1';
const COPY = 'awsbackup-restore-test-abc';
const COPY_HOST = `${COPY}.xyz.eu-west-1.rds.amazonaws.com`;
const SETTINGS = {
  servicesStack: RESTORE_CHECK.servicesStack('dev'),
  taskFamily: RESTORE_CHECK.taskFamily('dev'),
  passwordParameter: RESTORE_CHECK.passwordParameter('dev'),
  passwordKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/data',
  pollMs: 0,
  settleTimeoutMs: 60_000,
  sleep: async () => undefined,
};

interface World {
  job?: Json;
  instance?: Json;
  logLines?: Json[];
  modifyFails?: boolean;
}

function fakeClients(world: World) {
  const sent: Array<{ name: string; input: Json }> = [];
  let resetPending = false;
  const answers: Record<string, (input: Json) => Json> = {
    DescribeRestoreJob: () => world.job ?? {},
    DescribeDBInstances: () => {
      if (!world.instance) return { DBInstances: [] };
      const pending = resetPending ? { MasterUserPassword: '****' } : {};
      resetPending = false;
      return { DBInstances: [{ ...world.instance, PendingModifiedValues: pending }] };
    },
    ModifyDBInstance: () => {
      if (world.modifyFails) throw Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
      resetPending = true;
      return {};
    },
    DescribeStacks: () => ({ Stacks: [{ StackName: SETTINGS.servicesStack, Outputs: servicesOutputs }] }),
    DescribeTaskDefinition: () => ({ taskDefinition: describedTaskDefinition }),
    RunTask: () => ({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/tier-dev/abc123' }] }),
    GetLogEvents: () => ({ events: (world.logLines ?? []).map((l) => ({ message: JSON.stringify(l) })) }),
  };
  const client = {
    send: async (c: unknown) => {
      const recorded = c as { name: string; input: Json };
      sent.push(recorded);
      return answers[recorded.name]?.(recorded.input) ?? {};
    },
  };
  const clients = { backup: client, rds: client, ecs: client, ssm: client, cloudformation: client, logs: client };
  return { sent, clients, of: (name: string) => sent.filter((c) => c.name === name).map((c) => c.input) };
}

const completed = {
  source: 'aws.backup',
  detail: {
    restoreJobId: JOB,
    status: 'COMPLETED',
    restoreTestingPlanArn: 'arn:aws:backup:x:1:restore-testing-plan:p',
  },
};
const restored = { CreatedResourceArn: `arn:aws:rds:eu-west-1:123456789012:db:${COPY}` };
const healthy = {
  DBInstanceStatus: 'available',
  StorageEncrypted: true,
  PubliclyAccessible: false,
  MasterUsername: 'tier_admin',
  Endpoint: { Address: COPY_HOST, Port: 5432 },
};
const stopped = (exitCode: number) => ({
  source: 'aws.ecs',
  'detail-type': 'ECS Task State Change',
  detail: {
    group: `${GROUP_PREFIX}${JOB}`,
    lastStatus: 'STOPPED',
    taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/tier-dev/abc123',
    taskDefinitionArn: describedTaskDefinition.taskDefinitionArn,
    containers: [{ name: 'restore-check', exitCode }],
    stoppedReason: 'Essential container in task exited',
  },
});

describe('restore validation: a completed restore test starts the data check against the copy', () => {
  test('GIVEN an available, encrypted, private copy THEN its owner gets a throwaway password and the restore-check task runs against it', async () => {
    const { clients, of } = fakeClients({ job: restored, instance: healthy });
    const result = await validateRestore(completed, clients, commands, SETTINGS);
    assert.equal(result.status, 'STARTED');

    const [put] = of('PutParameter');
    const [modify] = of('ModifyDBInstance');
    assert.equal(put?.Name, RESTORE_CHECK.passwordParameter('dev'));
    assert.equal(put?.Type, 'SecureString');
    assert.equal(put?.KeyId, SETTINGS.passwordKeyId);
    assert.ok(String(put?.Value).length >= 32, 'a long random password');
    assert.deepEqual(modify, { DBInstanceIdentifier: COPY, MasterUserPassword: put?.Value, ApplyImmediately: true });
    assert.ok(of('DescribeDBInstances').length >= 3, 'waited until the reset was applied');
    assert.equal(of('GetSecretValue').length, 0, "the live owner's secret is never read");

    const [run] = of('RunTask');
    const out: Record<string, string> = Object.fromEntries(servicesOutputs.map((o) => [o.OutputKey, o.OutputValue]));
    assert.equal(run?.cluster, out.ClusterName);
    assert.equal(run?.taskDefinition, describedTaskDefinition.taskDefinitionArn);
    assert.equal(run?.group, `${GROUP_PREFIX}${JOB}`);
    assert.deepEqual(run?.overrides, {
      containerOverrides: [{ name: 'restore-check', environment: [{ name: 'DBHOST', value: COPY_HOST }] }],
    });
    assert.deepEqual(run?.networkConfiguration.awsvpcConfiguration, {
      subnets: String(out.MigrationSubnetIds).split(','),
      securityGroups: [out.MigrationSecurityGroupId],
      assignPublicIp: 'DISABLED',
    });
    assert.equal(of('PutRestoreValidationResult').length, 0, 'the result comes when the check has run');
  });

  test('GIVEN a copy that is public or unencrypted THEN FAILED is reported with the reasons and nothing runs', async () => {
    const { clients, of } = fakeClients({
      job: restored,
      instance: { ...healthy, StorageEncrypted: false, PubliclyAccessible: true },
    });
    const result = await validateRestore(completed, clients, commands, SETTINGS);
    assert.equal(result.status, 'FAILED');
    assert.match(result.message, /not encrypted.*publicly accessible/);
    assert.deepEqual(of('PutRestoreValidationResult')[0], {
      RestoreJobId: JOB,
      ValidationStatus: 'FAILED',
      ValidationStatusMessage: result.message,
    });
    assert.equal(of('ModifyDBInstance').length + of('RunTask').length, 0);
  });

  test('GIVEN a job that created no instance, or a step AWS refuses THEN FAILED is reported, never silence', async () => {
    const none = fakeClients({});
    assert.equal((await validateRestore(completed, none.clients, commands, SETTINGS)).status, 'FAILED');
    assert.equal(none.of('PutRestoreValidationResult')[0]?.ValidationStatus, 'FAILED');

    const denied = fakeClients({ job: restored, instance: healthy, modifyFails: true });
    const result = await validateRestore(completed, denied.clients, commands, SETTINGS);
    assert.equal(result.status, 'FAILED');
    assert.match(result.message, /could not run: AccessDenied/);
    assert.equal(denied.of('RunTask').length, 0);
  });

  test('GIVEN the completed event delivered again after the verdict THEN no second check starts and nothing is reported again', async () => {
    const { clients, of } = fakeClients({ job: { ...restored, ValidationStatus: 'SUCCESSFUL' }, instance: healthy });
    const result = await validateRestore(completed, clients, commands, SETTINGS);
    assert.equal(result.status, 'SKIPPED');
    assert.equal(of('PutParameter').length + of('ModifyDBInstance').length + of('RunTask').length, 0);
    assert.equal(of('PutRestoreValidationResult').length, 0);
  });

  test('GIVEN a restore that is not a restore test THEN nothing is called', async () => {
    const { sent, clients } = fakeClients({ job: restored });
    const result = await validateRestore(
      { source: 'aws.backup', detail: { restoreJobId: 'job-2', status: 'COMPLETED' } },
      clients,
      commands,
      SETTINGS,
    );
    assert.equal(result.status, 'SKIPPED');
    assert.equal(sent.length, 0);
  });
});

describe('restore validation: the stopped data check reports the result', () => {
  const line = (ok: boolean, tables: Record<string, number>, problems: string[] = []) => ({
    level: ok ? 30 : 50,
    msg: 'verify',
    ok,
    tables,
    status: ok ? { time: '2026-03-02T06:40:00.000Z' } : undefined,
    problems,
  });

  test('GIVEN exit 0 and its verify line THEN SUCCESSFUL with the row counts, read from the task’s own log stream', async () => {
    const { clients, of } = fakeClients({ logLines: [line(true, { messages: 12, schema_migrations: 2 })] });
    const result = await validateRestore(stopped(0), clients, commands, SETTINGS);
    assert.equal(result.status, 'SUCCESSFUL');
    assert.match(result.message, /rows messages 12, schema_migrations 2; status query answered 2026-03-02T06:40/);
    const [read] = of('GetLogEvents');
    assert.equal(read?.logGroupName, RESTORE_CHECK.logGroupName('dev'));
    assert.equal(read?.logStreamName, 'restore-check/restore-check/abc123');
    assert.equal(of('PutRestoreValidationResult')[0]?.RestoreJobId, JOB);
  });

  test('GIVEN an empty copy (exit 1) THEN FAILED with what the check found', async () => {
    const { clients } = fakeClients({
      logLines: [line(false, { messages: 0, schema_migrations: 2 }, ['every application table is empty (messages)'])],
    });
    const result = await validateRestore(stopped(1), clients, commands, SETTINGS);
    assert.equal(result.status, 'FAILED');
    assert.equal(
      result.message,
      'data check failed: every application table is empty (messages) (rows messages 0, schema_migrations 2)',
    );
  });

  test('GIVEN a task that stopped without its line (it could not start) THEN FAILED with ECS’s reason', async () => {
    const { clients } = fakeClients({ logLines: [] });
    const result = await validateRestore(stopped(0), clients, commands, SETTINGS);
    assert.equal(result.status, 'FAILED', 'exit 0 without the verify line proves nothing');
    assert.match(result.message, /Essential container in task exited/);
  });

  test('GIVEN the stopped event delivered again after the verdict THEN the verdict is not reported again', async () => {
    const { clients, of } = fakeClients({
      job: { ValidationStatus: 'FAILED' },
      logLines: [line(true, { messages: 1 })],
    });
    const result = await validateRestore(stopped(0), clients, commands, SETTINGS);
    assert.equal(result.status, 'SKIPPED');
    assert.equal(of('PutRestoreValidationResult').length, 0);
  });

  test('GIVEN a task of another group THEN nothing is reported', async () => {
    const { sent, clients } = fakeClients({});
    const other = { ...stopped(0), detail: { ...stopped(0).detail, group: 'family:tier-dev-admin' } };
    assert.equal((await validateRestore(other, clients, commands, SETTINGS)).status, 'SKIPPED');
    assert.equal(sent.length, 0);
  });
});

describe('restore validation wiring', () => {
  for (const stage of ['dev', 'prod'] as const) {
    test(`${stage}: the copy is restored behind the database's own security group (which admits the api tasks' group the check runs in)`, () => {
      const p = platform(stage);
      const [, sel] = resourcesOf(template(p.data), 'AWS::Backup::RestoreTestingSelection')[0] as [string, Json];
      const db = resourcesOf(template(p.data), 'AWS::RDS::DBInstance')[0]![1];
      const overrides = sel.Properties.RestoreMetadataOverrides;
      // The instance's own groups, as a JSON list.
      assert.deepEqual(overrides.vpcsecuritygroupids, {
        'Fn::Join': ['', ['["', db.Properties.VPCSecurityGroups[0], '"]']],
      });
    });

    test(`${stage}: completed restore tests and stopped data checks of the stage invoke the function`, () => {
      const t = template(platform(stage).data);
      const [[planId]] = resourcesOf(t, 'AWS::Backup::RestoreTestingPlan') as [[string, Json]];
      const rules = resourcesOf(t, 'AWS::Events::Rule');
      const byType = (type: string) =>
        rules.find(([, r]) => r.Properties.EventPattern?.['detail-type']?.includes(type));
      const completedRule = byType('Restore Job State Change');
      assert.deepEqual(completedRule?.[1].Properties.EventPattern.detail, {
        status: ['COMPLETED'],
        restoreTestingPlanArn: [{ 'Fn::GetAtt': [planId, 'RestoreTestingPlanArn'] }],
      });
      const stoppedRule = byType('ECS Task State Change');
      assert.deepEqual(stoppedRule?.[1].Properties.EventPattern.source, ['aws.ecs']);
      assert.deepEqual(stoppedRule?.[1].Properties.EventPattern.detail.lastStatus, ['STOPPED']);
      assert.deepEqual(stoppedRule?.[1].Properties.EventPattern.detail.group, [{ prefix: GROUP_PREFIX }]);
      assert.match(JSON.stringify(stoppedRule?.[1].Properties.EventPattern.detail.clusterArn), /cluster\/tier-/);
      const [[fnId, fn]] = resourcesOf(t, 'AWS::Lambda::Function') as [[string, Json]];
      for (const rule of [completedRule, stoppedRule])
        assert.match(JSON.stringify(rule?.[1].Properties.Targets), new RegExp(fnId));
      assert.equal(fn.Properties.Environment.Variables.TASK_FAMILY, RESTORE_CHECK.taskFamily(stage));
      const role = resourcesOf(t, 'AWS::IAM::Role').find(
        ([, r]) => r.Properties.RoleName === RESTORE_CHECK.roleName(stage),
      );
      assert.ok(role, 'a role the services stack can grant by name');
      const group = resourcesOf(t, 'AWS::Logs::LogGroup').find(
        ([, g]) => g.Properties.LogGroupName === RESTORE_CHECK.logGroupName(stage),
      );
      assert.ok(group?.[1].Properties.KmsKeyId, 'an encrypted log group');
    });

    test(`${stage}: the function may reset the password of restore-test copies only, and write only the throwaway password`, () => {
      const t = template(platform(stage).data);
      const statements = resourcesOf(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      const modify = statements.filter((s: Json) => [s.Action].flat().includes('rds:ModifyDBInstance'));
      assert.equal(modify.length, 1);
      assert.match(JSON.stringify(modify[0].Resource), /:db:awsbackup-restore-test-\*"/);
      const put = statements.find((s: Json) => [s.Action].flat().includes('ssm:PutParameter'));
      assert.match(JSON.stringify(put.Resource), new RegExp(`parameter${RESTORE_CHECK.passwordParameter(stage)}`));
      assert.ok(!statements.some((s: Json) => [s.Action].flat().includes('secretsmanager:GetSecretValue')));
    });

    test(`${stage}: the restore-check task runs inspect.js verify as the owner with the throwaway password, never the live owner secret`, () => {
      const t = template(platform(stage).services);
      const td = resourcesOf(t, 'AWS::ECS::TaskDefinition').find(
        ([, d]) => d.Properties.Family === RESTORE_CHECK.taskFamily(stage),
      );
      assert.ok(td, 'a restore-check task definition');
      const [container] = td[1].Properties.ContainerDefinitions as Json[];
      assert.deepEqual(container.Command, ['node', 'apps/api/dist/inspect.js', 'verify']);
      assert.equal(container.Environment.find((e: Json) => e.Name === 'DBUSER')?.Value, 'tier_admin');
      assert.deepEqual(
        container.Secrets.map((s: Json) => s.Name),
        ['DBPASS'],
      );
      assert.match(
        JSON.stringify(container.Secrets[0].ValueFrom),
        new RegExp(`parameter${RESTORE_CHECK.passwordParameter(stage)}`),
      );
      assert.equal(container.LogConfiguration.Options['awslogs-group'], RESTORE_CHECK.logGroupName(stage));
      const admin = resourcesOf(t, 'AWS::ECS::TaskDefinition').find(
        ([, d]) => d.Properties.Family === `tier-${stage}-admin`,
      );
      assert.deepEqual(
        admin?.[1].Properties.ContainerDefinitions[0].Command.slice(0, 2),
        container.Command.slice(0, 2),
        "the admin task's own program",
      );
    });

    test(`${stage}: the validation role may run exactly the restore-check task, in the stage's cluster, and pass its roles to ECS`, () => {
      const t = template(platform(stage).services);
      const policy = resourcesOf(t, 'AWS::IAM::Policy').find(([, p]) =>
        JSON.stringify(p.Properties.Roles).includes(RESTORE_CHECK.roleName(stage)),
      );
      assert.ok(policy, 'a policy attached to the validation role by name');
      const [run, pass] = policy[1].Properties.PolicyDocument.Statement as Json[];
      assert.equal(run.Action, 'ecs:RunTask');
      assert.match(JSON.stringify(run.Resource), new RegExp(`task-definition/${RESTORE_CHECK.taskFamily(stage)}:\\*`));
      assert.ok(run.Condition.ArnEquals['ecs:cluster']);
      assert.equal(pass.Action, 'iam:PassRole');
      assert.equal(pass.Resource.length, 2);
      assert.match(JSON.stringify(pass.Resource), new RegExp(`${restoreCheckId}|RestoreCheckTask`));
      assert.deepEqual(pass.Condition, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    });
  }
});
