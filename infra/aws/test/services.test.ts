// Specification of the services stack: cluster, Fargate services, ALBs, health checks, rollout safety, migrations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { type Json, platform, resourcesOf, template } from './support/platform.js';

const services = () => template(platform('prod').services);
const devServices = () => template(platform('dev').services);

describe('services', () => {
  test('the cluster has Container Insights on', () => {
    services().hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  test('web and api run on Fargate with at least 2 tasks, ECS Exec off, in private subnets without public IPs', () => {
    for (const t of [services(), devServices()]) {
      const svcs = resourcesOf(t, 'AWS::ECS::Service');
      assert.equal(svcs.length, 2);
      for (const [, svc] of svcs) {
        assert.equal(svc.Properties.LaunchType, 'FARGATE');
        // GIVEN autoscaling owns the count THEN no DesiredCount that every update would reset
        assert.equal(svc.Properties.DesiredCount, undefined);
        // GIVEN read-only root filesystems and images without a shell THEN ECS Exec cannot work: it is off.
        assert.equal(svc.Properties.EnableExecuteCommand, false);
        assert.equal(svc.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED');
        // One subnet per AZ: Fargate spreads the tasks over them.
        assert.ok(svc.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.length >= 2);
      }
    }
  });

  test('deployments keep 100% healthy, surge to 200%, and roll back on the circuit breaker and on alarms', () => {
    services().hasResourceProperties('AWS::ECS::Service', {
      ServiceName: 'tier-prod-api',
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        Alarms: {
          Enable: true,
          Rollback: true,
          AlarmNames: [
            { Ref: Match.stringLikeRegexp('^ApiErrorRateAlarm') },
            { Ref: Match.stringLikeRegexp('^ApiLatencyAlarm') },
            { Ref: Match.stringLikeRegexp('^ApiUnhealthyTargetsAlarm') },
          ],
        },
      },
    });
    for (const name of ['5xx-rate', 'p99-latency', 'unhealthy-targets']) {
      services().hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `tier-prod-web-${name}`,
        AlarmActions: [Match.anyValue()],
      });
    }
  });

  test('target groups check /readyz on the admin port 9100 and deregister within ~10 s', () => {
    const groups = resourcesOf(services(), 'AWS::ElasticLoadBalancingV2::TargetGroup');
    assert.equal(groups.length, 4, 'two per tier: ECS blue/green swaps them');
    for (const [, tg] of groups) {
      assert.equal(tg.Properties.Port, 3000);
      assert.equal(tg.Properties.HealthCheckPath, '/readyz');
      assert.equal(tg.Properties.HealthCheckPort, '9100');
      assert.deepEqual(
        tg.Properties.TargetGroupAttributes.find(
          (a: { Key: string }) => a.Key === 'deregistration_delay.timeout_seconds',
        ),
        { Key: 'deregistration_delay.timeout_seconds', Value: '10' },
      );
    }
  });

  test('each tier has its own internal ALB with access logs, invalid headers dropped and deletion protection', () => {
    const albs = resourcesOf(services(), 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    assert.equal(albs.length, 2);
    for (const [, alb] of albs) {
      assert.equal(alb.Properties.Scheme, 'internal');
      const attrs = Object.fromEntries(
        alb.Properties.LoadBalancerAttributes.map((a: { Key: string; Value: string }) => [a.Key, a.Value]),
      );
      assert.equal(attrs['access_logs.s3.enabled'], 'true');
      assert.equal(attrs['access_logs.s3.bucket'], 'tier-prod-alb-logs-111111111111-eu-west-1');
      assert.equal(attrs['routing.http.drop_invalid_header_fields.enabled'], 'true');
      assert.equal(attrs['deletion_protection.enabled'], 'true');
    }
  });

  test('listeners answer 403 unless the secret origin header from Secrets Manager is present', () => {
    services().hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [
        Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '403' }) }),
      ],
    });
    services().hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [
        {
          Field: 'http-header',
          HttpHeaderConfig: {
            HttpHeaderName: 'X-Origin-Verify',
            Values: [{ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^\\{\\{resolve:secretsmanager:')])] }],
          },
        },
      ],
    });
  });

  test('autoscaling tracks CPU and ALB requests per target between the configured bounds', () => {
    services().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 3,
      MaxCapacity: 12,
    });
    services().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 55,
      }),
    });
    services().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        CustomizedMetricSpecification: {
          Metrics: Match.arrayWith([Match.objectLike({ Expression: 'FILL(primary, 0) + FILL(alternate, 0)' })]),
        },
        TargetValue: 800,
      }),
    });
  });

  test('containers run read-only as a non-root user, stop within 30 s and expose 3000 and 9100', () => {
    for (const [, td] of resourcesOf(services(), 'AWS::ECS::TaskDefinition')) {
      for (const c of td.Properties.ContainerDefinitions) {
        assert.equal(c.ReadonlyRootFilesystem, true, `${c.Name} read-only root`);
        assert.equal(c.User, '1000:1000', `${c.Name} non-root`);
        assert.equal(c.StopTimeout, 30);
        if (!['migrate', 'admin', 'restore-check'].includes(c.Name)) {
          assert.deepEqual(
            c.PortMappings.map((p: { ContainerPort: number }) => p.ContainerPort),
            [3000, 9100],
          );
        }
      }
    }
  });

  test('no task definition carries a secret in plain environment variables; the migration gets its users as ECS secrets', () => {
    for (const [, td] of resourcesOf(services(), 'AWS::ECS::TaskDefinition')) {
      for (const c of td.Properties.ContainerDefinitions) {
        for (const env of c.Environment ?? []) {
          assert.doesNotMatch(env.Name, /PASS|SECRET|TOKEN|KEY/i, `${c.Name} env ${env.Name}`);
          assert.doesNotMatch(JSON.stringify(env.Value), /resolve:secretsmanager/, `${c.Name} env ${env.Name}`);
        }
      }
    }
    services().hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'tier-prod-migrate',
      ContainerDefinitions: [
        Match.objectLike({
          Secrets: ['DBUSER', 'DBPASS', 'APP_DBUSER', 'APP_DBPASS'].map((Name) =>
            Match.objectLike({ Name, ValueFrom: Match.anyValue() }),
          ),
        }),
      ],
    });
  });

  test('GIVEN the rotated API user secret WHEN the api task starts THEN it gets the secret ARN, not a password', () => {
    const stack = platform('prod').services;
    const [, api] = resourcesOf(services(), 'AWS::ECS::TaskDefinition').find(
      ([, td]) => td.Properties.Family === 'tier-prod-api',
    )!;
    const container = api.Properties.ContainerDefinitions[0];
    assert.equal(container.Secrets, undefined, 'no password injected once at task start');
    const arn = container.Environment.find((e: { Name: string }) => e.Name === 'DBCREDENTIALS_ARN');
    assert.ok(arn, 'DBCREDENTIALS_ARN is set');
    assert.deepEqual(arn.Value, stack.resolve(platform('prod').data.database.apiUserSecret.secretArn));
    assert.ok(!container.Environment.some((e: { Name: string }) => e.Name === 'DBUSER'), 'the secret names the user');
  });

  test('the api task role may read exactly the API user secret, and decrypt it only through Secrets Manager', () => {
    const p = platform('prod');
    const role = p.services.resolve(p.services.api.taskDefinition.taskRole.roleArn);
    const roleRef = { Ref: role['Fn::GetAtt'][0] };
    const secretArn = p.services.resolve(p.data.database.apiUserSecret.secretArn);
    const statements = resourcesOf(services(), 'AWS::IAM::Policy')
      .filter(([, policy]) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([roleRef]))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    const reads = statements.filter((st: Json) =>
      [st.Action].flat().some((a: string) => a.startsWith('secretsmanager:')),
    );
    assert.deepEqual(
      reads.map((st: Json) => ({ Action: st.Action, Resource: st.Resource })),
      [{ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: secretArn }],
    );
    // The secret's CMK is the data stack's key (imported into this stack).
    const dataKey = resourcesOf(services(), 'AWS::IAM::Policy')
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
      .find((st: Json) => st.Sid === 'DecryptApiUserSecret')?.Resource;
    const decrypt = statements.filter(
      (st: Json) =>
        [st.Action].flat().includes('kms:Decrypt') && JSON.stringify(st.Resource) === JSON.stringify(dataKey),
    );
    assert.match(JSON.stringify(dataKey), /tier-prod-data:ExportsOutputFnGetAttDataKey/);
    assert.deepEqual(
      decrypt.map((st: Json) => st.Condition),
      [{ StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } }],
    );
  });

  test('GIVEN ECS Exec cannot run THEN the operator has a one-off admin task: api image, read-only, owner login, audited log', () => {
    const [, admin] = resourcesOf(services(), 'AWS::ECS::TaskDefinition').find(
      ([, td]) => td.Properties.Family === 'tier-prod-admin',
    )!;
    const [c] = admin.Properties.ContainerDefinitions;
    assert.deepEqual(c.Command, ['node', 'apps/api/dist/inspect.js'], 'a read-only inspection by default');
    assert.equal(c.ReadonlyRootFilesystem, true);
    assert.deepEqual(
      c.Secrets.map((x: { Name: string }) => x.Name),
      ['DBUSER', 'DBPASS'],
      "the owner's login only, not the API user's",
    );
    assert.match(JSON.stringify(c.LogConfiguration), /ExecLogGroup|exec/i, 'logs to the exec (audit) log group');
    const p = platform('prod');
    assert.deepEqual(
      p.services.resolve(c.LogConfiguration.Options['awslogs-group']),
      p.services.resolve(p.telemetry.logGroups.exec.logGroupName),
    );
    for (const [, svc] of resourcesOf(services(), 'AWS::ECS::Service'))
      assert.notEqual(
        svc.Properties.TaskDefinition.Ref,
        p.services.getLogicalId(p.services.adminTask.node.defaultChild as never),
      );
  });

  test('the pipeline role may run the migration task but not the admin task', () => {
    const runs = resourcesOf(services(), 'AWS::IAM::Policy')
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
      .filter((st: Json) => [st.Action].flat().includes('ecs:RunTask'));
    assert.match(JSON.stringify(runs), /task-definition\/tier-prod-migrate:\*/);
    assert.doesNotMatch(JSON.stringify(runs), /tier-prod-admin/);
  });

  test('a one-off migration task runs node apps/api/dist/migrate.js from the api image', () => {
    services().hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'tier-prod-migrate',
      ContainerDefinitions: [Match.objectLike({ Command: ['node', 'apps/api/dist/migrate.js'] })],
    });
  });

  test('images come from the stage ECR repositories, which scan on push and have immutable tags', () => {
    template(platform('prod').registry).hasResourceProperties('AWS::ECR::Repository', {
      ImageScanningConfiguration: { ScanOnPush: true },
      ImageTagMutability: 'IMMUTABLE',
    });
  });

  test('each tier runs the tag in its SSM parameter, resolved at every deployment, and reports it as APP_VERSION', () => {
    // GIVEN the registry stack holds /tier/<stage>/image/<tier> WHEN the services stack deploys
    // THEN image tag and APP_VERSION both come from that parameter (a template parameter CloudFormation re-reads)
    for (const tier of ['web', 'api'] as const) {
      template(platform('prod').registry).hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/tier/prod/image/${tier}`,
        Value: 'initial',
      });
    }
    const t = services().toJSON();
    const parameterOf = (tier: string) =>
      Object.entries(t.Parameters).find(
        ([, p]) => (p as { Default?: string }).Default === `/tier/prod/image/${tier}`,
      )?.[0];
    for (const [, td] of resourcesOf(services(), 'AWS::ECS::TaskDefinition')) {
      for (const c of td.Properties.ContainerDefinitions) {
        const tier = c.Name === 'web' ? 'web' : 'api';
        const param = parameterOf(tier);
        assert.ok(param, `a template parameter reads /tier/prod/image/${tier}`);
        assert.match(JSON.stringify(c.Image), new RegExp(`"Ref":"${param}"`), `${c.Name} image tag`);
        const version = c.Environment.find((e: { Name: string }) => e.Name === 'APP_VERSION');
        assert.deepEqual(version.Value, { Ref: param }, `${c.Name} APP_VERSION`);
      }
    }
  });

  test('the stack outputs what the CLI needs', () => {
    for (const name of [
      'ClusterName',
      'WebServiceName',
      'ApiServiceName',
      'WebAlbDnsName',
      'ApiAlbDnsName',
      'MigrationTaskDefinitionArn',
    ]) {
      services().hasOutput(name, Match.anyValue());
    }
    for (const name of ['DbInstanceId', 'BackupVaultName', 'BackupPlanId'])
      template(platform('prod').data).hasOutput(name, Match.anyValue());
    for (const name of ['WebLogGroupName', 'ApiLogGroupName'])
      template(platform('prod').telemetry).hasOutput(name, Match.anyValue());
    template(platform('prod').edge).hasOutput('DistributionDomainName', Match.anyValue());
  });
});
