// The restore test alarms count what the validation function really writes: its handler runs here (the SDK clients'
// send answered at the boundary, console.log captured), each line is framed as Lambda's text log format frames it,
// and the synthesized metric filters' patterns decide which lines they count.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as backup from '@aws-sdk/client-backup';
import * as cloudformation from '@aws-sdk/client-cloudformation';
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as ecs from '@aws-sdk/client-ecs';
import * as rds from '@aws-sdk/client-rds';
import * as ssm from '@aws-sdk/client-ssm';
import { GROUP_PREFIX, handler } from '../lib/data/restore-validation/index.mjs';
import { RESTORE_CHECK } from '../lib/data/restore-validation.js';
import { matchesTermPattern } from './support/log-filter-pattern.js';
import type { Json } from './support/platform.js';
import { STAGES, stageStacks } from './support/templates.js';

const JOB = 'job-1';
const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/tier-dev';
const TASK = `${CLUSTER.replace(':cluster/', ':task/')}/abc123`;

/** What each AWS call answers, by command name; the scenario sets it. */
let answers: Record<string, (input: Json) => Json> = {};
const clients = [
  backup.BackupClient,
  cloudformation.CloudFormationClient,
  logs.CloudWatchLogsClient,
  ecs.ECSClient,
  rds.RDSClient,
  ssm.SSMClient,
];
const originalSend = clients.map((c) => c.prototype.send);

/** The function's log lines for one event, as CloudWatch Logs receives them (text log format). */
async function logLines(event: Json, calls: Record<string, (input: Json) => Json>): Promise<string[]> {
  answers = calls;
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => printed.push(args.map(String).join(' '));
  try {
    await handler(event);
  } finally {
    console.log = log;
  }
  // "Log and monitor Node.js Lambda functions" (Lambda Developer Guide): time, request id and level, tab-separated.
  return printed.map((line) => `2026-01-05T07:41:09.123Z\t7d1c0c2e-2f0b-4c5e-9d43-5a1f7a3b2c10\tINFO\t${line}`);
}

const stoppedCheck = (exitCode: number) => ({
  source: 'aws.ecs',
  'detail-type': 'ECS Task State Change',
  detail: {
    clusterArn: CLUSTER,
    taskArn: TASK,
    taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/tier-dev-restore-check:3',
    group: `${GROUP_PREFIX}${JOB}`,
    lastStatus: 'STOPPED',
    containers: [{ name: 'restore-check', exitCode }],
  },
});
const checkPrinted = (verify: Json) => ({
  DescribeRestoreJobCommand: () => ({ RestoreJobId: JOB, Status: 'COMPLETED' }),
  DescribeTaskDefinitionCommand: () => ({
    taskDefinition: {
      containerDefinitions: [
        {
          name: 'restore-check',
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': RESTORE_CHECK.logGroupName('dev'), 'awslogs-stream-prefix': 'restore-check' },
          },
        },
      ],
    },
  }),
  GetLogEventsCommand: () => ({ events: [{ message: JSON.stringify({ level: 30, msg: 'verify', ...verify }) }] }),
  PutRestoreValidationResultCommand: () => ({}),
});

/** The report lines of each kind, produced by the real handler. */
const lines: Record<string, string[]> = {};

before(async () => {
  process.env.AWS_REGION = 'eu-west-1';
  clients.forEach((c) => {
    c.prototype.send = async function send(command: { input: Json; constructor: { name: string } }) {
      const answer = answers[command.constructor.name];
      assert.ok(answer, `unexpected ${command.constructor.name}`);
      return answer(command.input);
    } as never;
  });
  lines.failedCheck = await logLines(
    stoppedCheck(1),
    checkPrinted({ ok: false, tables: { guestbook: 0 }, problems: ['every application table is empty'] }),
  );
  lines.failedCopy = await logLines(
    { source: 'aws.backup', detail: { restoreJobId: JOB, restoreTestingPlanArn: 'arn:aws:backup:plan' } },
    {
      DescribeRestoreJobCommand: () => ({
        CreatedResourceArn: 'arn:aws:rds:eu-west-1:123456789012:db:awsbackup-restore-test-abc',
      }),
      DescribeDBInstancesCommand: () => ({ DBInstances: [{ DBInstanceStatus: 'modifying', StorageEncrypted: true }] }),
      PutRestoreValidationResultCommand: () => ({}),
    },
  );
  lines.successful = await logLines(
    stoppedCheck(0),
    checkPrinted({ ok: true, tables: { guestbook: 3 }, status: { time: '2026-01-05T07:40:00Z' } }),
  );
  lines.repeatAfterFailed = await logLines(stoppedCheck(1), {
    DescribeRestoreJobCommand: () => ({ ValidationStatus: 'FAILED' }),
  });
  lines.repeatAfterSuccess = await logLines(stoppedCheck(0), {
    DescribeRestoreJobCommand: () => ({ ValidationStatus: 'SUCCESSFUL' }),
  });
  lines.notARestoreTest = await logLines({ source: 'aws.backup', detail: {} }, {});
});

