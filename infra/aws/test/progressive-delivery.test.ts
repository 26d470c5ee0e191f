// Progressive delivery on AWS: each tier deploys as an ECS native canary over two target groups, with a test listener
// the pre-traffic smoke test reaches (and nothing else does), and the smoke test itself against real HTTP servers.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { SERVICE_DEFAULTS } from '../lib/services/defaults.js';
import { smokeTest } from '../lib/services/smoke-test/index.mjs';
import { type Json, platform, resourcesOf, template } from './support/platform.js';

const p = platform('prod');
const services = () => template(p.services);
const network = () => template(p.network);
const id = (construct: { node: { defaultChild?: unknown } }) =>
  p.services.getLogicalId(construct.node.defaultChild as never);

describe('ECS canary deployments', () => {
  test('GIVEN each tier THEN it deploys by canary: a small share first, a bake, then all traffic and a bake', () => {
    for (const tier of ['web', 'api']) {
      services().hasResourceProperties('AWS::ECS::Service', {
        ServiceName: `tier-prod-${tier}`,
        DeploymentConfiguration: Match.objectLike({
          Strategy: 'CANARY',
          CanaryConfiguration: {
            CanaryPercent: SERVICE_DEFAULTS.canaryPercent,
            CanaryBakeTimeInMinutes: SERVICE_DEFAULTS.canaryBakeTime.toMinutes(),
          },
          BakeTimeInMinutes: SERVICE_DEFAULTS.bakeTime.toMinutes(),
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        }),
      });
    }
    assert.ok(SERVICE_DEFAULTS.canaryPercent < 50, 'the canary must be the smaller group: the alarms judge it so');
  });

  test('GIVEN a tier THEN the service names its alternate target group, production rule and test rule', () => {
    for (const [tier, svc] of [
      ['web', p.services.web],
      ['api', p.services.api],
    ] as const) {
      services().hasResourceProperties('AWS::ECS::Service', {
        ServiceName: `tier-prod-${tier}`,
        LoadBalancers: [
          {
            ContainerName: Match.anyValue(),
            ContainerPort: 3000,
            TargetGroupArn: { Ref: id(svc.targetGroup) },
            AdvancedConfiguration: {
              AlternateTargetGroupArn: { Ref: id(svc.alternateTargetGroup) },
              ProductionListenerRule: { Ref: id(svc.productionRule) },
              TestListenerRule: { Ref: id(svc.testRule) },
              RoleArn: Match.anyValue(),
            },
          },
        ],
      });
    }
  });

  test('GIVEN the production and test rules THEN both forward to both groups, weighted 100 / 0 until ECS moves them', () => {
    const rules = Object.fromEntries(resourcesOf(services(), 'AWS::ElasticLoadBalancingV2::ListenerRule'));
    for (const svc of [p.services.web, p.services.api]) {
      for (const rule of [svc.productionRule, svc.testRule]) {
        const [action] = rules[id(rule)]!.Properties.Actions as Json[];
        assert.equal(action.Type, 'forward');
        assert.deepEqual(
          action.ForwardConfig.TargetGroups.map((g: Json) => [g.TargetGroupArn.Ref, g.Weight]),
          [
            [id(svc.targetGroup), 100],
            [id(svc.alternateTargetGroup), 0],
          ],
        );
      }
    }
  });

  test('GIVEN each ALB THEN its test listener is on 8080, answers 403 to what no rule matches and admits only the smoke test', () => {
    const listeners = Object.fromEntries(resourcesOf(services(), 'AWS::ElasticLoadBalancingV2::Listener'));
    const smoke = p.network.getLogicalId(p.network.securityGroups.smokeTests.node.defaultChild as never);
    for (const [svc, alb] of [
      [p.services.web, p.network.securityGroups.webAlb],
      [p.services.api, p.network.securityGroups.apiAlb],
    ] as const) {
      const listener = listeners[id(svc.testListener)]!.Properties;
      assert.equal(listener.Port, SERVICE_DEFAULTS.testListenerPort);
      assert.equal(listener.DefaultActions[0].FixedResponseConfig.StatusCode, '403');
      const albId = p.network.getLogicalId(alb.node.defaultChild as never);
      const onTestPort = resourcesOf(network(), 'AWS::EC2::SecurityGroupIngress').filter(
        ([, r]) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === albId && r.Properties.FromPort === 8080,
      );
      assert.deepEqual(
        onTestPort.map(([, r]) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]),
        [smoke],
      );
      const inline = (network().toJSON().Resources[albId].Properties.SecurityGroupIngress ?? []) as Json[];
      assert.ok(!inline.some((r) => r.FromPort === 8080), 'no inline rule opens the test port');
    }
  });

  test('GIVEN the smoke test security group THEN it may reach only the two test listeners', () => {
    const smoke = network().toJSON().Resources[
      p.network.getLogicalId(p.network.securityGroups.smokeTests.node.defaultChild as never)
    ].Properties as Json;
    const egress = resourcesOf(network(), 'AWS::EC2::SecurityGroupEgress').filter(
      ([, r]) =>
        r.Properties.GroupId?.['Fn::GetAtt']?.[0] ===
        p.network.getLogicalId(p.network.securityGroups.smokeTests.node.defaultChild as never),
    );
    assert.deepEqual(
      egress
        .map(([, r]) => `${r.Properties.DestinationSecurityGroupId['Fn::GetAtt'][0]} ${r.Properties.FromPort}`)
        .sort(),
      [p.network.securityGroups.apiAlb, p.network.securityGroups.webAlb]
        .map((g) => `${p.network.getLogicalId(g.node.defaultChild as never)} 8080`)
        .sort(),
    );
    // No inline egress either (allowAllOutbound: false; at most CDK's placeholder that matches nothing).
    assert.ok(((smoke.SecurityGroupEgress ?? []) as Json[]).every((r) => r.CidrIp === '255.255.255.255/32'));
  });

  test('GIVEN both services THEN the smoke test runs once test traffic reaches the new tasks, before production moves', () => {
    const fn = id(p.services.node.findChild('SmokeTest').node.findChild('Function') as never);
    for (const [, svc] of resourcesOf(services(), 'AWS::ECS::Service')) {
      assert.deepEqual(
        svc.Properties.DeploymentConfiguration.LifecycleHooks.map((h: Json) => [
          h.HookTargetArn['Fn::GetAtt'][0],
          h.LifecycleStages,
        ]),
        [[fn, ['POST_TEST_TRAFFIC_SHIFT']]],
      );
    }
  });

  test('GIVEN the smoke test function THEN it runs in the VPC and asks each service its read-only checks on the test port', () => {
    const fn = Object.fromEntries(resourcesOf(services(), 'AWS::Lambda::Function'))[
      id(p.services.node.findChild('SmokeTest').node.findChild('Function') as never)
    ]!.Properties;
    assert.equal(fn.VpcConfig.SubnetIds.length, 3, 'the private subnets of every AZ');
    assert.equal(fn.VpcConfig.SecurityGroupIds.length, 1);
    const targets = JSON.stringify(fn.Environment.Variables.SMOKE_TARGETS);
    for (const tier of ['web', 'api']) assert.match(targets, new RegExp(`tier-prod-${tier}`));
    assert.match(targets, /:8080/);
    assert.match(targets, /\/api\/status/);
  });
});

