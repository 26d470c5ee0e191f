// tier restore --target aws as a state machine at the SDK boundary: a small stateful account (RDS, SSM, the services
// and monitoring stacks, ECS and the tasks' logs, Secrets Manager) answers the calls; each step is interrupted (the call done but its answer lost, or the
// state not recorded) and the resumed restore must end in the same account as an uninterrupted one.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DescribeStacksCommand, type Stack, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  AddTagsToResourceCommand,
  type DBInstance,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { liveDatabaseParameter, restoreStateParameter } from '../../contract/src/index.js';
import type { RestoreRequest, RestoreState } from '../src/aws/index.js';
import { TierError } from '../src/backend.js';
import { awsError, backend, DB_ID, mockAws, output, recorder, STACKS } from './aws-support.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const rdsArn = (id: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:db:${id}`;
const NEW_ID = `${DB_ID}-202603011200`;
const LIVE_HOST = `${DB_ID}.abc.${REGION}.rds.amazonaws.com`;
const NEW_HOST = `${NEW_ID}.abc.${REGION}.rds.amazonaws.com`;
const OWNER_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-live-AbCdEf`;
const NEW_OWNER_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-new-GhIjKl`;
const API_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tier-dev-api-user-MnOpQr`;
const DATA_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/data`;
const SERVICES = 'tier-dev-services';
const MONITORING = 'tier-dev-monitoring';
type Concern = 'services' | 'monitoring';
const HOST_PARAM = liveDatabaseParameter('dev', 'host');
const ID_PARAM = liveDatabaseParameter('dev', 'instance-id');
/** What `inspect.js verify` prints for a copy that holds the data. */
const GOOD_CHECK = {
  level: 30,
  msg: 'verify',
  ok: true,
  tables: { messages: 3, schema_migrations: 2 },
  status: { time: '2026-03-01T12:00:40.000Z' },
  problems: [],
};
const STATE = restoreStateParameter('dev');

/** Where a call is cut: `after` = AWS did it but the answer was lost; `before` = it never reached AWS. */
interface Cut {
  readonly command: string;
  readonly when: 'before' | 'after';
  readonly match?: (input: Record<string, unknown>) => boolean;
}

/** The part of an account a restore touches, answering as AWS would. */
class Account {
  readonly instances = new Map<string, DBInstance & { tags: Tag[]; describes: number }>();
  readonly params = new Map<string, string>([
    [liveDatabaseParameter('dev', 'instance-id'), DB_ID],
    [liveDatabaseParameter('dev', 'host'), LIVE_HOST],
    [liveDatabaseParameter('dev', 'master-secret-arn'), OWNER_SECRET],
  ]);
  /** Each stack that follows the parameters: its status and what its SSM-typed parameters resolved at its last update. */
  readonly stacks: Record<
    Concern,
    { status: string; resolved: Record<string, string>; describes: number; updates: number }
  > = {
    services: { status: 'UPDATE_COMPLETE', resolved: Object.fromEntries(this.params), describes: 0, updates: 0 },
    monitoring: { status: 'UPDATE_COMPLETE', resolved: Object.fromEntries(this.params), describes: 0, updates: 0 },
  };
  readonly outcomes: Record<Concern, string> = { services: 'UPDATE_COMPLETE', monitoring: 'UPDATE_COMPLETE' };
  apiSecret = JSON.stringify({
    username: 'tier_api',
    password: 'api-pass',
    host: LIVE_HOST,
    port: 5432,
    dbInstanceIdentifier: DB_ID,
    masterarn: OWNER_SECRET,
  });
  verifyExit = 0;
  dataCheckExit = 0;
  /** The JSON line the data check logs. */
  dataCheck: Record<string, unknown> = GOOD_CHECK;
  /** Every task started: which task definition, against which host, with which command. */
  readonly runTasks: Array<{ family: string; host: string; command?: string[] }> = [];
  cut?: Cut;