after(() => {
  clients.forEach((c, i) => {
    c.prototype.send = originalSend[i] as never;
  });
});

for (const stage of STAGES) {
  describe(`restore test report counting of ${stage}`, () => {
    const stacks = stageStacks(stage);
    const filters = stacks.flatMap((s) =>
      Object.values(s.template.Resources)
        .filter((r) => (r as Json).Type === 'AWS::Logs::MetricFilter')
        .map((r) => ({ stack: s, props: (r as Json).Properties })),
    );
    const filterOf = (metricName: string) => {
      const found = filters.filter((f) => f.props.MetricTransformations[0].MetricName === metricName);
      assert.equal(found.length, 1, `${stage}: one metric filter publishes ${metricName}`);
      return found[0] as (typeof found)[number];
    };

    test('the filters watch the log group the validation function writes to, in its region', () => {
      const data = stacks.find((s) => s.id === 'Data');
      const [groupId] = Object.entries(data?.template.Resources ?? {}).find(
        ([, r]) =>
          (r as Json).Type === 'AWS::Logs::LogGroup' &&
          (r as Json).Properties.LogGroupName === RESTORE_CHECK.logGroupName(stage),
      ) ?? [undefined];
      assert.ok(groupId, `the data stack has ${RESTORE_CHECK.logGroupName(stage)}`);
      const fn = Object.values(data?.template.Resources ?? {}).find(
        (r) =>
          (r as Json).Type === 'AWS::Lambda::Function' &&
          (r as Json).Properties.FunctionName === `tier-${stage}-restore-validation`,
      ) as Json;
      assert.deepEqual(fn.Properties.LoggingConfig.LogGroup, { Ref: groupId }, 'the function logs there');
      for (const metric of ['ValidationsFailed', 'ValidationsSuccessful']) {
        const f = filterOf(metric);
        assert.equal(f.props.LogGroupName, RESTORE_CHECK.logGroupName(stage));
        assert.equal(f.stack.region, data?.region);
      }
    });

    test('GIVEN a failed data check or an unusable copy THEN the FAILED filter counts it, the SUCCESSFUL one does not', () => {
      const failed = filterOf('ValidationsFailed').props.FilterPattern;
      const successful = filterOf('ValidationsSuccessful').props.FilterPattern;
      for (const kind of ['failedCheck', 'failedCopy']) {
        const reports = (lines[kind] ?? []).filter((l) => matchesTermPattern(failed, l));
        assert.equal(reports.length, 1, `${kind}: one FAILED line counted in ${JSON.stringify(lines[kind])}`);
        assert.ok(!lines[kind]?.some((l) => matchesTermPattern(successful, l)), `${kind} counted as successful`);
      }
    });

    test('GIVEN a passed data check THEN only the SUCCESSFUL filter counts it', () => {
      const failed = filterOf('ValidationsFailed').props.FilterPattern;
      const successful = filterOf('ValidationsSuccessful').props.FilterPattern;
      assert.equal(lines.successful?.filter((l) => matchesTermPattern(successful, l)).length, 1);
      assert.ok(!lines.successful?.some((l) => matchesTermPattern(failed, l)));
    });

    test('GIVEN a repeated delivery after the verdict, or an event of no restore test THEN neither filter counts it', () => {
      const patterns = ['ValidationsFailed', 'ValidationsSuccessful'].map((m) => filterOf(m).props.FilterPattern);
      for (const kind of ['repeatAfterFailed', 'repeatAfterSuccess', 'notARestoreTest']) {
        assert.ok((lines[kind]?.length ?? 0) > 0, `${kind}: the handler logged its result`);
        for (const p of patterns) assert.ok(!lines[kind]?.some((l) => matchesTermPattern(p, l)), `${kind}: ${p}`);
      }
    });

    test('the alarms read the metrics the filters publish', () => {
      const alarms = stacks.flatMap((s) =>
        Object.values(s.template.Resources)
          .filter((r) => (r as Json).Type === 'AWS::CloudWatch::Alarm')
          .map((r) => (r as Json).Properties),
      );
      for (const [alarm, metric] of [
        ['restore-test-failed', 'ValidationsFailed'],
        ['restore-test-overdue', 'ValidationsSuccessful'],
      ] as const) {
        const a = alarms.find((x) => x.AlarmName === `tier-${stage}-${alarm}`);
        const t = filterOf(metric).props.MetricTransformations[0];
        assert.ok(a, `tier-${stage}-${alarm}`);
        assert.deepEqual([a.Namespace, a.MetricName], [t.MetricNamespace, t.MetricName]);
      }
    });
  });
}
