// AWS backend: status, scale, stop and start, checked by the exact ECS / Auto Scaling / RDS calls they send.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, StartDBInstanceCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { TierError, type TierName } from '../src/backend.js';
import {
  backend,
  CLUSTER,
  DB_ARN,
  DB_ID,
  mockAws,
  output,
  recorder,
  SERVICE,
  TG,
  taskDefinition,
} from './aws-support.js';

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
});

const serviceArn = (tier: TierName) => `arn:aws:ecs:eu-west-1:123456789012:service/${CLUSTER}/${SERVICE[tier]}`;

function service(
  tier: TierName,
  o: { desired?: number; running?: number; tags?: { key: string; value: string }[] } = {},
) {
  const td = taskDefinition(tier, 7, 'abc123').taskDefinitionArn;
  return {
    serviceName: SERVICE[tier],
    serviceArn: serviceArn(tier),
    status: 'ACTIVE',
    desiredCount: o.desired ?? 2,
    runningCount: o.running ?? o.desired ?? 2,
    pendingCount: 0,
    taskDefinition: td,
    loadBalancers: [{ targetGroupArn: TG[tier], containerName: tier, containerPort: 3000 }],
    deployments: [{ id: `ecs-svc/${tier}`, status: 'PRIMARY', taskDefinition: td, rolloutState: 'COMPLETED' as const }],
    ...(o.tags ? { tags: o.tags } : {}),
  };
}

/** Services answer by name from `state`, so a test can change what the next DescribeServices returns. */
function servicesRespond(state: Record<TierName, Parameters<typeof service>[1]>) {
  aws.ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.map((name) => {
      const tier = name === SERVICE.web ? 'web' : 'api';
      return service(tier, state[tier]);
    }),
  }));
}

describe('status', () => {
  it('shows every task with version and target health, the DB, the services and the endpoints', async () => {
    servicesRespond({ web: {}, api: {} });
    aws.ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
      const tier = input.taskDefinition.includes('-web:') ? 'web' : 'api';
      return { taskDefinition: taskDefinition(tier, 7, 'abc123'), tags: [] };
    });
    aws.ecs.on(ListTasksCommand).callsFake((input: { serviceName: string }) => ({
      taskArns: [`arn:aws:ecs:eu-west-1:123456789012:task/${CLUSTER}/${input.serviceName}-t1`],
    }));
    aws.ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((arn) => ({
        taskArn: arn,
        lastStatus: 'RUNNING',
        taskDefinitionArn: taskDefinition(arn.includes('web') ? 'web' : 'api', 7, 'abc123').taskDefinitionArn,
        attachments: [
          {
            type: 'ElasticNetworkInterface',
            details: [{ name: 'privateIPv4Address', value: arn.includes('web') ? '10.0.1.5' : '10.0.2.5' }],
          },
        ],
      })),
    }));
    aws.elb.on(DescribeTargetHealthCommand, { TargetGroupArn: TG.web }).resolves({
      TargetHealthDescriptions: [{ Target: { Id: '10.0.1.5', Port: 3000 }, TargetHealth: { State: 'healthy' } }],
    });
    aws.elb.on(DescribeTargetHealthCommand, { TargetGroupArn: TG.api }).resolves({
      TargetHealthDescriptions: [{ Target: { Id: '10.0.2.5', Port: 3000 }, TargetHealth: { State: 'unhealthy' } }],
    });
    aws.aas.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ServiceNamespace: 'ecs',
          ResourceId: `service/${CLUSTER}/${SERVICE.web}`,
          ScalableDimension: 'ecs:service:DesiredCount',
          MinCapacity: 2,
          MaxCapacity: 6,
          RoleARN: 'x',
          CreationTime: new Date(0),
        },
      ],
    });
    aws.rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: DB_ID,
          DBInstanceArn: DB_ARN,
          DBInstanceStatus: 'available',
          Engine: 'postgres',
          EngineVersion: '17.4',
          Endpoint: { Address: 'db.internal', Port: 5432 },
        },
      ],
    });

    const status = await backend().status();

    assert.deepEqual(status.replicas, [
      { tier: 'web', name: 'tier-dev-web-t1', version: 'abc123', health: 'healthy', address: '10.0.1.5' },
      { tier: 'api', name: 'tier-dev-api-t1', version: 'abc123', health: 'unhealthy', address: '10.0.2.5' },
      { tier: 'db', name: DB_ID, version: 'postgres 17.4', health: 'healthy', address: 'db.internal:5432' },
    ]);
    assert.deepEqual(status.endpoints, {
      edge: `https://${output('DistributionDomainName')}`,
      'web-origin': output('WebAlbDnsName'),
      'api-origin': output('ApiAlbDnsName'),
    });
    assert.deepEqual(status.services[0], {
      tier: 'web',
      service: SERVICE.web,
      version: 'abc123',
      desired: 2,
      running: 2,
      pending: 0,
      rolloutState: 'COMPLETED',
      minTasks: 2,
      maxTasks: 6,
    });
    assert.deepEqual(aws.ecs.commandCalls(ListTasksCommand)[0]?.args[0].input, {
      cluster: CLUSTER,
      serviceName: SERVICE.web,
    });
    // Each task definition is described once, however many tasks use it.
    assert.equal(aws.ecs.commandCalls(DescribeTaskDefinitionCommand).length, 2);
  });
});

