// The application tiers of one stage: ECS cluster (Container Insights, audited ECS Exec), web and api services, migrations.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { type LiveDatabaseField, liveDatabaseParameter } from '../../../../packages/contract/src/index.js';
import type { StageConfig } from '../../config/index.js';
import { DATA_DEFAULTS } from '../data/defaults.js';
import { RESTORE_CHECK } from '../data/restore-validation.js';
import type { SecurityGroupChain } from '../network/security-groups.js';
import { imageTagParameterName } from '../registry/registry-stack.js';
import { acknowledge } from '../shared/acknowledge.js';
import { createManagedKey } from '../shared/keys.js';
import { emitOutputs, logBucketName, type Tier } from '../shared/naming.js';
import type { TelemetryStack } from '../telemetry/telemetry-stack.js';
import { SERVICE_DEFAULTS } from './defaults.js';
import { PipelineGrants } from './pipeline-grants.js';
import { SmokeTest } from './smoke-test.js';
import { TierService } from './tier-service.js';

/** Repository root: the build context of apps/<tier>/Dockerfile (conventions.md). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface ServicesStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly securityGroups: SecurityGroupChain;
  readonly telemetry: TelemetryStack;
  readonly database: rds.DatabaseInstance;
  readonly databaseSecret: secretsmanager.ISecret;
  /** The API user's rotated secret: the api tasks read it per new connection, the migrate task provisions it. */
  readonly apiUserSecret: secretsmanager.ISecret;
  /** Key that encrypts both database secrets. */
  readonly databaseKeyArn: string;
  readonly repositories: Readonly<Record<Tier, ecr.IRepository>>;
  /** Name of the stage's pipeline role, granted exactly the rollout of these services. */
  readonly pipelineRoleName: string;
}

/** A one-off task of the api image that logs in as the database owner. */
interface OneOffTask {
  /** Family suffix and container name. */
  readonly name: string;
  readonly command: readonly string[];
  /** ECS secrets besides the owner's DBUSER/DBPASS. @default none */
  readonly secrets?: Readonly<Record<string, ecs.Secret>>;
  /** Who it logs in as, instead of the live owner's secret. @default the live owner (DBUSER/DBPASS secrets) */
  readonly login?: { readonly user: string; readonly password: ecs.Secret };
  readonly logGroup: logs.ILogGroup;
}

