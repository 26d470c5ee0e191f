// Assembles one stage of the platform: which stacks exist, in which region, and what flows between them.
import { type App, DefaultStackSynthesizer, Tags } from 'aws-cdk-lib';
import type { StackConcern } from '../../../packages/contract/src/index.js';
import { parseVaultArn, type StageConfig } from '../config/index.js';
import { PipelineAccessStack, pipelineRoleName } from './access/pipeline-access-stack.js';
import { BackupCopyStack } from './data/backup-copy-stack.js';
import { DataStack } from './data/data-stack.js';
import { EdgeStack } from './edge/edge-stack.js';
import { FirewallStack } from './edge/firewall-stack.js';
import { EdgeAlarmsStack } from './monitoring/edge-alarms-stack.js';
import { MonitoringStack } from './monitoring/monitoring-stack.js';
import { NetworkStack } from './network/network-stack.js';
import { RegistryStack } from './registry/registry-stack.js';
import { ServicesStack } from './services/services-stack.js';
import { acknowledge, guard } from './shared/acknowledge.js';
import { emitOutputs, logBucketName, stackName } from './shared/naming.js';
import { TelemetryStack } from './telemetry/telemetry-stack.js';

export interface Platform {
  readonly network: NetworkStack;
  readonly telemetry: TelemetryStack;
  readonly data: DataStack;
  readonly registry: RegistryStack;
  readonly services: ServicesStack;
  readonly firewall: FirewallStack;
  readonly edge: EdgeStack;
  readonly monitoring: MonitoringStack;
  readonly edgeAlarms: EdgeAlarmsStack;
  /** The cross-region copy vault, when the stage copies its recovery points. */
  readonly backupCopy?: BackupCopyStack;
  readonly access: PipelineAccessStack;
}

