// AWS backend: deploy (new task definition revision, rollout watched to the end), rollback and history.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type ServiceDeployment,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { TierName as Tier, TierError } from '../src/backend.js';
import { backend, CLUSTER, image, mockAws, recorder, SERVICE, taskDefinition } from './aws-support.js';

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
});

const td = (tier: Tier, rev: number) => taskDefinition(tier, rev, rev === 7 ? 'abc123' : 'def456').taskDefinitionArn;
const tierOf = (name: string): Tier => (name.includes('web') ? 'web' : 'api');

const deploymentArn = (tier: Tier) =>
  `arn:aws:ecs:eu-west-1:123456789012:service-deployment/${CLUSTER}/${SERVICE[tier]}/sd-${tier}-new`;

/**
 * A service per tier on revision 7. UpdateService starts service deployment `deploymentArn(tier)`; each
 * DescribeServiceDeployments of it returns the next step of `script(tier, newTaskDefinition)`, repeating the last.
 */
function ecsService(script: (tier: Tier, target: string) => ServiceDeployment[]) {
  const state: Record<Tier, { taskDefinition: string; steps: ServiceDeployment[] }> = {
    web: { taskDefinition: td('web', 7), steps: [] },
    api: { taskDefinition: td('api', 7), steps: [] },
  };
  aws.ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.map((name) => ({
      serviceName: name,
      serviceArn: `arn:aws:ecs:eu-west-1:123456789012:service/${CLUSTER}/${name}`,
      status: 'ACTIVE',
      taskDefinition: state[tierOf(name)].taskDefinition,
    })),
  }));
  aws.ecs.on(UpdateServiceCommand).callsFake((input: { service: string; taskDefinition: string }) => {
    const tier = tierOf(input.service);
    state[tier].taskDefinition = input.taskDefinition;
    state[tier].steps = script(tier, input.taskDefinition);
    return { service: { serviceName: input.service, currentServiceDeployment: deploymentArn(tier) } };
  });
  aws.ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: input.serviceDeploymentArns.map((arn) => {
      const s = state[tierOf(arn)];
      const step = (s.steps.length > 1 ? s.steps.shift() : s.steps[0]) ?? { status: 'PENDING' as const };
      // A rollback puts the service back on the task definition it ran.
      if (step.status === 'ROLLBACK_SUCCESSFUL') s.taskDefinition = td(tierOf(arn), 7);
      return { serviceDeploymentArn: arn, ...step };
    }),
  }));
  aws.ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    if (input.taskDefinition.includes('tier-dev-migrate')) {
      const api = taskDefinition('api', 1, 'abc123');
      return {
        taskDefinition: {
          ...api,
          family: 'tier-dev-migrate',
          containerDefinitions: [
            {
              ...api.containerDefinitions[0]!,
              name: 'migrate',
              environment: [{ name: 'APP_VERSION', value: 'abc123' }],
            },
          ],
        },
        tags: [],
      };
    }
    const [, family, rev] = /task-definition\/tier-dev-(web|api):(\d+)$/.exec(input.taskDefinition) ?? [];
    return {
      taskDefinition: taskDefinition(family as Tier, Number(rev), Number(rev) === 7 ? 'abc123' : 'def456'),
      tags: [
        { key: 'aws:cloudformation:stack-name', value: 'tier-dev-services' },
        { key: 'team', value: 'platform' },
      ],
    };
  });
  aws.ecs.on(RegisterTaskDefinitionCommand).callsFake((input: { family: string }) => ({
    taskDefinition: {
      taskDefinitionArn: input.family.endsWith('-migrate')
        ? 'arn:aws:ecs:us-east-1:111111111111:task-definition/tier-dev-migrate:2'
        : td(tierOf(input.family), 8),
    },
  }));
  // The migration task: started, then stopped with exit code 0.
  const migrationTask = `arn:aws:ecs:us-east-1:111111111111:task/${CLUSTER}/migrate1`;
  aws.ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: migrationTask }], failures: [] });
  aws.ecs.on(DescribeTasksCommand).resolves({
    tasks: [{ taskArn: migrationTask, lastStatus: 'STOPPED', containers: [{ name: 'migrate', exitCode: 0 }] }],
  });
  return state;
}

