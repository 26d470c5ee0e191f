// Every alarm of every stage, replayed: its synthesized metric, statistic, period, threshold, comparison and
// missing-data rule are fed the failure it names (it must reach ALARM) and healthy traffic (it must never).
// Backup job notifications: the EventBridge patterns against failed and successful job events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadStageConfig } from '../config/index.js';
import { ALARM_DEFAULTS, defaultMaxConnections } from '../lib/monitoring/defaults.js';
import {
  evaluateAlarm,
  type MetricFeed,
  type MinuteSamples,
  metricsRead,
  type SeriesLabel,
} from './support/alarm-evaluator.js';
import type { Json } from './support/platform.js';
import { STAGES, type StageName, type SynthesizedStack, stageStacks } from './support/templates.js';

const MINUTES = 30;
/** The same samples every minute. */
const steady = (samples: MinuteSamples): MinuteSamples[] => Array.from({ length: MINUTES }, () => samples);
/** `before` for the first `at` minutes, then `after`. */
const from = (at: number, before: MinuteSamples, after: MinuteSamples): MinuteSamples[] =>
  Array.from({ length: MINUTES }, (_, i) => (i < at ? before : after));
/** `base` with `spike` in the minutes [at, at + length). */
const blip = (base: MinuteSamples, spike: MinuteSamples, at: number, length: number): MinuteSamples[] =>
  Array.from({ length: MINUTES }, (_, i) => (i >= at && i < at + length ? spike : base));
const nothing = steady(undefined);
/** 1000 response times a minute, `slowShare` of them `slow` seconds, the rest 50 ms. */
const responseTimes = (slowShare: number, slow: number): number[] =>
  Array.from({ length: 1000 }, (_, i) => (i < slowShare * 1000 ? slow : 0.05));

const ELB = 'AWS/ApplicationELB';
/**
 * Which of a tier's two target groups (ECS blue/green swaps them) a read names, from its TargetGroup dimension (a
 * GetAtt of the group, or the export of one): `primary` (…Targets) or `alternate` (…AlternateTargets).
 */
const targetGroupOf: SeriesLabel = (read) => {
  const dimension = read.dimensions.TargetGroup;
  if (dimension === undefined) return undefined;
  const text = JSON.stringify(dimension);
  if (/(Web|Api)AlternateTargets/.test(text)) return 'alternate';
  if (/(Web|Api)Targets/.test(text)) return 'primary';
  assert.fail(`target group dimension ${text} names neither target group`);
};
/** The same metric of each target group: `{ primary, alternate }` -> feed entries. */
const perGroup = (metric: string, series: { primary: MinuteSamples[]; alternate: MinuteSamples[] }): MetricFeed => ({
  [`${ELB} ${metric} primary`]: series.primary,
  [`${ELB} ${metric} alternate`]: series.alternate,
});
const RDS = 'AWS/RDS';

const DAY = 24 * 60;
const WEEK = 7 * DAY;
/** Five weeks of minutes from a Monday 00:00 UTC, with one sample at each of `at` (minutes from the start). */
const samplesAt = (minutes: number, ...at: number[]): MinuteSamples[] =>
  Array.from({ length: minutes }, (_, i) => (at.includes(i) ? 1 : undefined));
/** Monday 06:00 UTC of week `w` (the plan's schedule) plus `late` minutes: when that week's test reports. */
const monday = (w: number, late: number) => w * WEEK + 6 * 60 + late;

interface Case {
  readonly what: string;
  readonly feed: MetricFeed;
  /** Length of the replay. @default MINUTES */
  readonly minutes?: number;
}
interface Scenario {
  /** Which alarms (by name, after `tier-<stage>-`). */
  readonly name: RegExp;
  readonly fires: readonly Case[];
  readonly quiet: readonly Case[];
}