export function buildPlatform(app: App, config: StageConfig): Platform {
  const env = { account: config.account, region: config.region };
  const props = (concern: StackConcern, description: string) => ({
    env,
    config,
    // The stage's own bootstrap (cdk bootstrap --qualifier): its deploy roles are not shared with another stage.
    synthesizer: new DefaultStackSynthesizer({ qualifier: config.pipeline.bootstrapQualifier }),
    stackName: stackName(config.stage, concern),
    description: `tier ${config.stage}: ${description}`,
  });

  const network = new NetworkStack(app, 'Network', {
    ...props('network', 'VPC, subnets, NAT, flow logs, security groups'),
    cloudFrontPrefixListId: config.edge.originFacingPrefixListId,
  });
  const telemetry = new TelemetryStack(app, 'Telemetry', {
    ...props('telemetry', 'log groups, access-log buckets, alarm topic (stateful)'),
    terminationProtection: true,
  });
  const data = new DataStack(app, 'Data', {
    ...props('data', 'PostgreSQL and AWS Backup (stateful)'),
    vpc: network.vpc,
    databaseSecurityGroup: network.securityGroups.database,
    rotationSecurityGroup: network.securityGroups.secretRotation,
  });
  // The copy vault exists before the plan that copies into it (prod: another region, same account).
  const copyTarget = config.backup.copyToVaultArn ? parseVaultArn(config.backup.copyToVaultArn) : undefined;
  const backupCopy = copyTarget
    ? new BackupCopyStack(app, 'BackupCopy', {
        ...props('backup-copy', `cross-region copy vault in ${copyTarget.region} (stateful)`),
        env: { account: config.account, region: copyTarget.region },
      })
    : undefined;
  if (backupCopy) data.addStackDependency(backupCopy, 'the backup plan copies into this vault');
  const registry = new RegistryStack(app, 'Registry', props('registry', 'ECR repositories (stateful)'));
  const services = new ServicesStack(app, 'Services', {
    ...props('services', 'ECS cluster, web and api services, ALBs, migrations'),
    vpc: network.vpc,
    securityGroups: network.securityGroups,
    telemetry,
    database: data.database.instance,
    databaseSecret: data.database.secret,
    apiUserSecret: data.database.apiUserSecret,
    databaseKeyArn: data.key.keyArn,
    repositories: registry.repositories,
    pipelineRoleName: pipelineRoleName(config.stage),
  });
  // CLOUDFRONT-scope WAF exists only in us-east-1; its ARN reaches the edge stack as a cross-region reference.
  const firewall = new FirewallStack(app, 'Firewall', {
    ...props('firewall', 'WAF web ACL for CloudFront'),
    env: { account: config.account, region: 'us-east-1' },
    crossRegionReferences: true,
  });
  const edge = new EdgeStack(app, 'Edge', {
    ...props('edge', 'CloudFront distribution'),
    crossRegionReferences: true,
    webLoadBalancer: services.web.loadBalancer,
    apiLoadBalancer: services.api.loadBalancer,
    originVerifySecret: services.originVerifySecret,
    webAclArn: firewall.webAcl.attrArn,
    logBucketName: logBucketName(config.stage, 'cloudfront', config.account, config.region),
  });
  edge.addStackDependency(telemetry, 'the CloudFront log bucket must exist');
  // CloudFront and WAF metrics exist only in us-east-1, so their alarms and a topic live there.
  const edgeAlarms = new EdgeAlarmsStack(app, 'EdgeAlarms', {
    ...props('edge-alarms', 'CloudFront and WAF alarms with their topic (us-east-1)'),
    env: { account: config.account, region: 'us-east-1' },
    crossRegionReferences: true,
    distributionId: edge.distribution.distributionId,
    webAclMetricName: firewall.webAclMetricName,
  });
  if (config.region !== 'us-east-1') {
    // The cross-region reference functions are created while the app is prepared, after constructors run, so
    // they can only be acknowledged on their stack; they are the only functions there (asserted by the tests).
    for (const stack of [firewall, edge, edgeAlarms]) {
      acknowledge(
        stack,
        'Only CDK cross-region reference functions live here (WAF ACL ARN us-east-1 -> stage region, distribution id stage region -> us-east-1, via SSM parameters); they call only the SSM API and need no VPC.',
        guard('lambda_inside_vpc_check'),
      );
    }
  }
  const monitoring = new MonitoringStack(app, 'Monitoring', {
    ...props('monitoring', 'dashboards, tier and database alarms, backup job notifications'),
    tiers: { web: services.web, api: services.api },
    clusterName: services.cluster.clusterName,
    database: data.database.instance,
    distributionId: edge.distribution.distributionId,
    alarmTopic: telemetry.alarmTopic,
  });
  // Every stack the stage deploys, apart from the pipeline's own access stack.
  const deployed = {
    network,
    telemetry,
    data,
    registry,
    services,
    firewall,
    edge,
    monitoring,
    edgeAlarms,
    ...(backupCopy ? { backupCopy } : {}),
  };
  const deployRegions = [...new Set(Object.values(deployed).map((s) => s.region))];
  const access = new PipelineAccessStack(app, 'PipelineAccess', {
    ...props('pipeline-access', 'the GitHub OIDC pipeline role and the operator role of the stage'),
    deployRegions,
  });
  services.addStackDependency(access, 'the services stack attaches the deploy grants to the pipeline role');

  emitOutputs(telemetry, config.stage, 'telemetry', {
    WebLogGroupName: telemetry.logGroups.web.logGroupName,
    ApiLogGroupName: telemetry.logGroups.api.logGroupName,
    MigrateLogGroupName: telemetry.logGroups.migrate.logGroupName,
    ExecLogGroupName: telemetry.logGroups.exec.logGroupName,
    AlarmTopicArn: telemetry.alarmTopic.topicArn,
  });
  emitOutputs(data, config.stage, 'data', {
    DbInstanceId: data.database.instance.instanceIdentifier,
    DbEndpoint: data.database.instance.dbInstanceEndpointAddress,
    DbSecretArn: data.database.secret.secretArn,
    BackupVaultName: data.backup.vault.backupVaultName,
    BackupPlanId: data.backup.plan.backupPlanId,
    // `tier backup now` starts on-demand jobs with the role the plan's selection uses.
    BackupRoleArn: data.backup.role.roleArn,
    // How long an on-demand recovery point is kept: the daily rule's retention, which is also the vault lock's
    // minimum (a shorter one is refused there, none at all could never be deleted under a compliance lock).
    BackupRetentionDays: String(config.backup.dailyRetentionDays),
  });
  emitOutputs(registry, config.stage, 'registry', {
    WebRepositoryUri: registry.repositories.web.repositoryUri,
    ApiRepositoryUri: registry.repositories.api.repositoryUri,
  });

  const stacks = { ...deployed, access };
  for (const stack of Object.values(stacks)) {
    Tags.of(stack).add('app', 'tier');
    Tags.of(stack).add('stage', config.stage);
  }
  return stacks;
}