  constructor() {
    this.instances.set(DB_ID, {
      DBInstanceIdentifier: DB_ID,
      DBInstanceArn: rdsArn(DB_ID),
      DBInstanceStatus: 'available',
      DBInstanceClass: 'db.t4g.micro',
      Endpoint: { Address: LIVE_HOST, Port: 5432 },
      DBSubnetGroup: { DBSubnetGroupName: 'tier-dev-isolated' },
      VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-db', Status: 'active' }],
      DBParameterGroups: [{ DBParameterGroupName: 'tier-dev-pg17' }],
      MultiAZ: false,
      StorageType: 'gp3',
      Iops: 3000,
      StorageThroughput: 125,
      MaxAllocatedStorage: 100,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      AutoMinorVersionUpgrade: true,
      BackupRetentionPeriod: 7,
      PreferredBackupWindow: '02:00-03:00',
      PreferredMaintenanceWindow: 'sun:04:00-sun:05:00',
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      IAMDatabaseAuthenticationEnabled: false,
      EnabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
      PerformanceInsightsEnabled: true,
      PerformanceInsightsKMSKeyId: DATA_KEY,
      PerformanceInsightsRetentionPeriod: 7,
      MonitoringInterval: 60,
      MonitoringRoleArn: `arn:aws:iam::${ACCOUNT}:role/tier-dev-monitoring`,
      MasterUserSecret: { SecretArn: OWNER_SECRET, SecretStatus: 'active', KmsKeyId: DATA_KEY },
      LatestRestorableTime: new Date('2026-03-01T11:55:00Z'),
      tags: [
        { Key: 'backup', Value: 'daily' },
        { Key: 'tier:stage', Value: 'dev' },
        { Key: 'aws:cloudformation:stack-name', Value: 'tier-dev-data' },
      ],
      describes: 0,
    });
  }

  /** Runs `effect` as AWS would, cut where the test says. */
  act<T>(command: string, input: Record<string, unknown>, effect: () => T): T {
    const cut = this.cut;
    const hit = cut && cut.command === command && (!cut.match || cut.match(input));
    if (hit && cut.when === 'before') {
      this.cut = undefined;
      throw awsError('TimeoutError', 'the connection dropped');
    }
    const result = effect();
    if (hit) {
      this.cut = undefined;
      throw awsError('TimeoutError', 'the answer was lost');
    }
    return result;
  }

  describe(id: string): DBInstance {
    const db = this.instances.get(id);
    if (!db) throw awsError('DBInstanceNotFoundFault', `${id} not found`);
    // Every state change takes one look to settle, as RDS takes minutes.
    db.describes += 1;
    if (db.DBInstanceStatus !== 'available' && db.describes > 1) db.DBInstanceStatus = 'available';
    if (db.DBInstanceStatus === 'available') db.PendingModifiedValues = {};
    const { tags: _t, describes: _d, ...shown } = db;
    return structuredClone(shown);
  }

  restoreInto(id: string, tags: Tag[] = []): void {
    const live = this.instances.get(DB_ID)!;
    this.instances.set(id, {
      ...structuredClone(live),
      DBInstanceIdentifier: id,
      DBInstanceArn: rdsArn(id),
      DBInstanceStatus: 'creating',
      Endpoint: { Address: `${id}.abc.${REGION}.rds.amazonaws.com`, Port: 5432 },
      // What a restore does not carry over.
      PerformanceInsightsEnabled: false,
      MonitoringInterval: 0,
      MaxAllocatedStorage: undefined,
      MasterUserSecret: undefined,
      tags: [...tags],
      describes: 0,
    });
  }

  stack(concern: Concern): Stack {
    const fixture = STACKS.find((st) => st.StackName === `tier-dev-${concern}`)!;
    const state = this.stacks[concern];
    if (state.status === 'UPDATE_IN_PROGRESS' && ++state.describes > 1) {
      state.status = this.outcomes[concern];
      // CloudFormation reads the SSM-typed parameters at every update; a rolled-back update keeps the old values.
      if (state.status === 'UPDATE_COMPLETE') state.resolved = Object.fromEntries(this.params);
    }
    return {
      ...fixture,
      StackStatus: state.status as Stack['StackStatus'],
      LastUpdatedTime: new Date(Date.UTC(2026, 1, 1) + state.updates * 60_000),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      RoleARN: `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`,
      // The template's own SSM-typed parameters (from the synthesized fixture), as CloudFormation resolved them.
      Parameters: (fixture.Parameters ?? []).map((p) => ({
        ...p,
        ResolvedValue: state.resolved[p.ParameterValue ?? ''] ?? 'resolved',
      })),
    };
  }
}

