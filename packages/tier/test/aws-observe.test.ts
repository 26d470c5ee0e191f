// AWS backend: logs (CloudWatch Logs Insights across tiers) and metrics (GetMetricData summary per tier).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { metricsWindow } from '../src/aws/metrics.js';
import { TierError } from '../src/backend.js';
import { backend, CLUSTER, LOG_GROUP, mockAws, TG } from './aws-support.js';

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
});

const NOW = Date.parse('2026-03-01T12:00:30Z');
const row = (group: string, message: string, at = '2026-03-01 11:59:00.000') => [
  { field: '@timestamp', value: at },
  { field: '@message', value: message },
  { field: '@log', value: `123456789012:${group}` },
  { field: '@logStream', value: 'ecs/api/0123456789abcdef' },
  { field: '@ptr', value: 'x' },
];

describe('logs', () => {
  it('queries both tiers over the bounded window, filters by request id and text, returns oldest first', async () => {
    aws.logs.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    aws.logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Running' })
      .resolves({
        status: 'Complete',
        results: [
          row(
            LOG_GROUP.api,
            '{"tier":"api","request_id":"r-1","msg":"request","status":200}',
            '2026-03-01 11:59:02.000',
          ),
          row(LOG_GROUP.web, 'plain text line', '2026-03-01 11:59:01.000'),
        ],
      });
    const lines = await backend().logs({
      since: '2026-03-01T11:00:00Z',
      requestId: 'r-1',
      grep: 'say "hi"',
      limit: 50,
    });

    const input = aws.logs.commandCalls(StartQueryCommand)[0]?.args[0].input;
    assert.deepEqual(input?.logGroupNames, [LOG_GROUP.web, LOG_GROUP.api]);
    assert.equal(input?.startTime, Date.parse('2026-03-01T11:00:00Z') / 1000);
    assert.equal(input?.endTime, Math.ceil(NOW / 1000));
    assert.equal(input?.limit, 50);
    assert.equal(
      input?.queryString,
      [
        'fields @timestamp, @message, @log, @logStream',
        'filter request_id = "r-1"',
        'filter @message like "say \\"hi\\""',
        'sort @timestamp desc',
        'limit 50',
      ].join('\n| '),
    );
    assert.equal(aws.logs.commandCalls(GetQueryResultsCommand).length, 2);
    assert.deepEqual(lines, [
      { msg: 'plain text line', time: '2026-03-01T11:59:01.000Z', tier: 'web', container: '0123456789abcdef' },
      {
        tier: 'api',
        request_id: 'r-1',
        msg: 'request',
        status: 200,
        time: '2026-03-01T11:59:02.000Z',
        container: '0123456789abcdef',
      },
    ]);
  });

  it('one tier queries one log group; db reads the RDS log export', async () => {
    aws.logs.on(StartQueryCommand).resolves({ queryId: 'q-2' });
    aws.logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [] });
    await backend().logs({ tier: 'api' });
    await backend().logs({ tier: 'db' });
    const calls = aws.logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input);
    assert.deepEqual(calls[0]?.logGroupNames, [LOG_GROUP.api]);
    assert.equal(calls[0]?.startTime, Math.floor((NOW - 3600_000) / 1000), 'default: the last hour');
    assert.deepEqual(calls[1]?.logGroupNames, ['/aws/rds/instance/tier-dev-db/postgresql']);
  });

  it('rejects unbounded or unsafe queries before calling AWS', async () => {
    const cases: [Parameters<ReturnType<typeof backend>['logs']>[0], RegExp][] = [
      [{ since: '2026-01-01T00:00:00Z' }, /at most the last 7 days/],
      [{ since: '2027-01-01T00:00:00Z' }, /cannot search logs since/],
      [{ requestId: 'x" | filter 1=1' }, /not a request id/],
      [{ tier: 'edge' }, /unknown tier 'edge'/],
    ];
    for (const [query, message] of cases) {
      await assert.rejects(
        backend().logs(query),
        (err: unknown) => err instanceof TierError && message.test(err.message),
      );
    }
    assert.equal(aws.logs.calls().length, 0);
  });

  it('stops a query that outlives its time budget and says how to narrow it', async () => {
    aws.logs.on(StartQueryCommand).resolves({ queryId: 'q-3' });
    aws.logs.on(GetQueryResultsCommand).resolves({ status: 'Running' });
    let clock = NOW;
    await assert.rejects(
      backend({ now: () => (clock += 10_000), queryTimeoutMs: 30_000 }).logs({ tier: 'web' }),
      (err: TierError) => /did not finish within 30s/.test(err.message) && /--since/.test(err.hint ?? ''),
    );
    assert.deepEqual(aws.logs.commandCalls(StopQueryCommand)[0]?.args[0].input, { queryId: 'q-3' });
  });
});