describe('scale', () => {
  beforeEach(() => {
    aws.aas.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ServiceNamespace: 'ecs',
          ResourceId: `service/${CLUSTER}/${SERVICE.api}`,
          ScalableDimension: 'ecs:service:DesiredCount',
          MinCapacity: 2,
          MaxCapacity: 4,
          RoleARN: 'x',
          CreationTime: new Date(0),
        },
      ],
    });
  });

  it('sets the autoscaling bounds first, then the desired count, and waits for the tasks', async () => {
    servicesRespond({ web: {}, api: { desired: 6, running: 6 } });
    const progress = recorder();
    await backend().scale(progress, { api: 6 });

    const register = aws.aas.commandCalls(RegisterScalableTargetCommand)[0]?.args[0].input;
    assert.deepEqual(register, {
      ServiceNamespace: 'ecs',
      ScalableDimension: 'ecs:service:DesiredCount',
      ResourceId: `service/${CLUSTER}/${SERVICE.api}`,
      MinCapacity: 6,
      MaxCapacity: 6,
    });
    assert.deepEqual(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input, {
      cluster: CLUSTER,
      service: SERVICE.api,
      desiredCount: 6,
    });
    assert.ok(
      aws.aas
        .commandCalls(RegisterScalableTargetCommand)[0]!
        .calledBefore(aws.ecs.commandCalls(UpdateServiceCommand)[0]!),
      'bounds before desired count',
    );
    assert.ok(progress.lines.includes('done api: 6 tasks (autoscaling 6..6)'));
  });

  it('keeps a higher maximum, and takes explicit bounds', async () => {
    servicesRespond({ web: { desired: 3 }, api: { desired: 3 } });
    await backend().scale(recorder(), { api: 3 });
    assert.equal(aws.aas.commandCalls(RegisterScalableTargetCommand)[0]?.args[0].input.MinCapacity, 3);
    assert.equal(aws.aas.commandCalls(RegisterScalableTargetCommand)[0]?.args[0].input.MaxCapacity, 4);

    await backend().scale(recorder(), { web: 3 }, { web: { min: 2, max: 10 } });
    const second = aws.aas.commandCalls(RegisterScalableTargetCommand)[1]?.args[0].input;
    assert.deepEqual([second?.MinCapacity, second?.MaxCapacity], [2, 10]);
  });

  it('rejects counts outside 1..50 and non-integers before calling AWS, naming the fix', async () => {
    for (const counts of [{ web: 0 }, { web: 51 }, { api: 2.5 }, { db: 2 } as never, {}]) {
      await assert.rejects(backend().scale(recorder(), counts), (err: unknown) => {
        assert.ok(err instanceof TierError && err.hint, String(err));
        return true;
      });
    }
    await assert.rejects(
      backend().scale(recorder(), { web: 0 }),
      (err: TierError) => /1 to 50/.test(err.hint ?? '') && /tier stop web/.test(err.hint ?? ''),
    );
    await assert.rejects(backend().scale(recorder(), { web: 5 }, { web: { min: 6, max: 10 } }), /outside 6\.\.10/);
    assert.equal(aws.ecs.calls().length, 0);
    assert.equal(aws.aas.calls().length, 0);
  });
});