function scenarios(stage: StageName): Scenario[] {
  const config = loadStageConfig(stage);
  const memory = (ALARM_DEFAULTS.instanceMemoryGiB[config.database.instanceType] ?? 0) * 1024 ** 3;
  const storage = config.database.allocatedStorageGiB * 1024 ** 3;
  const maxConnections = defaultMaxConnections(config.database.instanceType);
  const tierScenarios = (['web', 'api'] as const).flatMap((tier): Scenario[] => {
    const min = config.services[tier].minTasks;
    return [
      {
        name: new RegExp(`^${tier}-healthy-hosts-low$`),
        fires: [
          {
            what: 'no target registered (count 0)',
            feed: perGroup('HealthyHostCount', { primary: from(5, min, 0), alternate: steady(0) }),
          },
          {
            what: 'one task short of the minimum',
            feed: perGroup('HealthyHostCount', { primary: steady(0), alternate: from(5, min, min - 1) }),
          },
          {
            what: 'the balancer stops reporting',
            feed: perGroup('HealthyHostCount', { primary: from(5, min, undefined), alternate: nothing }),
          },
        ],
        quiet: [
          {
            what: 'exactly the minimum',
            feed: perGroup('HealthyHostCount', { primary: steady(min), alternate: steady(0) }),
          },
          {
            what: 'after a deployment: the alternate group is the live one, the primary one empty',
            feed: perGroup('HealthyHostCount', { primary: from(10, min, 0), alternate: from(10, 0, min) }),
          },
          {
            what: 'a 2-minute dip while a task is replaced',
            feed: perGroup('HealthyHostCount', { primary: blip(min, 0, 10, 2), alternate: steady(0) }),
          },
          {
            what: 'scaled out above the minimum',
            feed: perGroup('HealthyHostCount', { primary: steady(min + 3), alternate: steady(0) }),
          },
        ],
      },
      {
        name: new RegExp(`^${tier}-running-below-desired$`),
        fires: [
          {
            what: 'a task that cannot start (running stays one below desired)',
            feed: {
              'ECS/ContainerInsights DesiredTaskCount': steady(min),
              'ECS/ContainerInsights RunningTaskCount': from(5, min, min - 1),
            },
          },
          {
            what: 'Container Insights stops reporting',
            feed: {
              'ECS/ContainerInsights DesiredTaskCount': nothing,
              'ECS/ContainerInsights RunningTaskCount': nothing,
            },
          },
        ],
        quiet: [
          {
            what: 'a scale-out that catches up within 3 minutes',
            feed: {
              'ECS/ContainerInsights DesiredTaskCount': from(10, min, min + 2),
              'ECS/ContainerInsights RunningTaskCount': from(13, min, min + 2),
            },
          },
          {
            what: 'a rollout running twice the desired count',
            feed: {
              'ECS/ContainerInsights DesiredTaskCount': steady(min),
              'ECS/ContainerInsights RunningTaskCount': steady(2 * min),
            },
          },
        ],
      },
      {
        name: new RegExp(`^${tier}-5xx-rate-high$`),
        fires: [
          {
            what: 'no healthy target: the balancer answers 503 itself (RequestCount absent)',
            feed: {
              [`${ELB} RequestCount`]: from(5, 200, undefined),
              [`${ELB} HTTPCode_ELB_5XX_Count`]: from(5, undefined, 200),
              [`${ELB} HTTPCode_Target_5XX_Count`]: nothing,
            },
          },
          {
            what: 'targets answer 15% 5xx',
            feed: {
              [`${ELB} RequestCount`]: steady(200),
              [`${ELB} HTTPCode_ELB_5XX_Count`]: nothing,
              [`${ELB} HTTPCode_Target_5XX_Count`]: from(5, undefined, 30),
            },
          },
        ],
        quiet: [
          {
            what: '1% target 5xx',
            feed: {
              [`${ELB} RequestCount`]: steady(200),
              [`${ELB} HTTPCode_ELB_5XX_Count`]: nothing,
              [`${ELB} HTTPCode_Target_5XX_Count`]: steady(2),
            },
          },
          {
            what: '2 failures in 4 requests a minute (below the volume guard)',
            feed: {
              [`${ELB} RequestCount`]: steady(4),
              [`${ELB} HTTPCode_ELB_5XX_Count`]: nothing,
              [`${ELB} HTTPCode_Target_5XX_Count`]: steady(2),
            },
          },
          {
            what: 'no traffic at all',
            feed: {
              [`${ELB} RequestCount`]: nothing,
              [`${ELB} HTTPCode_ELB_5XX_Count`]: nothing,
              [`${ELB} HTTPCode_Target_5XX_Count`]: nothing,
            },
          },
        ],
      },
      {
        name: new RegExp(`^${tier}-p99-latency-high$`),
        fires: [
          {
            what: '2% of requests take 10 s (the average stays at 0.25 s)',
            feed: { [`${ELB} TargetResponseTime`]: from(5, responseTimes(0, 0), responseTimes(0.02, 10)) },
          },
        ],
        quiet: [
          {
            what: '0.5% of requests take 10 s',
            feed: { [`${ELB} TargetResponseTime`]: steady(responseTimes(0.005, 10)) },
          },
          { what: 'no traffic', feed: { [`${ELB} TargetResponseTime`]: nothing } },
        ],
      },
      // Rollback alarms ECS watches during a deployment: the new version (either target group) against the old one.
      {
        name: new RegExp(`^${tier}-5xx-rate$`),
        fires: [
          {
            what: 'the canary (alternate group, 10% of requests) answers 10% 5xx, the old version none',
            feed: {
              ...perGroup('RequestCount', { primary: steady(900), alternate: from(5, undefined, 100) }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: steady(0), alternate: from(5, undefined, 10) }),
            },
          },
          {
            what: 'the canary in the primary group this time (groups swapped by the last deployment)',
            feed: {
              ...perGroup('RequestCount', { primary: from(5, undefined, 100), alternate: steady(900) }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: from(5, undefined, 10), alternate: steady(0) }),
            },
          },
          {
            what: 'during the bake, serving alone: 5% 5xx',
            feed: {
              ...perGroup('RequestCount', { primary: nothing, alternate: steady(1000) }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: nothing, alternate: from(5, 0, 50) }),
            },
          },
        ],
        quiet: [
          {
            what: 'the old version fails (10%) and the canary does not: a fix is not rolled back',
            feed: {
              ...perGroup('RequestCount', { primary: steady(900), alternate: steady(100) }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: steady(90), alternate: steady(0) }),
            },
          },
          {
            what: 'both versions fail alike (the database away): not the new version’s fault',
            feed: {
              ...perGroup('RequestCount', { primary: steady(900), alternate: steady(100) }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: steady(90), alternate: steady(10) }),
            },
          },
          {
            what: 'the canary fails 5 of its 10 requests a minute (below the volume guard)',
            feed: {
              ...perGroup('RequestCount', { primary: steady(990), alternate: steady(10) }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: steady(0), alternate: steady(5) }),
            },
          },
          {
            what: '1% 5xx serving alone',
            feed: {
              ...perGroup('RequestCount', { primary: steady(1000), alternate: nothing }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: steady(10), alternate: nothing }),
            },
          },
          {
            what: 'no traffic',
            feed: {
              ...perGroup('RequestCount', { primary: nothing, alternate: nothing }),
              ...perGroup('HTTPCode_Target_5XX_Count', { primary: nothing, alternate: nothing }),
            },
          },
        ],
      },
      {
        name: new RegExp(`^${tier}-p99-latency$`),
        fires: [
          {
            what: 'the canary (alternate group) has a p99 of 5 s, the old version 50 ms',
            feed: {
              ...perGroup('RequestCount', { primary: steady(900), alternate: from(5, undefined, 100) }),
              ...perGroup('TargetResponseTime', {
                primary: steady(responseTimes(0, 0)),
                alternate: from(5, undefined, responseTimes(0.02, 5)),
              }),
            },
          },
          {
            what: 'during the bake, serving alone (primary group): p99 of 5 s',
            feed: {
              ...perGroup('RequestCount', { primary: steady(1000), alternate: nothing }),
              ...perGroup('TargetResponseTime', {
                primary: from(5, responseTimes(0, 0), responseTimes(0.02, 5)),
                alternate: nothing,
              }),
            },
          },
        ],
        quiet: [
          {
            what: 'both versions slow alike (p99 3 s and 3.5 s): not the new version’s fault',
            feed: {
              ...perGroup('RequestCount', { primary: steady(900), alternate: steady(100) }),
              ...perGroup('TargetResponseTime', {
                primary: steady(responseTimes(0.02, 3)),
                alternate: steady(responseTimes(0.02, 3.5)),
              }),
            },
          },
          {
            what: 'the canary is slower (p99 200 ms against 50 ms) but far inside the limit',
            feed: {
              ...perGroup('RequestCount', { primary: steady(900), alternate: steady(100) }),
              ...perGroup('TargetResponseTime', {
                primary: steady(responseTimes(0, 0)),
                alternate: steady(responseTimes(0.02, 0.2)),
              }),
            },
          },
          {
            what: 'a slow canary with 10 requests a minute (below the volume guard)',
            feed: {
              ...perGroup('RequestCount', { primary: steady(990), alternate: steady(10) }),
              ...perGroup('TargetResponseTime', {
                primary: steady(responseTimes(0, 0)),
                alternate: steady(Array.from({ length: 10 }, () => 5)),
              }),
            },
          },
          {
            what: 'no traffic',
            feed: {
              ...perGroup('RequestCount', { primary: nothing, alternate: nothing }),
              ...perGroup('TargetResponseTime', { primary: nothing, alternate: nothing }),
            },
          },
        ],
      },
      {
        name: new RegExp(`^${tier}-unhealthy-targets$`),
        fires: [
          {
            what: 'a new target (alternate group) failing readiness',
            feed: perGroup('UnHealthyHostCount', { primary: steady(0), alternate: from(5, 0, 1) }),
          },
          {
            what: 'a target of the primary group failing readiness',
            feed: perGroup('UnHealthyHostCount', { primary: from(5, 0, 1), alternate: nothing }),
          },
        ],
        quiet: [
          {
            what: 'all targets ready',
            feed: perGroup('UnHealthyHostCount', { primary: steady(0), alternate: steady(0) }),
          },
          {
            what: 'a 1-minute readiness blip',
            feed: perGroup('UnHealthyHostCount', { primary: blip(0, 1, 10, 1), alternate: steady(0) }),
          },
        ],
      },
    ];
  });
  const dead = (metric: string, healthy: MinuteSamples): Case => ({
    what: 'the instance stops reporting (dead database)',
    feed: { [`${RDS} ${metric}`]: from(5, healthy, undefined) },
  });
  const restoreTesting = `Tier/${stage}/RestoreTesting`;
  const failedReports = `${restoreTesting} ValidationsFailed`;
  const successfulReports = `${restoreTesting} ValidationsSuccessful`;
  const weeks = 5 * WEEK;
  return [
    ...tierScenarios,
    {
      name: /^restore-test-failed$/,
      fires: [
        {
          what: 'one weekly test reports FAILED (its restore job still COMPLETED)',
          feed: { [failedReports]: samplesAt(2 * WEEK, monday(1, 90)) },
          minutes: 2 * WEEK,
        },
      ],
      quiet: [{ what: 'weekly tests that pass', feed: { [failedReports]: samplesAt(2 * WEEK) }, minutes: 2 * WEEK }],
    },
    {
      name: /^restore-test-overdue$/,
      fires: [
        {
          what: 'the plan stops running after its second week',
          feed: { [successfulReports]: samplesAt(weeks, monday(0, 80), monday(1, 75)) },
          minutes: weeks,
        },
        {
          what: 'every test from the third week on reports FAILED (no SUCCESSFUL line)',
          feed: {
            [successfulReports]: samplesAt(weeks, monday(0, 80), monday(1, 75)),
            [failedReports]: samplesAt(weeks, monday(2, 70), monday(3, 85), monday(4, 60)),
          },
          minutes: weeks,
        },
        {
          what: 'a new stage before its first test passed (no data at all)',
          feed: { [successfulReports]: samplesAt(2 * WEEK) },
          minutes: 2 * WEEK,
        },
      ],
      quiet: [
        {
          what: 'a passing test every Monday, each reporting 20-150 minutes after 06:00',
          feed: {
            [successfulReports]: samplesAt(
              weeks,
              monday(0, 150),
              monday(1, 20),
              monday(2, 90),
              monday(3, 60),
              monday(4, 45),
            ),
          },
          minutes: weeks,
        },
      ],
    },
    {
      name: /^db-cpu-high$/,
      fires: [{ what: 'CPU at 95%', feed: { [`${RDS} CPUUtilization`]: from(5, 30, 95) } }, dead('CPUUtilization', 30)],
      quiet: [
        { what: 'CPU at 40%', feed: { [`${RDS} CPUUtilization`]: steady(40) } },
        { what: 'one 5-minute spike to 95%', feed: { [`${RDS} CPUUtilization`]: blip(40, 95, 10, 5) } },
      ],
    },
    {
      name: /^db-memory-low$/,
      fires: [
        {
          what: 'freeable memory at 2% of the class',
          feed: { [`${RDS} FreeableMemory`]: from(5, memory / 2, memory * 0.02) },
        },
        dead('FreeableMemory', memory / 2),
      ],
      quiet: [{ what: 'half the memory free', feed: { [`${RDS} FreeableMemory`]: steady(memory / 2) } }],
    },
    {
      name: /^db-storage-low$/,
      fires: [
        { what: '1% of the storage free', feed: { [`${RDS} FreeStorageSpace`]: from(5, storage / 2, storage * 0.01) } },
        dead('FreeStorageSpace', storage / 2),
      ],
      quiet: [
        { what: 'half the storage free', feed: { [`${RDS} FreeStorageSpace`]: steady(storage / 2) } },
        {
          what: '8% free: autoscaling territory, not an incident',
          feed: { [`${RDS} FreeStorageSpace`]: steady(storage * 0.08) },
        },
      ],
    },
    {
      name: /^db-connections-high$/,
      fires: [
        {
          what: '95% of max_connections in use',
          feed: { [`${RDS} DatabaseConnections`]: from(5, 20, Math.floor(maxConnections * 0.95)) },
        },
        dead('DatabaseConnections', 20),
      ],
      quiet: [{ what: '20 connections (two pools)', feed: { [`${RDS} DatabaseConnections`]: steady(20) } }],
    },
    {
      name: /^db-write-latency-high$/,
      fires: [
        { what: 'writes take 200 ms', feed: { [`${RDS} WriteLatency`]: from(5, 0.004, 0.2) } },
        dead('WriteLatency', 0.004),
      ],
      quiet: [{ what: 'writes take 4 ms', feed: { [`${RDS} WriteLatency`]: steady(0.004) } }],
    },
    {
      name: /^db-replica-lag-high\d+$/,
      fires: [
        { what: 'replica 5 minutes behind', feed: { [`${RDS} ReplicaLag`]: from(5, 1, 300) } },
        dead('ReplicaLag', 1),
      ],
      quiet: [{ what: 'replica 1 s behind', feed: { [`${RDS} ReplicaLag`]: steady(1) } }],
    },
    {
      name: /^edge-5xx-rate-high$/,
      fires: [
        {
          what: '30% of viewer requests get a 5xx',
          feed: { 'AWS/CloudFront Requests': steady(1000), 'AWS/CloudFront 5xxErrorRate': from(5, 0.1, 30) },
        },
      ],
      quiet: [
        {
          what: '0.5% 5xx',
          feed: { 'AWS/CloudFront Requests': steady(1000), 'AWS/CloudFront 5xxErrorRate': steady(0.5) },
        },
        {
          what: '2 of 5 requests a minute fail (below the volume guard)',
          feed: { 'AWS/CloudFront Requests': steady(5), 'AWS/CloudFront 5xxErrorRate': steady(40) },
        },
        { what: 'no viewers', feed: { 'AWS/CloudFront Requests': nothing, 'AWS/CloudFront 5xxErrorRate': nothing } },
      ],
    },
    {
      name: /^edge-waf-blocked-spike$/,
      fires: [{ what: '500 blocked requests a minute', feed: { 'AWS/WAFV2 BlockedRequests': from(5, 10, 500) } }],
      quiet: [
        { what: '20 blocked a minute (scanners)', feed: { 'AWS/WAFV2 BlockedRequests': steady(20) } },
        { what: 'nothing blocked (WAF reports nothing)', feed: { 'AWS/WAFV2 BlockedRequests': nothing } },
      ],
    },
  ];
}

