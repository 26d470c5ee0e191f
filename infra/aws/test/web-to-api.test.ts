// Same hops on both targets: on AWS the web tier calls the API through the API's balancer (locally web -> api-lb),
// so the API's rollback alarms and request-count scaling see server-side renders too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { loadStageConfig } from '../config/index.js';
import { type Json, platform, resourcesOf, template } from './support/platform.js';
import { STAGES } from './support/templates.js';

/** Who a security group admits, as `<peer> tcp <from>-<to>`; a peer group is named by its logical id. */
function ingressOf(stack: Stack, group: ec2.SecurityGroup): string[] {
  const t = template(stack);
  const id = stack.getLogicalId(group.node.defaultChild as ec2.CfnSecurityGroup);
  const peer = (r: Json) =>
    r.SourceSecurityGroupId?.['Fn::GetAtt']?.[0] ?? r.SourcePrefixListId ?? r.CidrIp ?? JSON.stringify(r);
  const rule = (r: Json) => `${peer(r)} ${r.IpProtocol} ${r.FromPort}-${r.ToPort}`;
  const inline = (t.toJSON().Resources[id].Properties.SecurityGroupIngress ?? []).map(rule);
  const separate = resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')
    .filter(([, r]) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === id)
    .map(([, r]) => rule(r.Properties));
  return [...inline, ...separate].sort();
}

const logicalId = (stack: Stack, group: ec2.SecurityGroup) =>
  stack.getLogicalId(group.node.defaultChild as ec2.CfnSecurityGroup);

for (const stage of STAGES) {
  describe(`${stage}: web reaches the API through the API's balancer`, () => {
    const p = platform(stage);
    const sg = p.network.securityGroups;

    test("GIVEN the web task WHEN it calls the API THEN API_HOST is the api ALB's DNS name on its listener port", () => {
      const [, web] = resourcesOf(template(p.services), 'AWS::ECS::TaskDefinition').find(
        ([, td]) => td.Properties.Family === `tier-${stage}-web`,
      )!;
      const apiHost = web.Properties.ContainerDefinitions[0].Environment.find(
        (e: { Name: string }) => e.Name === 'API_HOST',
      );
      const albId = p.services.getLogicalId(p.services.api.loadBalancer.node.defaultChild as never);
      assert.deepEqual(apiHost.Value, { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [albId, 'DNSName'] }]] });
      assert.equal(p.services.api.listener.port, 80, 'http:// without a port is the listener port 80');
    });

    test("the api ALB admits CloudFront's origin-facing addresses and the web tasks on the listener port, the smoke test on the test listener's", () => {
      const cloudFront = loadStageConfig(stage).edge.originFacingPrefixListId;
      assert.deepEqual(
        ingressOf(p.network, sg.apiAlb),
        [
          `${logicalId(p.network, sg.webTasks)} tcp 80-80`,
          `${cloudFront} tcp 80-80`,
          `${logicalId(p.network, sg.smokeTests)} tcp 8080-8080`,
        ].sort(),
      );
    });

    test('the api tasks admit only their balancer (traffic and health check): no direct path from the web tasks', () => {
      const alb = logicalId(p.network, sg.apiAlb);
      assert.deepEqual(ingressOf(p.network, sg.apiTasks), [`${alb} tcp 3000-3000`, `${alb} tcp 9100-9100`]);
    });

    test('no service registers in Cloud Map: the balancer is the only way to the API', () => {
      for (const [, svc] of resourcesOf(template(p.services), 'AWS::ECS::Service'))
        assert.equal(svc.Properties.ServiceRegistries, undefined, svc.Properties.ServiceName);
      for (const type of ['AWS::ServiceDiscovery::Service', 'AWS::ServiceDiscovery::PrivateDnsNamespace'])
        assert.equal(resourcesOf(template(p.services), type).length, 0, type);
    });

    test("the api listener forwards without CloudFront's header (the web tasks do not hold it); the web listener requires it", () => {
      const rules = resourcesOf(template(p.services), 'AWS::ElasticLoadBalancingV2::ListenerRule');
      const ruleOf = (listener: { node: { defaultChild?: unknown } }) => {
        const id = p.services.getLogicalId(listener.node.defaultChild as never);
        const found = rules.filter(([, r]) => r.Properties.ListenerArn?.Ref === id);
        assert.equal(found.length, 1, `one rule on ${id}`);
        return found[0]![1].Properties;
      };
      const api = ruleOf(p.services.api.listener);
      assert.deepEqual(
        api.Conditions.map((c: Json) => c.Field),
        ['path-pattern'],
      );
      assert.deepEqual(api.Conditions[0].PathPatternConfig.Values, ['/*']);
      const web = ruleOf(p.services.web.listener);
      assert.equal(web.Conditions[0].HttpHeaderConfig.HttpHeaderName, 'X-Origin-Verify');
    });
  });
}