describe('stop and start', () => {
  beforeEach(() => {
    aws.aas.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ServiceNamespace: 'ecs',
          ResourceId: `service/${CLUSTER}/${SERVICE.web}`,
          ScalableDimension: 'ecs:service:DesiredCount',
          MinCapacity: 2,
          MaxCapacity: 5,
          RoleARN: 'x',
          CreationTime: new Date(0),
        },
      ],
    });
  });

  it('stop remembers count and bounds in service tags, pins autoscaling to 0 and scales to 0', async () => {
    const state = { web: { desired: 3, running: 3 }, api: {} };
    servicesRespond(state);
    aws.ecs.on(UpdateServiceCommand).callsFake(() => {
      state.web = { desired: 0, running: 0 };
      return {};
    });
    await backend().stop(recorder(), 'web');

    assert.deepEqual(aws.ecs.commandCalls(TagResourceCommand)[0]?.args[0].input, {
      resourceArn: serviceArn('web'),
      tags: [
        { key: 'tier:stopped-desired', value: '3' },
        { key: 'tier:stopped-min', value: '2' },
        { key: 'tier:stopped-max', value: '5' },
      ],
    });
    const pin = aws.aas.commandCalls(RegisterScalableTargetCommand)[0]?.args[0].input;
    assert.deepEqual([pin?.MinCapacity, pin?.MaxCapacity], [0, 0]);
    assert.equal(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.desiredCount, 0);
  });

  it('start restores the remembered bounds and count and removes the tags', async () => {
    const tags = [
      { key: 'tier:stopped-desired', value: '3' },
      { key: 'tier:stopped-min', value: '2' },
      { key: 'tier:stopped-max', value: '5' },
    ];
    const state = { web: { desired: 0, running: 0, tags }, api: {} };
    servicesRespond(state);
    aws.aas.on(DescribeScalableTargetsCommand).resolves({
      ScalableTargets: [
        {
          ServiceNamespace: 'ecs',
          ResourceId: `service/${CLUSTER}/${SERVICE.web}`,
          ScalableDimension: 'ecs:service:DesiredCount',
          MinCapacity: 0,
          MaxCapacity: 0,
          RoleARN: 'x',
          CreationTime: new Date(0),
        },
      ],
    });
    aws.ecs.on(UpdateServiceCommand).callsFake(() => {
      state.web = { desired: 3, running: 3, tags };
      return {};
    });
    await backend().start(recorder(), 'web');

    assert.deepEqual(aws.ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input.include, ['TAGS']);
    const bounds = aws.aas.commandCalls(RegisterScalableTargetCommand)[0]?.args[0].input;
    assert.deepEqual([bounds?.MinCapacity, bounds?.MaxCapacity], [2, 5]);
    assert.equal(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.desiredCount, 3);
    assert.deepEqual(aws.ecs.commandCalls(UntagResourceCommand)[0]?.args[0].input, {
      resourceArn: serviceArn('web'),
      tagKeys: ['tier:stopped-desired', 'tier:stopped-min', 'tier:stopped-max'],
    });
  });

  it('stop db and start db call RDS with the instance from the outputs', async () => {
    const progress = recorder();
    await backend().stop(progress, 'db');
    await backend().start(progress, 'db');
    assert.deepEqual(aws.rds.commandCalls(StopDBInstanceCommand)[0]?.args[0].input, { DBInstanceIdentifier: DB_ID });
    assert.deepEqual(aws.rds.commandCalls(StartDBInstanceCommand)[0]?.args[0].input, { DBInstanceIdentifier: DB_ID });
    assert.ok(progress.lines.some((l) => /after 7 days/.test(l)));
  });
});