interface FoundAlarm {
  readonly stack: SynthesizedStack;
  readonly id: string;
  readonly name: string;
  readonly props: Json;
}

function alarmsOf(stage: StageName): FoundAlarm[] {
  return stageStacks(stage).flatMap((stack) =>
    Object.entries(stack.template.Resources)
      .filter(([, r]) => (r as Json).Type === 'AWS::CloudWatch::Alarm')
      .map(([id, r]) => {
        const props = (r as Json).Properties;
        assert.equal(typeof props.AlarmName, 'string', `${stack.stackName} ${id}: alarms carry a literal name`);
        return { stack, id, name: (props.AlarmName as string).replace(`tier-${stage}-`, ''), props };
      }),
  );
}

for (const stage of STAGES) {
  describe(`alarms of ${stage} fire on the failure they name`, () => {
    const required = [
      ...['web', 'api'].flatMap((t) =>
        ['healthy-hosts-low', 'running-below-desired', '5xx-rate-high', 'p99-latency-high'].map((a) => `${t}-${a}`),
      ),
      'db-cpu-high',
      'db-memory-low',
      'db-storage-low',
      'db-connections-high',
      'edge-5xx-rate-high',
      'edge-waf-blocked-spike',
      'restore-test-failed',
      'restore-test-overdue',
    ];

    test('each tier, the database and the edge have the alarms a review asks for', () => {
      const names = alarmsOf(stage).map((a) => a.name);
      for (const name of required) assert.ok(names.includes(name), `${stage}: no alarm tier-${stage}-${name}`);
    });

    test('every alarm has a replay scenario below (an alarm nobody has seen fire proves nothing)', () => {
      const all = scenarios(stage);
      for (const a of alarmsOf(stage)) {
        assert.ok(
          all.some((s) => s.name.test(a.name)),
          `${a.stack.stackName}: ${a.props.AlarmName} has no scenario`,
        );
      }
    });

    test('every alarm notifies an SNS topic of its own stack or region, on ALARM and on OK', () => {
      for (const a of alarmsOf(stage)) {
        assert.ok((a.props.AlarmActions ?? []).length > 0, `${a.props.AlarmName}: no alarm action`);
        assert.ok((a.props.OKActions ?? []).length > 0, `${a.props.AlarmName}: no OK action`);
        for (const action of [...a.props.AlarmActions, ...a.props.OKActions]) {
          const ref = action.Ref as string | undefined;
          const imported = JSON.stringify(action);
          const local = ref !== undefined && a.stack.template.Resources[ref]?.Type === 'AWS::SNS::Topic';
          assert.ok(local || /Alarms|Topic/.test(imported), `${a.props.AlarmName}: action ${imported} is not a topic`);
        }
      }
    });

    test('the edge alarms and their topic live in us-east-1, where CloudFront and WAF metrics are', () => {
      for (const a of alarmsOf(stage).filter((x) => x.name.startsWith('edge-'))) {
        assert.equal(a.stack.region, 'us-east-1', a.props.AlarmName);
        for (const action of a.props.AlarmActions) {
          assert.equal(a.stack.template.Resources[action.Ref]?.Type, 'AWS::SNS::Topic', 'a topic of the same stack');
        }
      }
    });

    // "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than
    // one hour, the total evaluation period can't be longer than one day" (PutMetricAlarm, CloudWatch API reference).
    test('every alarm looks back no further than CloudWatch accepts', () => {
      for (const a of alarmsOf(stage)) {
        const period = a.props.Period ?? Math.max(...metricsRead(a.props).map((m) => m.periodSeconds));
        const range = period * a.props.EvaluationPeriods;
        assert.ok(range <= (period < 3600 ? 86_400 : 604_800), `${a.props.AlarmName}: ${range} s`);
      }
    });

    test('the database alarms treat missing data as breaching (a dead database must not go quiet)', () => {
      for (const a of alarmsOf(stage).filter((x) => x.name.startsWith('db-'))) {
        assert.equal(a.props.TreatMissingData, 'breaching', a.props.AlarmName);
      }
    });

    test('every read replica has a ReplicaLag alarm', () => {
      const replicas = stageStacks(stage).flatMap((s) =>
        Object.entries(s.template.Resources).filter(
          ([, r]) => (r as Json).Type === 'AWS::RDS::DBInstance' && (r as Json).Properties.SourceDBInstanceIdentifier,
        ),
      );
      const lagAlarms = alarmsOf(stage).filter((a) => metricsRead(a.props).some((m) => m.metricName === 'ReplicaLag'));
      assert.equal(lagAlarms.length, replicas.length, `${replicas.length} replicas, ${lagAlarms.length} lag alarms`);
    });

    for (const scenario of scenarios(stage)) {
      test(`GIVEN ${scenario.name.source} WHEN replayed THEN it fires on each failure and stays OK on healthy traffic`, () => {
        const matching = alarmsOf(stage).filter((a) => scenario.name.test(a.name));
        if (/replica/.test(scenario.name.source) && matching.length === 0) return; // no replica in this stage
        assert.ok(matching.length > 0, `${stage}: no alarm matches ${scenario.name}`);
        for (const a of matching) {
          for (const c of scenario.fires) {
            const states = evaluateAlarm(a.props, c.feed, c.minutes ?? MINUTES, targetGroupOf);
            assert.ok(
              states.includes('ALARM'),
              `${a.props.AlarmName} stays ${[...new Set(states)].join('/')} on: ${c.what}`,
            );
          }
          for (const c of scenario.quiet) {
            const states = evaluateAlarm(a.props, c.feed, c.minutes ?? MINUTES, targetGroupOf);
            assert.ok(!states.includes('ALARM'), `${a.props.AlarmName} fires on healthy: ${c.what}`);
          }
        }
      });
    }
  });
}