describe('metrics', () => {
  it('rounds the window to whole one-minute periods and keeps at most 60 points', () => {
    assert.deepEqual(metricsWindow(300, NOW), {
      period: 60,
      seconds: 300,
      start: Date.parse('2026-03-01T11:55:00Z'),
      end: Date.parse('2026-03-01T12:00:00Z'),
    });
    assert.equal(metricsWindow(30, NOW).seconds, 60);
    assert.equal(metricsWindow(6 * 3600, NOW).period, 360);
    assert.throws(() => metricsWindow(0, NOW), TierError);
  });

  it('asks the ALB of each tier for requests, 5xx and p50/p99 latency and summarises them', async () => {
    aws.ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
      services: input.services.map((name) => ({
        serviceName: name,
        status: 'ACTIVE',
        loadBalancers: [{ targetGroupArn: name.endsWith('web') ? TG.web : TG.api }],
      })),
    }));
    aws.elb.on(DescribeTargetGroupsCommand).callsFake((input: { TargetGroupArns: string[] }) => ({
      TargetGroups: [
        {
          TargetGroupArn: input.TargetGroupArns[0],
          LoadBalancerArns: [
            `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/${input.TargetGroupArns[0] === TG.web ? 'web' : 'api'}/abc`,
          ],
        },
      ],
    }));
    const t = (minute: number) => new Date(Date.parse('2026-03-01T11:55:00Z') + minute * 60_000);
    aws.cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'req_web', Timestamps: [t(0), t(2)], Values: [600, 1200] },
        { Id: 'err_web', Timestamps: [t(2)], Values: [18] },
        { Id: 'p50_web', Timestamps: [t(0)], Values: [0.012] },
        { Id: 'p99_web', Timestamps: [t(0)], Values: [0.25] },
        { Id: 'req_api', Timestamps: [], Values: [] },
      ],
    });
    const result = await backend().metrics({ windowSeconds: 300 });

    const input = aws.cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    assert.deepEqual(input?.StartTime, new Date('2026-03-01T11:55:00Z'));
    assert.deepEqual(input?.EndTime, new Date('2026-03-01T12:00:00Z'));
    const byId = new Map((input?.MetricDataQueries ?? []).map((q: MetricDataQuery) => [q.Id, q.MetricStat]));
    assert.deepEqual(byId.get('req_web'), {
      Metric: {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'RequestCount',
        Dimensions: [{ Name: 'LoadBalancer', Value: 'app/web/abc' }],
      },
      Period: 60,
      Stat: 'Sum',
    });
    assert.equal(byId.get('err_api')?.Metric?.MetricName, 'HTTPCode_Target_5XX_Count');
    assert.deepEqual([byId.get('p99_api')?.Stat, byId.get('p99_api')?.Period], ['p99', 300]);
    assert.equal(aws.ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input.cluster, CLUSTER);

    assert.deepEqual(result, [
      { tier: 'web', requestRate: 6, errorRate: 0.01, p50Ms: 12, p99Ms: 250, series: [10, 0, 20, 0, 0] },
      { tier: 'api', requestRate: 0, errorRate: 0, p50Ms: 0, p99Ms: 0, series: [0, 0, 0, 0, 0] },
    ]);
  });
});