/** A canary deployment at a lifecycle stage, its new revision `running` of 2 tasks, with `weight`% of production. */
const at = (
  lifecycleStage: ServiceDeployment['lifecycleStage'],
  running: number,
  weight: number,
  status: ServiceDeployment['status'] = 'IN_PROGRESS',
): ServiceDeployment => ({
  status,
  lifecycleStage,
  targetServiceRevision: {
    arn: 'arn:aws:ecs:eu-west-1:123456789012:service-revision/new',
    requestedTaskCount: 2,
    runningTaskCount: running,
    requestedProductionTrafficWeight: weight,
  },
});
const successful = at('CLEAN_UP', 2, 100, 'SUCCESSFUL');

describe('deploy', () => {
  it('registers a copy of the task definition with the new tag, updates the service and follows the canary to SUCCESSFUL', async () => {
    ecsService(() => [
      at('SCALE_UP', 1, 0),
      at('POST_TEST_TRAFFIC_SHIFT', 2, 0),
      at('PRODUCTION_TRAFFIC_SHIFT', 2, 10),
      at('BAKE_TIME', 2, 100),
      successful,
    ]);
    const progress = recorder();
    const records = await backend().deploy(progress, { version: 'def456', tiers: ['web', 'api'] });

    const registered = aws.ecs.commandCalls(RegisterTaskDefinitionCommand).map((c) => c.args[0].input);
    assert.deepEqual(
      registered.map((r) => r.family),
      ['tier-dev-migrate', 'tier-dev-api', 'tier-dev-web'],
      'the migrations run first, then the API rolls out before the web tier',
    );
    const api = registered[1]!;
    assert.equal(api.containerDefinitions?.[0]?.image, image('api', 'def456'));
    assert.deepEqual(
      api.containerDefinitions?.[0]?.secrets,
      taskDefinition('api', 7, 'x').containerDefinitions[0]?.secrets,
    );
    assert.equal(api.containerDefinitions?.[1]?.image, 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable');
    assert.deepEqual(api.tags, [{ key: 'team', value: 'platform' }], 'aws: tags are reserved and dropped');
    for (const readOnly of ['taskDefinitionArn', 'revision', 'status', 'compatibilities', 'registeredAt']) {
      assert.ok(!(readOnly in api), `${readOnly} is not sent`);
    }
    assert.deepEqual(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input, {
      cluster: CLUSTER,
      service: SERVICE.api,
      taskDefinition: td('api', 8),
    });
    assert.deepEqual(
      records.map((r) => [r.tier, r.previousVersion, r.version, r.outcome]),
      [
        ['api', 'abc123', 'def456', 'succeeded'],
        ['web', 'abc123', 'def456', 'succeeded'],
      ],
    );
    assert.deepEqual(
      progress.lines.filter((l) => l.startsWith('info api: ') && !l.includes('migrat')),
      [
        'info api: registered tier-dev-api:8',
        'info api: IN_PROGRESS SCALE_UP, new version 1/2 running, 0% of production traffic',
        'info api: IN_PROGRESS POST_TEST_TRAFFIC_SHIFT, new version 2/2 running, 0% of production traffic',
        'info api: IN_PROGRESS PRODUCTION_TRAFFIC_SHIFT, new version 2/2 running, 10% of production traffic',
        'info api: IN_PROGRESS BAKE_TIME, new version 2/2 running, 100% of production traffic',
        'info api: SUCCESSFUL CLEAN_UP, new version 2/2 running, 100% of production traffic',
      ],
    );
    assert.deepEqual(aws.ecs.commandCalls(DescribeServiceDeploymentsCommand)[0]?.args[0].input, {
      serviceDeploymentArns: [deploymentArn('api')],
    });
  });

  it('runs the migration task with the new api image, to exit 0, before the api service is updated', async () => {
    ecsService(() => [successful]);
    await backend().deploy(recorder(), { version: 'def456', tiers: ['api'] });
    const migrate = aws.ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    assert.equal(migrate.containerDefinitions?.[0]?.image, image('api', 'def456'));
    assert.deepEqual(migrate.containerDefinitions?.[0]?.environment, [{ name: 'APP_VERSION', value: 'def456' }]);
    const run = aws.ecs.commandCalls(RunTaskCommand)[0]!;
    assert.equal(
      run.args[0].input.taskDefinition,
      'arn:aws:ecs:us-east-1:111111111111:task-definition/tier-dev-migrate:2',
    );
    assert.equal(run.args[0].input.cluster, CLUSTER);
    const update = aws.ecs.commandCalls(UpdateServiceCommand)[0]!;
    assert.ok(run.calledBefore(update), 'the migration ran before traffic shifted');
  });

  it('a failed migration deploys nothing', async () => {
    ecsService(() => [successful]);
    aws.ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: 'x',
          lastStatus: 'STOPPED',
          stoppedReason: 'Essential container exited',
          containers: [{ name: 'migrate', exitCode: 1 }],
        },
      ],
    });
    await assert.rejects(
      backend().deploy(recorder(), { version: 'def456', tiers: ['api', 'web'] }),
      /migration task stopped/,
    );
    assert.equal(aws.ecs.commandCalls(UpdateServiceCommand).length, 0);
    assert.equal(aws.ssm.commandCalls(PutParameterCommand).length, 0);
  });

  it('records the tag each tier now runs in its SSM parameter, which the next cdk deploy resolves', async () => {
    ecsService(() => [successful]);
    await backend().deploy(recorder(), { version: 'def456', tiers: ['web', 'api'] });
    assert.deepEqual(
      aws.ssm
        .commandCalls(PutParameterCommand)
        .map((c) => [c.args[0].input.Name, c.args[0].input.Value, c.args[0].input.Overwrite]),
      [
        ['/tier/dev/image/api', 'def456', true],
        ['/tier/dev/image/web', 'def456', true],
      ],
    );
  });

  it('GIVEN an alarm fires during the bake THEN ECS rolls back and the deploy fails naming the alarm', async () => {
    ecsService(() => [
      at('PRODUCTION_TRAFFIC_SHIFT', 2, 10),
      at('BAKE_TIME', 2, 100),
      {
        ...at('BAKE_TIME', 2, 0, 'ROLLBACK_IN_PROGRESS'),
        alarms: {
          status: 'TRIGGERED',
          alarmNames: ['tier-dev-api-5xx-rate'],
          triggeredAlarmNames: ['tier-dev-api-5xx-rate'],
        },
        rollback: { reason: 'Service deployment rolled back because of alarms.' },
      },
      {
        ...at('CLEAN_UP', 0, 0, 'ROLLBACK_SUCCESSFUL'),
        alarms: {
          status: 'TRIGGERED',
          alarmNames: ['tier-dev-api-5xx-rate'],
          triggeredAlarmNames: ['tier-dev-api-5xx-rate'],
        },
        rollback: { reason: 'Service deployment rolled back because of alarms.' },
      },
    ]);
    const progress = recorder();
    const records = await backend().deploy(progress, { version: 'def456', tiers: ['api', 'web'] });

    assert.deepEqual(
      records.map((r) => [r.tier, r.outcome, r.detail]),
      [['api', 'rolled-back', 'alarm tier-dev-api-5xx-rate fired; Service deployment rolled back because of alarms.']],
    );
    assert.equal(
      progress.lines.filter((l) =>
        l.startsWith('warn api: ECS is rolling the deployment back: alarm tier-dev-api-5xx-rate fired'),
      ).length,
      1,
      'said once, while the rollback runs',
    );
    assert.ok(progress.lines.includes('warn not deploying web: api did not roll out'));
    assert.equal(aws.ecs.commandCalls(UpdateServiceCommand).length, 1, 'web is not touched');
    assert.deepEqual(
      aws.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name),
      [],
      'the running tag stays the old one',
    );
  });

  it('GIVEN the pre-traffic smoke test fails THEN the deploy fails naming the hook, before any production traffic', async () => {
    const hook = {
      hookId: 'h1',
      targetType: 'AWS_LAMBDA' as const,
      targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:tier-dev-smoke-test',
      status: 'FAILED' as const,
    };
    ecsService(() => [
      at('POST_TEST_TRAFFIC_SHIFT', 2, 0),
      { ...at('POST_TEST_TRAFFIC_SHIFT', 2, 0, 'ROLLBACK_SUCCESSFUL'), lifecycleHookDetails: [hook] },
    ]);
    const progress = recorder();
    const [record] = await backend().deploy(progress, { version: 'def456', tiers: ['web'] });

    assert.equal(record?.outcome, 'rolled-back');
    assert.equal(record?.detail, 'lifecycle hook tier-dev-smoke-test (the pre-traffic smoke test) failed');
    assert.ok(
      !progress.lines.some((l) => /[1-9]\d*% of production traffic/.test(l)),
      'no production request reached it',
    );
  });

  it('GIVEN tasks that cannot start THEN the circuit breaker rollback fails the deploy with its count', async () => {
    ecsService(() => [
      at('SCALE_UP', 0, 0),
      {
        ...at('SCALE_UP', 0, 0, 'ROLLBACK_SUCCESSFUL'),
        deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
        statusReason: 'ECS deployment circuit breaker: tasks failed to start.',
      },
    ]);
    const [record] = await backend().deploy(recorder(), { version: 'def456', tiers: ['web'] });
    assert.equal(record?.outcome, 'rolled-back');
    assert.equal(
      record?.detail,
      'the circuit breaker stopped it (3 of 3 tasks failed); ECS deployment circuit breaker: tasks failed to start.',
    );
  });

  it('GIVEN the rollback itself fails or the deployment is stopped THEN the deploy fails and says so', async () => {
    ecsService(() => [{ ...at('BAKE_TIME', 2, 100, 'ROLLBACK_FAILED'), statusReason: 'tasks failed to start' }]);
    const [failed] = await backend().deploy(recorder(), { version: 'def456', tiers: ['web'] });
    assert.deepEqual([failed?.outcome, failed?.detail], ['failed', 'tasks failed to start; the rollback failed too']);

    ecsService(() => [{ ...at('SCALE_UP', 1, 0, 'STOPPED'), statusReason: 'stopped by a user' }]);
    const [stopped] = await backend().deploy(recorder(), { version: 'def456', tiers: ['web'] });
    assert.deepEqual([stopped?.outcome, stopped?.detail], ['failed', 'stopped: stopped by a user']);
  });

  it('GIVEN UpdateService reports no service deployment THEN the deploy fails instead of waiting on nothing', async () => {
    ecsService(() => [successful]);
    aws.ecs.on(UpdateServiceCommand).resolves({ service: {} });
    await assert.rejects(
      backend().deploy(recorder(), { version: 'def456', tiers: ['web'] }),
      /ECS reported no service deployment for web/,
    );
  });

  it('gives up waiting after the timeout with a hint, leaving ECS to finish', async () => {
    ecsService(() => [at('PRODUCTION_TRAFFIC_SHIFT', 2, 10)]);
    let clock = 0;
    await assert.rejects(
      backend({ now: () => (clock += 60_000), rolloutTimeoutMs: 5 * 60_000 }).deploy(recorder(), {
        version: 'def456',
        tiers: ['api'],
      }),
      (err: TierError) => /rollout not finished/.test(err.message) && /tier status --target aws/.test(err.hint ?? ''),
    );
  });

  it('needs a valid image tag and says how to get one', async () => {
    await assert.rejects(
      backend().deploy(recorder(), { tiers: ['web'] }),
      (err: TierError) => /needs --version/.test(err.message) && /--version <sha>/.test(err.hint ?? ''),
    );
    await assert.rejects(backend().deploy(recorder(), { version: 'a b', tiers: ['web'] }), /not a valid image tag/);
    assert.equal(aws.cfn.calls().length, 0);
  });

  it('does nothing for a tier that already runs the version', async () => {
    ecsService(() => []);
    const [record] = await backend().deploy(recorder(), { version: 'abc123', tiers: ['web'] });
    assert.equal(record?.detail, 'already running');
    assert.equal(aws.ecs.commandCalls(RegisterTaskDefinitionCommand).length, 0);
  });
});