/** EventBridge pattern matching for the subset the rules use: literal value lists, nested objects. */
function matches(pattern: Json, event: Json): boolean {
  return Object.entries(pattern).every(([key, want]) => {
    const got = event?.[key];
    if (Array.isArray(want)) return want.includes(got);
    return typeof want === 'object' && matches(want, got);
  });
}

const backupEvent = (detailType: string, detail: Record<string, string>) => ({
  source: 'aws.backup',
  'detail-type': detailType,
  detail,
});

for (const stage of STAGES) {
  describe(`backup job notifications of ${stage}`, () => {
    const rules = () =>
      stageStacks(stage).flatMap((s) =>
        Object.values(s.template.Resources)
          .filter(
            (r) =>
              (r as Json).Type === 'AWS::Events::Rule' &&
              (r as Json).Properties.EventPattern?.source?.includes('aws.backup') &&
              // Paging rules only: the restore validation rule (data stack) invokes a function, not people.
              !/Function/.test(JSON.stringify((r as Json).Properties.Targets)),
          )
          .map((r) => ({ stack: s, props: (r as Json).Properties })),
      );

    test('GIVEN failed backup, copy and restore jobs THEN a rule sends each to the alarm topic; completed jobs page no one', () => {
      const failed = [
        backupEvent('Backup Job State Change', { state: 'FAILED', backupVaultName: `tier-${stage}-vault` }),
        backupEvent('Backup Job State Change', { state: 'EXPIRED', backupVaultName: `tier-${stage}-vault` }),
        backupEvent('Copy Job State Change', { state: 'FAILED' }),
        backupEvent('Restore Job State Change', { status: 'FAILED' }),
      ];
      const fine = [
        backupEvent('Backup Job State Change', { state: 'COMPLETED' }),
        backupEvent('Copy Job State Change', { state: 'COMPLETED' }),
        backupEvent('Restore Job State Change', { status: 'COMPLETED' }),
        backupEvent('Backup Job State Change', { state: 'RUNNING' }),
      ];
      const all = rules();
      assert.ok(all.length > 0, `${stage}: no EventBridge rule for AWS Backup`);
      for (const e of failed)
        assert.ok(
          all.some((r) => matches(r.props.EventPattern, e)),
          `${JSON.stringify(e)} pages no one`,
        );
      for (const e of fine) assert.ok(!all.some((r) => matches(r.props.EventPattern, e)), `${JSON.stringify(e)} pages`);
    });

    test('the rules run in the region of the backup vault and target the stage alarm topic', () => {
      const data = stageStacks(stage).find((s) => s.id === 'Data');
      for (const r of rules()) {
        assert.equal(r.stack.region, data?.region);
        assert.match(JSON.stringify(r.props.Targets), /Alarms/, 'the alarm topic');
      }
    });

    test('EventBridge may publish to the encrypted alarm topic (topic policy and key policy)', () => {
      const telemetry = stageStacks(stage).find((s) => s.id === 'Telemetry');
      const text = JSON.stringify(telemetry?.template.Resources);
      const policies = Object.values(telemetry?.template.Resources ?? {}).filter(
        (r) => (r as Json).Type === 'AWS::SNS::TopicPolicy',
      );
      assert.match(JSON.stringify(policies), /events\.amazonaws\.com/, 'topic policy lets EventBridge publish');
      const keys = Object.values(telemetry?.template.Resources ?? {}).filter(
        (r) => (r as Json).Type === 'AWS::KMS::Key',
      );
      assert.match(JSON.stringify(keys), /events\.amazonaws\.com/, 'key policy lets EventBridge encrypt');
      assert.ok(text.length > 0);
    });
  });
}
