// AWS backend: what each tier runs (the base of change detection) and going back to exactly what ran before a deploy.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { TierName as Tier } from '../src/backend.js';
import { backend, mockAws, recorder, taskDefinition } from './aws-support.js';

let aws: ReturnType<typeof mockAws>;
const tierOf = (name: string): Tier => (name.includes('web') ? 'web' : 'api');
const arn = (tier: Tier, rev: number) => taskDefinition(tier, rev, 'x').taskDefinitionArn;
/** revision -> the tag its image carries */
const TAGS: Record<number, string> = { 5: 'aaa111', 6: 'bbb222', 7: 'ccc333' };

/** Services on the given revisions; UpdateService moves a service, whose next rollout completes. */
function services(on: Record<Tier, number>) {
  const state = { ...on };
  aws.ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.map((name) => {
      const td = arn(tierOf(name), state[tierOf(name)]);
      return {
        serviceName: name,
        status: 'ACTIVE',
        taskDefinition: td,
        deployments: [{ id: `d-${td}`, status: 'PRIMARY', taskDefinition: td, rolloutState: 'COMPLETED' }],
      };
    }),
  }));
  aws.ecs.on(UpdateServiceCommand).callsFake((input: { service: string; taskDefinition: string }) => {
    state[tierOf(input.service)] = Number(input.taskDefinition.split(':').pop());
    return {
      service: {
        currentServiceDeployment: `arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/${input.service}/sd`,
      },
    };
  });
  aws.ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: input.serviceDeploymentArns.map((arn) => ({ serviceDeploymentArn: arn, status: 'SUCCESSFUL' })),
  }));
  aws.ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const [, tier, rev] = /tier-dev-(web|api):(\d+)$/.exec(input.taskDefinition) ?? [];
    return { taskDefinition: taskDefinition(tier as Tier, Number(rev), TAGS[Number(rev)] ?? '?'), tags: [] };
  });
  return state;
}

beforeEach(() => {
  aws = mockAws();
});

describe('running', () => {
  it("reads each tier's version from its service's task definition", async () => {
    services({ web: 6, api: 7 });
    const found = await backend().running();
    assert.deepEqual(found, {
      web: { taskDefinition: arn('web', 6), version: 'bbb222' },
      api: { taskDefinition: arn('api', 7), version: 'ccc333' },
    });
  });
});

describe('rollbackTo', () => {
  it('GIVEN a run moved api 6 -> 7 WHEN it rolls back THEN api returns to revision 6, not to an older success', async () => {
    const state = services({ web: 6, api: 7 });
    const records = await backend().rollbackTo(recorder(), {
      api: { taskDefinition: arn('api', 6), version: 'bbb222' },
    });
    assert.deepEqual(
      aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.taskDefinition),
      [arn('api', 6)],
    );
    assert.equal(state.api, 6);
    assert.deepEqual(
      records.map((r) => [r.tier, r.previousVersion, r.version, r.outcome]),
      [['api', 'ccc333', 'bbb222', 'succeeded']],
    );
    assert.equal(aws.ecs.commandCalls(ListServiceDeploymentsCommand).length, 0, 'no guess from the history');
    assert.deepEqual(
      aws.ssm.commandCalls(PutParameterCommand).map((c) => [c.args[0].input.Name, c.args[0].input.Value]),
      [['/tier/dev/image/api', 'bbb222']],
    );
  });

  it('GIVEN the circuit breaker already restored a tier THEN it is left alone (one version too far otherwise)', async () => {
    services({ web: 6, api: 6 });
    const records = await backend().rollbackTo(recorder(), {
      web: { taskDefinition: arn('web', 6), version: 'bbb222' },
      api: { taskDefinition: arn('api', 6), version: 'bbb222' },
    });
    assert.equal(aws.ecs.commandCalls(UpdateServiceCommand).length, 0);
    assert.deepEqual(
      records.map((r) => [r.tier, r.outcome, r.detail]),
      [
        ['web', 'succeeded', 'already running'],
        ['api', 'succeeded', 'already running'],
      ],
    );
  });

  it('GIVEN a tier the run never touched THEN it is not rolled back', async () => {
    services({ web: 5, api: 7 });
    await backend().rollbackTo(recorder(), { api: { taskDefinition: arn('api', 6), version: 'bbb222' } });
    assert.deepEqual(
      aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.service),
      [aws.ecs.commandCalls(DescribeServicesCommand)[0]!.args[0].input.services![0]],
    );
    assert.ok(
      aws.ecs.commandCalls(UpdateServiceCommand).every((c) => c.args[0].input.taskDefinition?.includes('api')),
      'only api moves',
    );
  });
});