describe('rollback and history', () => {
  const revision = (tier: Tier, rev: number) =>
    `arn:aws:ecs:eu-west-1:123456789012:service-revision/${CLUSTER}/${SERVICE[tier]}/r${rev}`;

  beforeEach(() => {
    aws.ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
      serviceRevisions: input.serviceRevisionArns.map((arn) => {
        const tier = tierOf(arn);
        const rev = Number(arn.slice(arn.lastIndexOf('/r') + 2));
        return {
          serviceRevisionArn: arn,
          taskDefinition: td(tier, rev),
          containerImages: [{ containerName: tier, image: image(tier, rev === 7 ? 'abc123' : 'def456') }],
        };
      }),
    }));
  });

  it('rollback deploys the task definition of the previous successful deployment', async () => {
    const state = ecsService(() => [successful]);
    state.api.taskDefinition = td('api', 8);
    aws.ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        {
          serviceDeploymentArn: 'sd/1',
          status: 'SUCCESSFUL',
          startedAt: new Date(1000),
          targetServiceRevisionArn: revision('api', 7),
        },
        {
          serviceDeploymentArn: 'sd/2',
          status: 'SUCCESSFUL',
          startedAt: new Date(2000),
          targetServiceRevisionArn: revision('api', 8),
        },
      ],
    });
    const [record] = await backend().rollback(recorder(), { tiers: ['api'] });

    assert.deepEqual(aws.ecs.commandCalls(ListServiceDeploymentsCommand)[0]?.args[0].input, {
      cluster: CLUSTER,
      service: SERVICE.api,
      maxResults: 20,
      status: ['SUCCESSFUL'],
    });
    assert.equal(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.taskDefinition, td('api', 7));
    assert.equal(aws.ecs.commandCalls(RegisterTaskDefinitionCommand).length, 0, 'rollback reuses the old revision');
    assert.deepEqual([record?.previousVersion, record?.version, record?.outcome], ['def456', 'abc123', 'succeeded']);
  });

  it('rollback without an earlier deployment says where to look', async () => {
    ecsService(() => []);
    aws.ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    await assert.rejects(
      backend().rollback(recorder(), { tiers: ['web'] }),
      (err: TierError) =>
        /no earlier successful deployment of web/.test(err.message) && /tier history/.test(err.hint ?? ''),
    );
  });

  it('history reads ECS service deployments, oldest first, skipping those still running', async () => {
    aws.ecs.on(ListServiceDeploymentsCommand).callsFake((input: { service: string }) => ({
      serviceDeployments:
        input.service === SERVICE.api
          ? [
              { serviceDeploymentArn: 'arn:x/api-2' },
              { serviceDeploymentArn: 'arn:x/api-3' },
              { serviceDeploymentArn: 'arn:x/api-1' },
            ]
          : [],
    }));
    aws.ecs.on(DescribeServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        {
          serviceDeploymentArn: 'arn:x/api-2',
          status: 'ROLLBACK_SUCCESSFUL',
          startedAt: new Date('2026-02-02T10:00:00Z'),
          finishedAt: new Date('2026-02-02T10:09:00Z'),
          sourceServiceRevisions: [{ arn: revision('api', 7) }],
          targetServiceRevision: { arn: revision('api', 8) },
          rollback: { reason: 'circuit breaker' },
        },
        { serviceDeploymentArn: 'arn:x/api-3', status: 'IN_PROGRESS', startedAt: new Date('2026-02-03T10:00:00Z') },
        {
          serviceDeploymentArn: 'arn:x/api-1',
          status: 'SUCCESSFUL',
          startedAt: new Date('2026-02-01T10:00:00Z'),
          finishedAt: new Date('2026-02-01T10:05:00Z'),
          targetServiceRevision: { arn: revision('api', 7) },
        },
      ],
    });
    const records = await backend().history();

    assert.deepEqual(aws.ecs.commandCalls(DescribeServiceDeploymentsCommand)[0]?.args[0].input, {
      serviceDeploymentArns: ['arn:x/api-2', 'arn:x/api-3', 'arn:x/api-1'],
    });
    assert.deepEqual(records, [
      {
        id: 'api-1',
        tier: 'api',
        version: 'abc123',
        previousVersion: '',
        startedAt: '2026-02-01T10:00:00.000Z',
        finishedAt: '2026-02-01T10:05:00.000Z',
        outcome: 'succeeded',
      },
      {
        id: 'api-2',
        tier: 'api',
        version: 'def456',
        previousVersion: 'abc123',
        startedAt: '2026-02-02T10:00:00.000Z',
        finishedAt: '2026-02-02T10:09:00.000Z',
        outcome: 'rolled-back',
        detail: 'circuit breaker',
      },
    ]);
  });
});