let aws: ReturnType<typeof mockAws>;
let account: Account;

function wire(): void {
  const a = () => account;
  const concern = (name: string): Concern | undefined =>
    name === SERVICES ? 'services' : name === MONITORING ? 'monitoring' : undefined;
  aws.cfn.on(DescribeStacksCommand).callsFake((input) => {
    const followed = concern(input.StackName);
    if (followed) return { Stacks: [a().stack(followed)] };
    return { Stacks: STACKS.filter((s) => s.StackName === input.StackName) };
  });
  aws.cfn.on(UpdateStackCommand).callsFake((input) =>
    a().act('UpdateStack', input, () => {
      const state = a().stacks[concern(input.StackName)!];
      Object.assign(state, { status: 'UPDATE_IN_PROGRESS', describes: 0, updates: state.updates + 1 });
      return { StackId: input.StackName };
    }),
  );
  aws.ssm.on(GetParameterCommand).callsFake((input) => {
    const value = a().params.get(input.Name);
    if (value === undefined) throw awsError('ParameterNotFound');
    return { Parameter: { Name: input.Name, Value: value } };
  });
  aws.ssm.on(PutParameterCommand).callsFake((input) =>
    a().act('PutParameter', input, () => {
      a().params.set(input.Name, input.Value);
      return { Version: 2 };
    }),
  );
  aws.rds
    .on(DescribeDBInstancesCommand)
    .callsFake((input) => ({ DBInstances: [a().describe(input.DBInstanceIdentifier)] }));
  aws.rds
    .on(RestoreDBInstanceToPointInTimeCommand)
    .callsFake((input) =>
      a().act('Restore', input, () => a().restoreInto(input.TargetDBInstanceIdentifier, input.Tags)),
    );
  aws.rds
    .on(RestoreDBInstanceFromDBSnapshotCommand)
    .callsFake((input) => a().act('Restore', input, () => a().restoreInto(input.DBInstanceIdentifier, input.Tags)));
  aws.rds.on(ModifyDBInstanceCommand).callsFake((input) =>
    a().act('ModifyDBInstance', input, () => {
      const db = a().instances.get(input.DBInstanceIdentifier)!;
      db.DBInstanceStatus = 'modifying';
      db.describes = 0;
      if (input.EnablePerformanceInsights) db.PerformanceInsightsEnabled = true;
      if (input.MonitoringInterval) db.MonitoringInterval = input.MonitoringInterval;
      if (input.MaxAllocatedStorage) db.MaxAllocatedStorage = input.MaxAllocatedStorage;
      if (input.ManageMasterUserPassword)
        db.MasterUserSecret = {
          SecretArn: NEW_OWNER_SECRET,
          SecretStatus: 'active',
          KmsKeyId: input.MasterUserSecretKmsKeyId,
        };
      return {};
    }),
  );
  aws.rds.on(ListTagsForResourceCommand).callsFake((input) => ({
    TagList: [...a().instances.values()].find((d) => d.DBInstanceArn === input.ResourceName)?.tags ?? [],
  }));
  aws.rds.on(AddTagsToResourceCommand).callsFake((input) =>
    a().act('AddTagsToResource', input, () => {
      const db = [...a().instances.values()].find((d) => d.DBInstanceArn === input.ResourceName)!;
      db.tags = [...db.tags.filter((t) => !input.Tags.some((n: Tag) => n.Key === t.Key)), ...input.Tags];
      return {};
    }),
  );
  aws.rds.on(RemoveTagsFromResourceCommand).callsFake((input) =>
    a().act('RemoveTagsFromResource', input, () => {
      const db = [...a().instances.values()].find((d) => d.DBInstanceArn === input.ResourceName)!;
      db.tags = db.tags.filter((t) => !input.TagKeys.includes(t.Key ?? ''));
      return {};
    }),
  );
  aws.ecs.on(DescribeServicesCommand).resolves({
    services: [{ taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/tier-dev-api:7` }],
  });
  aws.ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
    if (input.taskDefinition === 'tier-dev-admin') {
      return {
        taskDefinition: {
          taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/tier-dev-admin:2`,
          containerDefinitions: [
            {
              name: 'admin',
              command: ['node', 'apps/api/dist/inspect.js'],
              environment: [{ name: 'DBHOST', value: LIVE_HOST }],
              logConfiguration: {
                logDriver: 'awslogs',
                options: { 'awslogs-group': output('ExecLogGroupName'), 'awslogs-stream-prefix': 'admin' },
              },
            },
          ],
        },
      };
    }
    const migration = input.taskDefinition === output('MigrationTaskDefinitionArn');
    return {
      taskDefinition: {
        taskDefinitionArn: migration
          ? `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/tier-dev-migrate:4`
          : input.taskDefinition,
        containerDefinitions: [
          {
            name: migration ? 'migrate' : 'api',
            environment: [
              { name: 'DBHOST', value: LIVE_HOST },
              ...(migration ? [] : [{ name: 'DBCREDENTIALS_ARN', value: API_SECRET }]),
            ],
          },
          { name: 'log-router' },
        ],
      },
    };
  });
  const familyOf = (arn: string) => (arn.includes('tier-dev-admin') ? 'admin' : 'migrate');
  aws.ecs.on(RunTaskCommand).callsFake((input) =>
    a().act('RunTask', input, () => {
      const family = familyOf(input.taskDefinition);
      const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/tier-dev/${family}${a().runTasks.length}`;
      const override = input.overrides.containerOverrides[0];
      a().runTasks.push({ family, host: override.environment[0].value, command: override.command });
      return { tasks: [{ taskArn: arn }] };
    }),
  );
  aws.ecs.on(DescribeTasksCommand).callsFake((input) => ({
    tasks: input.tasks.map((arn: string) => ({
      taskArn: arn,
      lastStatus: 'STOPPED',
      containers: [{ exitCode: arn.includes('/admin') ? a().dataCheckExit : a().verifyExit }],
      stoppedReason: 'Essential container in task exited',
    })),
  }));
  aws.logs.on(GetLogEventsCommand).callsFake((input) => {
    const [prefix, container, task] = String(input.logStreamName).split('/');
    if (input.logGroupName !== output('ExecLogGroupName') || prefix !== 'admin' || container !== 'admin' || !task) {
      throw awsError('ResourceNotFoundException', 'The specified log stream does not exist.');
    }
    return { events: [{ message: '{"level":30,"msg":"starting"}' }, { message: JSON.stringify(a().dataCheck) }] };
  });
  aws.secrets
    .on(GetSecretValueCommand)
    .callsFake((input) =>
      input.SecretId === OWNER_SECRET
        ? { SecretString: JSON.stringify({ username: 'tier_owner', password: 'owner-now' }) }
        : { SecretString: a().apiSecret },
    );
  aws.secrets
    .on(DescribeSecretCommand)
    .resolves({ Name: 'tier-dev-api-user', VersionIdsToStages: { v1: ['AWSCURRENT'] } });
  aws.secrets.on(PutSecretValueCommand).callsFake((input) =>
    a().act('PutSecretValue', input, () => {
      a().apiSecret = input.SecretString;
      return {};
    }),
  );
}

beforeEach(() => {
  aws = mockAws();
  account = new Account();
  wire();
});

const run = (req: RestoreRequest) => backend().restoreDatabase(recorder(), req);
const stateOf = (): RestoreState | undefined => {
  const text = account.params.get(STATE);
  return text ? (JSON.parse(text) as RestoreState) : undefined;
};
const names = (stub: { calls(): Array<{ args: [unknown] }> }) =>
  stub.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);

/** Everything an uninterrupted restore leaves behind, as one value to compare. */
function outcome() {
  const fresh = account.instances.get(NEW_ID);
  const old = account.instances.get(DB_ID)!;
  return {
    step: stateOf()?.step,
    live: ['instance-id', 'host', 'master-secret-arn'].map((f) =>
      account.params.get(liveDatabaseParameter('dev', f as 'host')),
    ),
    stackHost: account.stacks.services.resolved[HOST_PARAM],
    alarmsWatch: account.stacks.monitoring.resolved[ID_PARAM],
    apiSecret: JSON.parse(account.apiSecret),
    fresh: fresh && {
      pi: fresh.PerformanceInsightsEnabled,
      monitoring: fresh.MonitoringInterval,
      maxStorage: fresh.MaxAllocatedStorage,
      owner: fresh.MasterUserSecret?.SecretArn,
      tags: Object.fromEntries(fresh.tags.map((t) => [t.Key, t.Value])),
    },
    oldTags: Object.fromEntries(old.tags.map((t) => [t.Key, t.Value])),
    restores: aws.rds.commandCalls(RestoreDBInstanceToPointInTimeCommand).length,
    stackUpdates: aws.cfn.commandCalls(UpdateStackCommand).length,
    ownerSecretsCreated: aws.rds
      .commandCalls(ModifyDBInstanceCommand)
      .filter((c) => c.args[0].input.ManageMasterUserPassword).length,
  };
}

const EXPECTED = {
  step: 'done',
  live: [NEW_ID, NEW_HOST, NEW_OWNER_SECRET],
  stackHost: NEW_HOST,
  alarmsWatch: NEW_ID,
  apiSecret: {
    username: 'tier_api',
    password: 'api-pass',
    host: NEW_HOST,
    port: 5432,
    dbInstanceIdentifier: NEW_ID,
    masterarn: NEW_OWNER_SECRET,
  },
  fresh: {
    pi: true,
    monitoring: 60,
    maxStorage: 100,
    owner: NEW_OWNER_SECRET,
    tags: { 'tier:restored-from': DB_ID, 'tier:stage': 'dev', backup: 'daily' },
  },
  oldTags: { 'tier:stage': 'dev', 'aws:cloudformation:stack-name': 'tier-dev-data', 'tier:replaced-by': NEW_ID },
  restores: 1,
  stackUpdates: 2,
  ownerSecretsCreated: 1,
};

describe('tier restore --target aws', () => {
  it('restores, verifies, then switches the application to the copy by configuration, keeping credentials, rotation and tags', async () => {
    const state = await run({ target: { time: '2026-03-01T11:00:00Z' } });
    assert.equal(state.newId, NEW_ID);
    assert.deepEqual(outcome(), EXPECTED);

    const restore = aws.rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]!.args[0].input;
    assert.equal(restore.SourceDBInstanceIdentifier, DB_ID);
    assert.deepEqual(restore.RestoreTime, new Date('2026-03-01T11:00:00Z'));
    assert.equal(restore.StorageType, 'gp3');
    assert.equal(restore.StorageThroughput, 125);
    assert.equal(restore.DBParameterGroupName, 'tier-dev-pg17');
    assert.deepEqual(restore.VpcSecurityGroupIds, ['sg-db']);
    assert.equal(restore.PubliclyAccessible, false);
    assert.equal(restore.DeletionProtection, true);
    assert.ok(!restore.Tags?.some((t) => t.Key === 'backup'), 'the copy joins the backup plan only once it is live');

    const [configure] = aws.rds.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input);
    assert.equal(configure?.DBInstanceIdentifier, NEW_ID);
    assert.equal(configure?.MasterUserPassword, 'owner-now', "the owner's current password, not the snapshot's");
    assert.equal(configure?.PerformanceInsightsKMSKeyId, DATA_KEY);
    assert.equal(configure?.PreferredMaintenanceWindow, 'sun:04:00-sun:05:00');
    const own = aws.rds.commandCalls(ModifyDBInstanceCommand).find((c) => c.args[0].input.ManageMasterUserPassword);
    assert.equal(own?.args[0].input.MasterUserSecretKmsKeyId, DATA_KEY);

    assert.deepEqual(
      account.runTasks,
      [
        { family: 'migrate', host: NEW_HOST, command: undefined },
        { family: 'admin', host: NEW_HOST, command: ['node', 'apps/api/dist/inspect.js', 'verify'] },
      ],
      "the migration, then the admin task's data check, each once, against the restored host",
    );
    const updates = aws.cfn.commandCalls(UpdateStackCommand).map((c) => c.args[0].input);
    assert.deepEqual(
      updates.map((u) => u.StackName),
      [SERVICES, MONITORING],
      'the application, then the alarms, follow the copy',
    );
    for (const update of updates) {
      assert.equal(update.UsePreviousTemplate, true);
      assert.ok(update.Parameters?.every((p) => p.UsePreviousValue === true));
      assert.deepEqual(update.Capabilities, ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
    }
    // The replaced instance is only re-tagged: never modified, renamed or deleted.
    for (const c of aws.rds.commandCalls(ModifyDBInstanceCommand))
      assert.notEqual(c.args[0].input.DBInstanceIdentifier, DB_ID);
  });

  it('a recovery point from `tier backup list` is restored from its snapshot', async () => {
    const snapshot = `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:awsbackup:job-1`;
    await run({ target: { backupId: snapshot } });
    const input = aws.rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]?.args[0].input;
    assert.equal(input?.DBSnapshotIdentifier, snapshot);
    assert.equal(input?.DBInstanceIdentifier, NEW_ID);
    assert.equal(stateOf()?.step, 'done');
  });

  it('--dry-run prints every step and only reads', async () => {
    const progress = recorder();
    await backend().restoreDatabase(progress, { target: { latest: true }, dryRun: true });
    const text = progress.lines.join('\n');
    for (const step of ['restore', 'configure', 'verify', 'own-credentials', 'switch', 'follow'])
      assert.match(text, new RegExp(`\\d\\. ${step}: `));
    assert.match(text, /nothing was changed/);
    const writes = [
      ...names(aws.rds),
      ...names(aws.ssm),
      ...names(aws.cfn),
      ...names(aws.ecs),
      ...names(aws.secrets),
    ].filter((n) => !/^(Describe|Get|List)/.test(n));
    assert.deepEqual(writes, []);
  });

  const CUTS: Array<[string, Cut]> = [
    ['restore: the restore started, its answer lost', { command: 'Restore', when: 'after' }],
    ['restore: done but not recorded', { command: 'PutParameter', when: 'before', match: recorded('configure') }],
    [
      'configure: modified, answer lost',
      { command: 'ModifyDBInstance', when: 'after', match: (i) => !i.ManageMasterUserPassword },
    ],
    ['configure: done but not recorded', { command: 'PutParameter', when: 'before', match: recorded('verify') }],
    [
      'verify: the migration task started, its answer lost',
      { command: 'RunTask', when: 'after', match: (i) => String(i.taskDefinition).includes('migrate') },
    ],
    [
      'verify: migrated but not recorded',
      {
        command: 'PutParameter',
        when: 'before',
        match: (i) => i.Name === STATE && /"migrated":true/.test(String(i.Value)),
      },
    ],
    [
      'verify: the data check started, its answer lost',
      { command: 'RunTask', when: 'after', match: (i) => String(i.taskDefinition).includes('admin') },
    ],
    [
      'verify: passed but not recorded',
      { command: 'PutParameter', when: 'before', match: recorded('own-credentials') },
    ],
    [
      'own-credentials: owner secret created, answer lost',
      { command: 'ModifyDBInstance', when: 'after', match: (i) => !!i.ManageMasterUserPassword },
    ],
    [
      'switch: one parameter written, then the connection dropped',
      { command: 'PutParameter', when: 'after', match: (i) => i.Name === liveDatabaseParameter('dev', 'host') },
    ],
    [
      'switch: services update started, answer lost',
      { command: 'UpdateStack', when: 'after', match: (i) => i.StackName === SERVICES },
    ],
    [
      'switch: monitoring update started, answer lost',
      { command: 'UpdateStack', when: 'after', match: (i) => i.StackName === MONITORING },
    ],
    ['switch: done but not recorded', { command: 'PutParameter', when: 'before', match: recorded('follow') }],
    ['follow: secret moved, answer lost', { command: 'PutSecretValue', when: 'after' }],
    [
      'follow: backup tag removed from the old instance, answer lost',
      { command: 'RemoveTagsFromResource', when: 'after' },
    ],
    ['follow: done but not recorded', { command: 'PutParameter', when: 'before', match: recorded('done') }],
  ];
  for (const [where, cut] of CUTS) {
    it(`interrupted at ${where}, --resume ends where an uninterrupted restore ends`, async () => {
      account.cut = cut;
      await assert.rejects(run({ target: { latest: true } }), TierError);
      assert.equal(account.cut, undefined, 'the interruption happened');
      assert.notEqual(stateOf()?.step, 'done');
      await run({ resume: true });
      assert.deepEqual(outcome(), EXPECTED);
    });
  }

  it('a failed verification switches nothing, and the next run verifies again', async () => {
    account.verifyExit = 1;
    await assert.rejects(
      run({ target: { latest: true } }),
      (err: TierError) => /failed verification/.test(err.message) && /nothing was switched/.test(err.hint ?? ''),
    );
    assert.equal(account.params.get(liveDatabaseParameter('dev', 'host')), LIVE_HOST);
    assert.equal(aws.cfn.commandCalls(UpdateStackCommand).length, 0);
    assert.deepEqual({ step: stateOf()?.step, task: stateOf()?.verifyTaskArn }, { step: 'verify', task: undefined });
    account.verifyExit = 0;
    await run({ resume: true });
    assert.deepEqual(
      account.runTasks.map((t) => t.family),
      ['migrate', 'migrate', 'admin'],
    );
    assert.deepEqual(outcome(), EXPECTED);
  });

  it('an empty copy fails the data check: nothing is switched, the counts are shown, and the next run checks again', async () => {
    account.dataCheckExit = 1;
    account.dataCheck = {
      ...GOOD_CHECK,
      level: 50,
      ok: false,
      tables: { messages: 0, schema_migrations: 2 },
      problems: ['every application table is empty (messages)'],
    };
    await assert.rejects(
      run({ target: { latest: true } }),
      (err: TierError) =>
        /failed verification: every application table is empty \(messages\) \(rows: messages 0, schema_migrations 2\)/.test(
          err.message,
        ) && /nothing was switched/.test(err.hint ?? ''),
    );
    assert.equal(account.params.get(HOST_PARAM), LIVE_HOST);
    assert.equal(aws.cfn.commandCalls(UpdateStackCommand).length, 0);
    assert.deepEqual(
      { step: stateOf()?.step, migrated: stateOf()?.migrated, check: stateOf()?.dataCheckTaskArn },
      { step: 'verify', migrated: true, check: undefined },
    );
    account.dataCheckExit = 0;
    account.dataCheck = GOOD_CHECK;
    const progress = recorder();
    await backend().restoreDatabase(progress, { resume: true });
    assert.deepEqual(
      account.runTasks.map((t) => t.family),
      ['migrate', 'admin', 'admin'],
      'the migration is not run again',
    );
    assert.ok(
      progress.lines.some((l) =>
        /restored data: messages 3, schema_migrations 2; status query answered 2026-03-01T12:00:40/.test(l),
      ),
      progress.lines.join('\n'),
    );
    assert.deepEqual(outcome(), EXPECTED);
  });

  it('a data check that exits 1 without a readable line still fails, with the exit code', async () => {
    account.dataCheckExit = 1;
    aws.logs.on(GetLogEventsCommand).rejects(awsError('ResourceNotFoundException'));
    await assert.rejects(run({ target: { latest: true } }), (err: TierError) =>
      /failed verification: Essential container in task exited, exit codes \[1\]/.test(err.message),
    );
    assert.equal(account.params.get(HOST_PARAM), LIVE_HOST);
  });

  it('a monitoring update that rolls back keeps the application on the copy; --resume updates only the alarms', async () => {
    account.outcomes.monitoring = 'UPDATE_ROLLBACK_COMPLETE';
    await assert.rejects(run({ target: { latest: true } }), (err: TierError) =>
      new RegExp(`runs on ${NEW_ID}, the database alarms still watch ${DB_ID}`).test(err.message),
    );
    assert.equal(
      account.params.get(HOST_PARAM),
      NEW_HOST,
      'the parameters stay switched: the application runs on the copy',
    );
    assert.equal(account.stacks.services.resolved[HOST_PARAM], NEW_HOST);
    assert.equal(account.stacks.monitoring.resolved[ID_PARAM], DB_ID);
    assert.equal(stateOf()?.step, 'switch');
    account.outcomes.monitoring = 'UPDATE_COMPLETE';
    await run({ resume: true });
    const updates = aws.cfn.commandCalls(UpdateStackCommand).map((c) => c.args[0].input);
    assert.deepEqual(
      updates.map((u) => u.StackName),
      [SERVICES, MONITORING, MONITORING],
    );
    assert.notEqual(updates[1]?.ClientRequestToken, updates[2]?.ClientRequestToken, 'a new request, not a retry');
    assert.deepEqual({ ...outcome(), stackUpdates: 2 }, EXPECTED);
  });

  it('refuses to switch anything while the monitoring stack does not read the instance-id parameter', async () => {
    const monitoring = STACKS.find((st) => st.StackName === MONITORING)!;
    const saved = monitoring.Parameters;
    monitoring.Parameters = (saved ?? []).filter((p) => p.ParameterValue !== ID_PARAM);
    try {
      await assert.rejects(run({ target: { latest: true } }), (err: TierError) =>
        /tier-dev-monitoring does not read \/tier\/dev\/db\/instance-id/.test(err.message),
      );
    } finally {
      monitoring.Parameters = saved;
    }
    assert.equal(account.params.get(HOST_PARAM), LIVE_HOST);
    assert.equal(aws.cfn.commandCalls(UpdateStackCommand).length, 0);
  });

  it('a services update that rolls back leaves the application on the old instance and its parameters as they were', async () => {
    account.outcomes.services = 'UPDATE_ROLLBACK_COMPLETE';
    await assert.rejects(run({ target: { latest: true } }), (err: TierError) => /stays on/.test(err.message));
    assert.equal(account.params.get(liveDatabaseParameter('dev', 'host')), LIVE_HOST);
    assert.equal(account.params.get(liveDatabaseParameter('dev', 'master-secret-arn')), OWNER_SECRET);
    assert.equal(stateOf()?.step, 'switch');
    account.outcomes.services = 'UPDATE_COMPLETE';
    await run({ resume: true });
    assert.deepEqual({ ...outcome(), stackUpdates: 3 }, { ...EXPECTED, stackUpdates: 3 });
    assert.deepEqual(
      aws.cfn.commandCalls(UpdateStackCommand).map((c) => c.args[0].input.StackName),
      [SERVICES, SERVICES, MONITORING],
    );
  });

  it('a switch interrupted half-way, then rolled back, puts back the values from before the restore', async () => {
    account.cut = {
      command: 'PutParameter',
      when: 'after',
      match: (i) => i.Name === liveDatabaseParameter('dev', 'host'),
    };
    await assert.rejects(run({ target: { latest: true } }));
    account.outcomes.services = 'UPDATE_ROLLBACK_COMPLETE';
    await assert.rejects(run({ resume: true }), (err: TierError) => /stays on/.test(err.message));
    assert.equal(account.params.get(liveDatabaseParameter('dev', 'host')), LIVE_HOST);
    assert.equal(account.params.get(liveDatabaseParameter('dev', 'instance-id')), DB_ID);
  });

  it('refuses a second restore while one is unfinished, and --resume when there is none', async () => {
    await assert.rejects(run({ resume: true }), (err: TierError) => /no unfinished restore/.test(err.message));
    account.cut = { command: 'RunTask', when: 'before' };
    await assert.rejects(run({ target: { latest: true } }));
    await assert.rejects(
      run({ target: { time: '2026-03-01T10:00:00Z' } }),
      (err: TierError) => /stopped before step verify/.test(err.message) && /--resume/.test(err.hint ?? ''),
    );
  });

  it('a restore after a restore starts from the instance that is live now', async () => {
    await run({ target: { latest: true } });
    account.params.delete(STATE);
    const later = () => Date.parse('2026-03-02T09:30:00Z');
    const second = await backend({ now: later }).restoreDatabase(recorder(), { target: { latest: true } });
    assert.equal(second.liveId, NEW_ID);
    assert.equal(
      second.newId,
      `${DB_ID}-202603020930`,
      'named from the stack identifier, not grown from the last copy',
    );
  });

  it('refuses times after the latest restorable time and ids that are not recovery points, before changing anything', async () => {
    await assert.rejects(
      run({ target: { time: '2026-03-01T11:59:00Z' } }),
      (err: TierError) => /after the latest restorable time/.test(err.message) && /--latest/.test(err.hint ?? ''),
    );
    await assert.rejects(
      run({ target: { backupId: 'rp-1' } }),
      (err: TierError) => /not an RDS recovery point ARN/.test(err.message) && /tier backup list/.test(err.hint ?? ''),
    );
    assert.equal(account.params.get(STATE), undefined);
  });
});

/** Matches the state write that records `step` as the next one (the previous step done). */
function recorded(step: string) {
  return (input: Record<string, unknown>) =>
    input.Name === STATE && (JSON.parse(String(input.Value)) as RestoreState).step === step;
}