export class ServicesStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly web: TierService;
  readonly api: TierService;
  readonly migrationTask: ecs.FargateTaskDefinition;
  /** The operator's one-off task (ECS Exec cannot run in these containers). */
  readonly adminTask: ecs.FargateTaskDefinition;
  /** The admin task's data check as the restore tests run it, logged in to a restored copy (restore-validation.ts). */
  readonly restoreCheckTask: ecs.FargateTaskDefinition;
  /** Secret CloudFront sends to the ALBs; the edge stack reads the same value. */
  readonly originVerifySecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const { config, telemetry, securityGroups: sg } = props;
    const prefix = `tier-${config.stage}`;

    const key = createManagedKey(this, 'ServicesKey', {
      alias: `${prefix}-services`,
      description: `The CloudFront origin secret of ${prefix}`,
    });

    // No ECS Exec configuration: the services run with it off (tier-service.ts); operators use the admin task.
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: prefix,
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.originVerifySecret = new secretsmanager.Secret(this, 'OriginVerify', {
      description: `Header value CloudFront sends to the ${prefix} ALBs (${SERVICE_DEFAULTS.originVerifyHeader})`,
      encryptionKey: key,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    acknowledge(
      this.originVerifySecret,
      'The origin header value is rotated by an operator (put-secret-value, then cdk deploy of services and edge, see README); an automatic rotation would change it under CloudFront and lock out all traffic.',
      'AwsSolutions-SMG4',
      'NIST.800.53.R5-SecretsManagerRotationEnabled',
    );
    const originVerifyValue = this.originVerifySecret.secretValue.unsafeUnwrap();

    // The tag each tier runs is read from its SSM parameter at every deployment (a template parameter), so a
    // `cdk deploy` keeps the release `tier deploy` rolled out and the version the containers report matches it.
    const runningTag = (tier: Tier): string =>
      config.services.image.kind === 'ecr'
        ? ssm.StringParameter.valueForStringParameter(this, imageTagParameterName(config.stage, tier))
        : 'asset';
    const image = (tier: Tier): ecs.ContainerImage =>
      config.services.image.kind === 'ecr'
        ? ecs.ContainerImage.fromEcrRepository(props.repositories[tier], runningTag(tier))
        : ecs.ContainerImage.fromAsset(REPO_ROOT, {
            file: `apps/${tier}/Dockerfile`,
            buildArgs: { NODE_IMAGE: 'node:24-trixie-slim' },
            exclude: ['**/node_modules', '**/cdk.out', '.git', 'bench/results', 'docs/rendered'],
          });

    // Imported by ARN (without its key) so grants land in this stack's IAM policies, not in the data stack's
    // key policy: the stateful stack never depends on the services stack.
    // The live database (host, owner's secret) is configuration the data stack creates and `tier restore` switches.
    const liveDatabase = (field: LiveDatabaseField) =>
      ssm.StringParameter.valueForStringParameter(this, liveDatabaseParameter(config.stage, field));
    const dbSecret = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'DatabaseSecret',
      liveDatabase('master-secret-arn'),
    );
    const dbSecrets = {
      DBUSER: ecs.Secret.fromSecretsManager(dbSecret, 'username'),
      DBPASS: ecs.Secret.fromSecretsManager(dbSecret, 'password'),
    };
    const apiUserSecret = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'ApiUserSecret',
      props.apiUserSecret.secretArn,
    );
    const dbEnvironment = {
      APP_VERSION: runningTag('api'),
      DB: 'tier',
      DBHOST: liveDatabase('host'),
      DBPORT: props.database.dbInstanceEndpointPort,
      DBSSL: SERVICE_DEFAULTS.databaseSsl,
    };
    const common = {
      namePrefix: prefix,
      cluster: this.cluster,
      accessLogBucket: telemetry.albLogBucket,
      accessLogBucketName: logBucketName(config.stage, 'alb', config.account, config.region),
      alarmTopic: telemetry.alarmTopic,
      cpuTargetPercent: config.services.cpuTargetPercent,
      requestsPerTarget: config.services.requestsPerTarget,
    };

    this.api = new TierService(this, 'Api', {
      ...common,
      tier: 'api',
      image: image('api'),
      sizing: config.services.api,
      albSecurityGroup: sg.apiAlb,
      taskSecurityGroup: sg.apiTasks,
      // The secret's ARN, not its value: ECS would inject a value once at task start, and a rotation
      // would then fail the task's new connections; the API reads the secret per new connection.
      environment: { ...dbEnvironment, DBCREDENTIALS_ARN: apiUserSecret.secretArn },
      logGroup: telemetry.logGroups.api,
      // No origin header: the web tasks call this balancer too, and they do not hold CloudFront's secret. An internal
      // ALB is reachable only inside the VPC; its security group admits CloudFront's origin-facing addresses and
      // the web tasks, on the listener port only.
    });
    this.web = new TierService(this, 'Web', {
      ...common,
      tier: 'web',
      image: image('web'),
      sizing: config.services.web,
      albSecurityGroup: sg.webAlb,
      taskSecurityGroup: sg.webTasks,
      // Server-side calls go through the API's balancer, as locally (web -> api-lb -> api): its rollback alarms,
      // request-count scaling and access logs see every API request, not only those that came through CloudFront.
      environment: {
        APP_VERSION: runningTag('web'),
        API_HOST: `http://${this.api.loadBalancer.loadBalancerDnsName}`,
      },
      logGroup: telemetry.logGroups.web,
      originVerifyValue,
    });

    // One-off tasks with the api image, read-only, as the owner: the migration and the operator's admin task.
    const oneOffTask = (id: string, task: OneOffTask): ecs.FargateTaskDefinition => {
      const td = new ecs.FargateTaskDefinition(this, id, {
        family: `${prefix}-${task.name}`,
        cpu: 256,
        memoryLimitMiB: 512,
        runtimePlatform: {
          operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
          cpuArchitecture: ecs.CpuArchitecture.X86_64,
        },
      });
      td.addContainer(task.name, {
        containerName: task.name,
        image: image('api'),
        command: [...task.command],
        memoryLimitMiB: 512,
        readonlyRootFilesystem: true,
        user: '1000:1000',
        environment: {
          ...dbEnvironment,
          LOG_LEVEL: SERVICE_DEFAULTS.logLevel,
          ...(task.login ? { DBUSER: task.login.user } : {}),
        },
        secrets: { ...(task.login ? { DBPASS: task.login.password } : dbSecrets), ...task.secrets },
        logging: ecs.LogDrivers.awsLogs({ logGroup: task.logGroup, streamPrefix: task.name }),
        stopTimeout: SERVICE_DEFAULTS.stopTimeout,
      });
      acknowledge(
        td,
        'The environment holds only the non-secret database host, port and name; DBUSER/DBPASS come from Secrets Manager as ECS secrets.',
        'AwsSolutions-ECS2',
      );
      return td;
    };
    // Run by `tier deploy` before traffic shifts. The owner migrates; the API user's credentials are what it provisions.
    this.migrationTask = oneOffTask('MigrationTask', {
      name: 'migrate',
      command: ['node', 'apps/api/dist/migrate.js'],
      secrets: {
        APP_DBUSER: ecs.Secret.fromSecretsManager(apiUserSecret, 'username'),
        APP_DBPASS: ecs.Secret.fromSecretsManager(apiUserSecret, 'password'),
      },
      logGroup: telemetry.logGroups.migrate,
    });
    // Operator access: ECS Exec cannot work here (read-only root filesystem, no shell in the images; see
    // tier-service.ts), so an operator runs this task (aws ecs run-task, a command and DBHOST overridable) and reads
    // its output in the audit log group /tier/<stage>/exec. By default a read-only inspection of the database.
    this.adminTask = oneOffTask('AdminTask', {
      name: 'admin',
      command: ['node', 'apps/api/dist/inspect.js'],
      logGroup: telemetry.logGroups.exec,
    });

    // A restore test's copy keeps the snapshot's owner password, which the RDS-managed secret has since rotated
    // away from. The validation function gives the copy a throwaway password and writes it to a SecureString only
    // this task reads (RunTask cannot override secrets, only command and environment), so the live owner's
    // password never leaves its secret and this task can log in to no live database.
    const restoreCheckPassword = ssm.StringParameter.fromSecureStringParameterAttributes(this, 'RestoreCheckPassword', {
      parameterName: RESTORE_CHECK.passwordParameter(config.stage),
    });
    // The validation function's log group (data stack): one group holds a restore test's whole story.
    const restoreLogs = logs.LogGroup.fromLogGroupName(
      this,
      'RestoreValidationLogs',
      RESTORE_CHECK.logGroupName(config.stage),
    );
    this.restoreCheckTask = oneOffTask('RestoreCheckTask', {
      name: 'restore-check',
      command: ['node', 'apps/api/dist/inspect.js', 'verify'],
      login: { user: DATA_DEFAULTS.masterUsername, password: ecs.Secret.fromSsmParameter(restoreCheckPassword) },
      logGroup: restoreLogs,
    });
    this.restoreCheckTask.obtainExecutionRole().addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptRestoreCheckPassword',
        actions: ['kms:Decrypt'],
        resources: [props.databaseKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `ssm.${this.region}.amazonaws.com` } },
      }),
    );
    acknowledge(
      this.restoreCheckTask,
      'DBUSER is the owner name of every copy (not a secret); DBPASS comes from the SecureString the validation writes.',
      'AwsSolutions-ECS2',
    );
    acknowledge(
      this.restoreCheckTask.obtainExecutionRole(),
      'The awslogs driver writes log streams it names per task, in the one restore-validation log group.',
      `AwsSolutions-IAM5[Resource::${restoreLogs.logGroupArn}]`,
    );
    // The data stack's validation function (its role by name) may run exactly this task, in this cluster.
    const restoreCheckRevisions = `arn:${this.partition}:ecs:${this.region}:${this.account}:task-definition/${RESTORE_CHECK.taskFamily(config.stage)}:*`;
    const restoreCheckRunner = new iam.Policy(this, 'RestoreCheckRunner', {
      roles: [iam.Role.fromRoleName(this, 'RestoreValidationRole', RESTORE_CHECK.roleName(config.stage))],
      statements: [
        new iam.PolicyStatement({
          sid: 'RunRestoreCheck',
          actions: ['ecs:RunTask'],
          resources: [restoreCheckRevisions],
          conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          sid: 'PassRestoreCheckRoles',
          actions: ['iam:PassRole'],
          resources: [this.restoreCheckTask.taskRole.roleArn, this.restoreCheckTask.obtainExecutionRole().roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        }),
      ],
    });
    acknowledge(
      restoreCheckRunner,
      'The restore test runs the latest revision of this one family, bound to the stage cluster by ecs:cluster.',
      `AwsSolutions-IAM5[Resource::${restoreCheckRevisions}]`,
    );
    acknowledge(
      restoreCheckRunner,
      "The validation function's one grant that names this stack's resources (task family, task roles), kept beside them; attached to that role by name.",
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );

    // The managed secret is encrypted with the data key: decrypt only through Secrets Manager in this region.
    const decryptDbSecret = new iam.PolicyStatement({
      sid: 'DecryptDatabaseSecret',
      actions: ['kms:Decrypt'],
      resources: [props.databaseKeyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
    });
    for (const td of [this.migrationTask, this.adminTask, this.restoreCheckTask]) {
      if (td !== this.restoreCheckTask) td.obtainExecutionRole().addToPrincipalPolicy(decryptDbSecret);
      acknowledge(
        td.obtainExecutionRole(),
        'ecr:GetAuthorizationToken has no resource-level permissions; image pulls themselves are limited to the api repository.',
        'AwsSolutions-IAM5[Resource::*]',
      );
      acknowledge(
        td.obtainExecutionRole(),
        'CDK-generated least-privilege policy that belongs to this one role (its log group, the database secret); a managed policy could be attached elsewhere.',
        'NIST.800.53.R5-IAMNoInlinePolicy',
      );
    }
    // The api task itself (its task role, not the execution role) reads exactly the API user's secret.
    apiUserSecret.grantRead(this.api.taskDefinition.taskRole);
    this.api.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptApiUserSecret',
        actions: ['kms:Decrypt'],
        resources: [props.databaseKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
      }),
    );

    new SmokeTest(this, 'SmokeTest', {
      namePrefix: prefix,
      vpc: props.vpc,
      securityGroup: sg.smokeTests,
      logGroup: telemetry.logGroups['smoke-test'],
      tiers: { web: this.web, api: this.api },
    });

    new PipelineGrants(this, 'PipelineGrants', {
      roleName: props.pipelineRoleName,
      clusterName: prefix,
      serviceNames: [`${prefix}-web`, `${prefix}-api`],
      taskDefinitions: [this.web.taskDefinition, this.api.taskDefinition, this.migrationTask],
      runnableTask: this.migrationTask,
    });

    emitOutputs(this, config.stage, 'services', {
      ClusterName: this.cluster.clusterName,
      WebServiceName: this.web.service.serviceName,
      ApiServiceName: this.api.service.serviceName,
      WebAlbDnsName: this.web.loadBalancer.loadBalancerDnsName,
      ApiAlbDnsName: this.api.loadBalancer.loadBalancerDnsName,
      MigrationTaskDefinitionArn: this.migrationTask.taskDefinitionArn,
      MigrationSecurityGroupId: sg.apiTasks.securityGroupId,
      MigrationSubnetIds: props.vpc
        .selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS })
        .subnetIds.join(','),
    });
  }
}