describe('the smoke test against a new version', () => {
  let server: Server;
  let url = '';
  const answers = new Map<string, { status: number; body: string }>();
  const seen: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const a = answers.get(req.url ?? '') ?? { status: 404, body: 'no route' };
      res.writeHead(a.status).end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  const targets = () => ({
    'tier-dev-api': { url, checks: [{ path: '/api/status', contains: '"request_uuid"' }] },
  });

  test('GIVEN the new tasks answer the status THEN it succeeds, with GET requests only', async () => {
    answers.set('/api/status', { status: 200, body: '[{"time":"t","request_uuid":"u"}]' });
    seen.length = 0;
    const result = await smokeTest('tier-dev-api', targets(), { pauseMs: 0 });
    assert.equal(result.hookStatus, 'SUCCEEDED', result.results.join('; '));
    assert.deepEqual(seen, ['GET /api/status']);
  });

  test('GIVEN the new tasks answer 500 THEN it fails after its tries and says what it got', async () => {
    answers.set('/api/status', { status: 500, body: 'boom' });
    seen.length = 0;
    const result = await smokeTest('tier-dev-api', targets(), { pauseMs: 0 });
    assert.equal(result.hookStatus, 'FAILED');
    assert.match(result.results[0] ?? '', /status 500/);
    assert.equal(seen.length, 3);
  });

  test('GIVEN a 200 without the expected content THEN it fails', async () => {
    answers.set('/api/status', { status: 200, body: '<html>maintenance</html>' });
    const result = await smokeTest('tier-dev-api', targets(), { pauseMs: 0 });
    assert.equal(result.hookStatus, 'FAILED');
    assert.match(result.results[0] ?? '', /200 without ""request_uuid""/);
  });

  test('GIVEN nothing listens on the test listener THEN it fails', async () => {
    const result = await smokeTest(
      'tier-dev-api',
      { 'tier-dev-api': { url: 'http://127.0.0.1:9', checks: [{ path: '/', contains: 'x' }] } },
      { pauseMs: 0 },
    );
    assert.equal(result.hookStatus, 'FAILED');
    assert.match(result.results[0] ?? '', /no answer/);
  });

  test('GIVEN a service it has no checks for THEN it fails rather than wave the deployment through', async () => {
    const result = await smokeTest('tier-dev-other', targets(), { pauseMs: 0 });
    assert.equal(result.hookStatus, 'FAILED');
    assert.match(result.results[0] ?? '', /no smoke test is configured/);
  });
});
