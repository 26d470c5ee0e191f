// Specification of the network and data stacks: subnets, NAT, flow logs, database, backups.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { type Json, platform, resourcesOf, template } from './support/platform.js';

describe('network', () => {
  test('dev spans 2 AZs with public, private-with-egress and isolated subnets and one NAT gateway', () => {
    const t = template(platform('dev').network);
    t.resourceCountIs('AWS::EC2::Subnet', 6);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    for (const name of ['public', 'app', 'data']) {
      t.hasResourceProperties('AWS::EC2::Subnet', {
        Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-name', Value: name }]),
      });
    }
  });

  test('prod spans 3 AZs with a NAT gateway in each', () => {
    const t = template(platform('prod').network);
    t.resourceCountIs('AWS::EC2::Subnet', 9);
    t.resourceCountIs('AWS::EC2::NatGateway', 3);
  });

  test('public subnets do not hand out public IPs', () => {
    const t = template(platform('dev').network);
    for (const [, subnet] of resourcesOf(t, 'AWS::EC2::Subnet')) {
      assert.notEqual(subnet.Properties.MapPublicIpOnLaunch, true);
    }
  });

  test('all VPC traffic is recorded in flow logs to an encrypted log group', () => {
    const t = template(platform('dev').network);
    t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: Match.anyValue() });
  });

  test('S3 is reached through a gateway endpoint', () => {
    template(platform('dev').network).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.s3'])]) }),
    });
  });
});

describe('data', () => {
  test("the API user's secret is generated for tier_api with the master secret's ARN, encrypted with the data key", () => {
    const p = platform('prod');
    const t = template(p.data);
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: p.data.resolve(p.data.key.keyArn),
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }),
    });
    // The template joins the master secret's ARN (known at deploy time) into the JSON.
    const secret = resourcesOf(t, 'AWS::SecretsManager::Secret')[0]?.[1];
    const joined = JSON.stringify(secret?.Properties.GenerateSecretString.SecretStringTemplate);
    assert.match(joined, /\\"username\\":\\"tier_api\\"/);
    assert.match(joined, /\\"masterarn\\":\\"/);
    assert.ok(joined.includes(JSON.stringify(p.data.resolve(p.data.database.secret.secretArn))));
  });

  test('GIVEN the API user secret THEN it rotates every 30 days alternating two users, logging in as the master', () => {
    const p = platform('prod');
    const t = template(p.data);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: Match.anyValue(),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      HostedRotationLambda: Match.objectLike({
        RotationType: 'PostgreSQLMultiUser',
        MasterSecretArn: p.data.resolve(p.data.database.secret.secretArn),
        VpcSecurityGroupIds: p.data.resolve(p.network.securityGroups.secretRotation.securityGroupId),
        VpcSubnetIds: Match.anyValue(),
      }),
    });
  });

  test('the rotation function reaches PostgreSQL through its own security group, on the database port only', () => {
    const p = platform('prod');
    template(p.network).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: p.network.resolve(p.network.securityGroups.database.securityGroupId),
      SourceSecurityGroupId: p.network.resolve(p.network.securityGroups.secretRotation.securityGroupId),
      FromPort: 5432,
      ToPort: 5432,
      IpProtocol: 'tcp',
    });
  });

  test('the database is PostgreSQL 17, encrypted with a customer managed key, in isolated subnets, not public', () => {
    const t = template(platform('prod').data);
    t.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: Match.stringLikeRegexp('^17'),
      StorageEncrypted: true,
      KmsKeyId: Match.anyValue(),
      PubliclyAccessible: false,
      DBSubnetGroupName: Match.anyValue(),
    });
    for (const [, group] of resourcesOf(t, 'AWS::RDS::DBSubnetGroup')) {
      for (const id of group.Properties.SubnetIds) assert.match(id['Fn::ImportValue'], /VpcdataSubnet/);
    }
  });

  test('prod is Multi-AZ with 35 days of point-in-time recovery; dev is single-AZ with 7', () => {
    template(platform('prod').data).hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: true,
      BackupRetentionPeriod: 35,
      DeletionProtection: true,
    });
    const dev = template(platform('dev').data);
    dev.hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: false,
      BackupRetentionPeriod: 7,
      DeletionProtection: true,
    });
    dev.resourceCountIs('AWS::RDS::DBInstance', 1);
  });

  test('credentials are generated into Secrets Manager and rotated by RDS, encrypted with the data key', () => {
    const t = template(platform('dev').data);
    t.hasResourceProperties('AWS::RDS::DBInstance', {
      ManageMasterUserPassword: true,
      MasterUserSecret: { KmsKeyId: Match.anyValue() },
      MasterUserPassword: Match.absent(),
    });
  });

  test('TLS is required through rds.force_ssl', () => {
    template(platform('dev').data).hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres17',
      Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
    });
  });

  test('Performance Insights, log exports and IAM authentication are on', () => {
    template(platform('prod').data).hasResourceProperties('AWS::RDS::DBInstance', {
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: Match.anyValue(),
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      EnableIAMDatabaseAuthentication: true,
    });
  });

  test('the data stack is termination protected and its keys rotate', () => {
    const data = platform('prod').data;
    assert.equal(data.terminationProtection, true);
    template(data).allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the database carries the backup=daily tag the backup plan selects on', () => {
    template(platform('dev').data).hasResourceProperties('AWS::RDS::DBInstance', {
      Tags: Match.arrayWith([{ Key: 'backup', Value: 'daily' }]),
    });
    template(platform('dev').data).hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: Match.objectLike({
        ListOfTags: [{ ConditionType: 'STRINGEQUALS', ConditionKey: 'backup', ConditionValue: 'daily' }],
      }),
    });
  });

  test('the backup vault is encrypted with a customer managed key', () => {
    template(platform('dev').data).hasResourceProperties('AWS::Backup::BackupVault', {
      EncryptionKeyArn: Match.anyValue(),
    });
  });

  test('the backup plan runs at least daily and keeps weekly and monthly points longer', () => {
    const t = template(platform('prod').data);
    const [[, plan]] = resourcesOf(t, 'AWS::Backup::BackupPlan') as [[string, { Properties: Json }]];
    const rules = plan.Properties.BackupPlan.BackupPlanRule as Array<{
      RuleName: string;
      ScheduleExpression: string;
      Lifecycle: { DeleteAfterDays: number };
      CopyActions?: unknown[];
    }>;
    const daily = rules.find((r) => r.RuleName === 'daily');
    assert.ok(daily, 'a rule named daily');
    // cron(min hour day-of-month month day-of-week year): every day of every month.
    assert.match(daily.ScheduleExpression, /^cron\(\d+ \d+ \* \* \? \*\)$/);
    const weekly = rules.find((r) => r.RuleName === 'weekly');
    const monthly = rules.find((r) => r.RuleName === 'monthly');
    assert.ok(weekly && monthly);
    assert.ok(weekly.Lifecycle.DeleteAfterDays > daily.Lifecycle.DeleteAfterDays);
    assert.ok(monthly.Lifecycle.DeleteAfterDays > weekly.Lifecycle.DeleteAfterDays);
    assert.equal(daily.CopyActions?.length, 1, 'prod copies daily points to another region');
  });
});
