// Specification of the edge, the security-group chain, telemetry, dashboards and pipeline access.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../config/index.js';
import { type Json, platform, resourcesOf, template } from './support/platform.js';

describe('edge', () => {
  const dist = () => {
    const [[, d]] = resourcesOf(template(platform('prod').edge), 'AWS::CloudFront::Distribution') as [[string, Json]];
    return d.Properties.DistributionConfig;
  };

  test('one distribution sends /api/* uncached to the api ALB and everything else to the web ALB, HTTPS only', () => {
    const config = dist();
    assert.equal(config.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
    const api = config.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/api/*');
    assert.ok(api, 'an /api/* behaviour');
    assert.equal(api.CachePolicyId, '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', 'managed CachingDisabled');
    assert.equal(api.ViewerProtocolPolicy, 'redirect-to-https');
    assert.notEqual(api.TargetOriginId, config.DefaultCacheBehavior.TargetOriginId);
    assert.ok(api.AllowedMethods.includes('POST'));
  });

  test('stylesheets, images and assets are cached for a year; pages at most a minute', () => {
    const t = template(platform('prod').edge);
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ Name: 'tier-prod-assets', DefaultTTL: 31536000, MaxTTL: 31536000 }),
    });
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ Name: 'tier-prod-pages', DefaultTTL: 0, MaxTTL: 60 }),
    });
    const paths = dist().CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern);
    for (const p of ['/stylesheets/*', '/images/*', '/assets/*']) assert.ok(paths.includes(p), p);
  });

  test('CloudFront sends the secret origin header, logs to S3 and is protected by the us-east-1 web ACL', () => {
    const config = dist();
    for (const origin of config.Origins) {
      assert.equal(origin.OriginCustomHeaders[0].HeaderName, 'X-Origin-Verify');
      assert.match(JSON.stringify(origin.OriginCustomHeaders[0].HeaderValue), /resolve:secretsmanager/);
    }
    assert.equal(config.Logging.Bucket, 'tier-prod-cloudfront-logs-111111111111-eu-west-1.s3.eu-west-1.amazonaws.com');
    assert.ok(config.WebACLId, 'a web ACL');
    assert.equal(platform('prod').firewall.region, 'us-east-1');
  });

  test('the web ACL has the AWS managed common, known-bad-inputs, SQLi and IP reputation groups and a rate limit', () => {
    const t = template(platform('prod').firewall);
    const [[, acl]] = resourcesOf(t, 'AWS::WAFv2::WebACL') as [[string, Json]];
    assert.equal(acl.Properties.Scope, 'CLOUDFRONT');
    const groups = acl.Properties.Rules.map((r: Json) => r.Statement.ManagedRuleGroupStatement?.Name).filter(Boolean);
    assert.deepEqual(groups.sort(), [
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesCommonRuleSet',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesSQLiRuleSet',
    ]);
    assert.ok(acl.Properties.Rules.some((r: Json) => r.Statement.RateBasedStatement?.Limit === 2000));
    t.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', { ResourceArn: Match.anyValue() });
  });

  test('GIVEN every stage THEN no load balancer is internet-facing: each sits in the app subnets behind a VPC origin', () => {
    for (const stage of ['dev', 'prod'] as const) {
      for (const stack of Object.values(platform(stage))) {
        for (const [id, lb] of resourcesOf(template(stack), 'AWS::ElasticLoadBalancingV2::LoadBalancer')) {
          assert.equal(lb.Properties.Scheme, 'internal', `${stack.stackName} ${id} is reachable from the internet`);
          for (const subnet of lb.Properties.Subnets) assert.match(JSON.stringify(subnet), /VpcappSubnet/, id);
        }
      }
    }
  });

  test('GIVEN every CloudFront origin THEN it is a VPC origin on one of the stage balancers, not a public address', () => {
    for (const stage of ['dev', 'prod'] as const) {
      const t = template(platform(stage).edge);
      const [[, d]] = resourcesOf(t, 'AWS::CloudFront::Distribution') as [[string, Json]];
      const vpcOrigins = resourcesOf(t, 'AWS::CloudFront::VpcOrigin');
      assert.equal(vpcOrigins.length, 2, `${stage}: one VPC origin per tier`);
      for (const origin of d.Properties.DistributionConfig.Origins) {
        assert.equal(origin.CustomOriginConfig, undefined, `${origin.Id} is a public custom origin`);
        const id = origin.VpcOriginConfig?.VpcOriginId?.['Fn::GetAtt']?.[0];
        assert.ok(
          vpcOrigins.some(([vid]) => vid === id),
          `${origin.Id} names a VPC origin of the stack`,
        );
      }
      for (const [, v] of vpcOrigins) {
        assert.match(JSON.stringify(v.Properties.VpcOriginEndpointConfig.Arn), /(Web|Api)Alb/, 'an ALB of the stage');
      }
    }
  });

  test('the only functions in the cross-region stacks are the CDK cross-region reference providers', () => {
    for (const stack of [platform('prod').firewall, platform('prod').edge, platform('prod').edgeAlarms]) {
      for (const [id] of resourcesOf(template(stack), 'AWS::Lambda::Function')) {
        assert.match(id, /^CustomCrossRegionExport(Writer|Reader)CustomResourceProvider/);
      }
    }
  });
});

describe('security groups', () => {
  const sgs = () => template(platform('prod').network);
  const all = (stage: 'dev' | 'prod') => Object.values(platform(stage)).map((stack) => template(stack));

  test('no security group admits 0.0.0.0/0 or ::/0: the ALBs admit only the CloudFront origin-facing prefix list', () => {
    for (const stage of ['dev', 'prod'] as const) {
      for (const t of all(stage)) {
        for (const [, sg] of resourcesOf(t, 'AWS::EC2::SecurityGroup')) {
          for (const rule of sg.Properties.SecurityGroupIngress ?? []) {
            assert.notEqual(rule.CidrIp, '0.0.0.0/0');
            assert.notEqual(rule.CidrIpv6, '::/0');
          }
        }
        for (const [, rule] of resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')) {
          assert.notEqual(rule.Properties.CidrIp, '0.0.0.0/0');
          assert.notEqual(rule.Properties.CidrIpv6, '::/0');
        }
      }
    }
    for (const alb of ['WebAlb', 'ApiAlb']) {
      sgs().hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: 80,
        ToPort: 80,
        SourcePrefixListId: 'pl-4fa04526',
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^SecurityGroups${alb}`), 'GroupId'] },
      });
    }
  });

  test('the ALBs reach the tasks on 3000 (traffic) and 9100 (health check)', () => {
    for (const port of [3000, 9100]) {
      sgs().hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: port,
        ToPort: port,
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecurityGroupsApiTasks'), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecurityGroupsApiAlb'), 'GroupId'] },
      });
    }
  });

  test('the database accepts 5432 from the api tasks and the API user secret rotation, and from nothing else', () => {
    const rules: Json[] = [];
    for (const t of all('prod')) {
      for (const [, r] of resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')) {
        if (JSON.stringify(r.Properties.GroupId).includes('SecurityGroupsDatabase')) rules.push(r.Properties);
      }
      for (const [id, sg] of resourcesOf(t, 'AWS::EC2::SecurityGroup')) {
        if (id.startsWith('SecurityGroupsDatabase')) assert.equal(sg.Properties.SecurityGroupIngress, undefined);
      }
    }
    assert.equal(rules.length, 2);
    for (const rule of rules) assert.deepEqual([rule.FromPort, rule.ToPort], [5432, 5432]);
    assert.deepEqual(
      rules.map((r) => /SecurityGroups(ApiTasks|SecretRotation)/.exec(JSON.stringify(r.SourceSecurityGroupId))?.[1]),
      ['ApiTasks', 'SecretRotation'],
    );
  });

  test('nothing opens SSH, RDP or a bastion: no instances and no ingress on 22 or 3389', () => {
    for (const t of all('prod')) {
      t.resourceCountIs('AWS::EC2::Instance', 0);
      for (const [, r] of resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')) {
        assert.ok(![22, 3389].includes(r.Properties.FromPort));
      }
    }
  });
});

describe('observability', () => {
  test('every log group in every stack has a retention and a KMS key', () => {
    for (const stage of ['dev', 'prod'] as const) {
      for (const stack of Object.values(platform(stage))) {
        for (const [id, group] of resourcesOf(template(stack), 'AWS::Logs::LogGroup')) {
          assert.ok(group.Properties.RetentionInDays, `${stack.stackName}/${id} retention`);
          assert.ok(group.Properties.KmsKeyId, `${stack.stackName}/${id} encryption`);
        }
      }
    }
    const t = template(platform('dev').telemetry);
    for (const name of ['web', 'api', 'migrate', 'exec']) {
      t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/tier/dev/${name}`, RetentionInDays: 365 });
    }
  });

  test('alarms go to a KMS-encrypted SNS topic with the configured e-mail subscription', () => {
    const t = template(platform('prod').telemetry);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('access-log buckets block public access and require TLS', () => {
    const t = template(platform('prod').telemetry);
    t.resourceCountIs('AWS::S3::Bucket', 3);
    t.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  test('there is a dashboard per tier, for the database and for the edge, with the agreed widgets', () => {
    const t = template(platform('prod').monitoring);
    const dashboards = resourcesOf(t, 'AWS::CloudWatch::Dashboard');
    const names = dashboards.map(([, d]) => d.Properties.DashboardName).sort();
    assert.deepEqual(names, ['tier-prod-api', 'tier-prod-db', 'tier-prod-edge', 'tier-prod-web']);
    const body = JSON.stringify(dashboards.map(([, d]) => d.Properties.DashboardBody));
    for (const needle of [
      'RequestCount',
      'HTTPCode_Target_5XX_Count',
      'HTTPCode_Target_4XX_Count',
      'p99',
      'HealthyHostCount',
      'MemoryUtilization',
      'DatabaseConnections',
      'ReadLatency',
      'FreeStorageSpace',
      'CacheHitRate',
    ]) {
      assert.ok(body.includes(needle), needle);
    }
  });
});

describe('pipeline access', () => {
  test("each stage's pipeline role trusts only its GitHub environment and assumes only its own bootstrap roles", () => {
    // GIVEN both stages WHEN synthesized THEN the trust names exactly the stage's environment (no branch, no PR)
    for (const stage of ['dev', 'prod'] as const) {
      const { pipeline, account } = loadStageConfig(stage);
      const t = template(platform(stage).access);
      t.hasResourceProperties('AWS::IAM::Role', {
        RoleName: `tier-${stage}-github-deploy`,
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: {
                  'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
                  'token.actions.githubusercontent.com:sub': `repo:${pipeline.githubRepo}:environment:${pipeline.githubEnvironment}`,
                },
              },
            }),
          ],
        },
      });
      t.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'DeployThroughOwnBootstrapRoles',
              Resource: Match.arrayWith([
                `arn:aws:iam::${account}:role/cdk-${pipeline.bootstrapQualifier}-deploy-role-${account}-${platform(stage).services.region}`,
              ]),
            }),
          ]),
        },
      });
      assert.doesNotMatch(JSON.stringify(t.toJSON()), /cdk-hnb659fds-/, 'no role of the shared default bootstrap');
      t.resourceCountIs('AWS::IAM::User', 0);
      t.resourceCountIs('AWS::IAM::AccessKey', 0);
    }
    template(platform('dev').access).resourceCountIs('AWS::IAM::OIDCProvider', 1);
  });

  test('prod reuses the account OIDC provider instead of creating a second one', () => {
    template(platform('prod').access).resourceCountIs('AWS::IAM::OIDCProvider', 0);
  });
});
