// The operator role of one stage: what `tier --target aws` and the admin task call, on this stage's resources only.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  LIVE_DATABASE_FIELDS,
  liveDatabaseParameter,
  restoreStateParameter,
} from '../../../../packages/contract/src/index.js';
import type { StageConfig } from '../../config/index.js';
import { imageTagParameterName } from '../registry/registry-stack.js';
import { acknowledge } from '../shared/acknowledge.js';
import { TIERS } from '../shared/naming.js';

/** Name of a stage's operator role. */
export function operatorRoleName(stage: string): string {
  return `tier-${stage}-operator`;
}

export interface OperatorAccessProps {
  readonly config: StageConfig;
}

/**
 * Every ARN is built from the stage's names (the services, data and telemetry stacks name their resources
 * `tier-<stage>-...`; CloudFormation names the roles it generates `<stack name>-<logical id>-<suffix>`), so this
 * stack, deployed before them, references none of them. What those stacks create at run time (a restored instance,
 * its RDS-managed secret) is matched by the names and tags `tier restore` and RDS give it.
 */
export class OperatorAccess extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { stage, account, region, pipeline } = props.config;
    const trusted = props.config.operator?.trustedPrincipals ?? [`arn:aws:iam::${account}:root`];
    const requireMfa = props.config.operator?.requireMfa ?? true;
    // The commercial partition, as the stage config's ARNs are (a token here would make the findings' ids tokens).
    const p = 'aws';
    const arn = (service: string, resource: string) => `arn:${p}:${service}:${region}:${account}:${resource}`;
    const prefix = `tier-${stage}`;
    const inRegion = { StringEquals: { 'aws:RequestedRegion': region } };

    this.role = new iam.Role(this, 'Role', {
      roleName: operatorRoleName(stage),
      description: `Operators of ${prefix}: the tier CLI's AWS commands and the admin task, on this stage only`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.CompositePrincipal(...trusted.map((a) => new iam.ArnPrincipal(a))).withConditions(
        requireMfa ? { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } : {},
      ),
    });

    const cluster = prefix;
    const clusterArn = arn('ecs', `cluster/${cluster}`);
    const serviceNames = TIERS.map((t) => `${prefix}-${t}`);
    const serviceArns = serviceNames.map((n) => arn('ecs', `service/${cluster}/${n}`));
    const family = (name: string) => arn('ecs', `task-definition/${prefix}-${name}:*`);
    // The stack's instance and the ones `tier restore` creates beside it (`<id>-<YYYYMMDDHHMM>`).
    const databases = [arn('rds', `db:${prefix}-db`), arn('rds', `db:${prefix}-db-*`)];
    const dataKey = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${prefix}-data` } };
    const anyKey = arn('kms', 'key/*');
    const viaService = (service: string) => ({
      StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` },
    });
    const passedTo = (service: string) => ({ StringEquals: { 'iam:PassedToService': service } });
    const parameters = [
      ...TIERS.map((t) => imageTagParameterName(stage, t)),
      ...LIVE_DATABASE_FIELDS.map((f) => liveDatabaseParameter(stage, f)),
      restoreStateParameter(stage),
    ].map((name) => arn('ssm', `parameter${name}`));
    const cfnExecRole = `arn:${p}:iam::${account}:role/cdk-${pipeline.bootstrapQualifier}-cfn-exec-role-${account}-${region}`;

    const statements = [
      new iam.PolicyStatement({
        sid: 'ReadOwnStacks',
        actions: ['cloudformation:DescribeStacks'],
        resources: [arn('cloudformation', `stack/${prefix}-*/*`)],
      }),
      new iam.PolicyStatement({
        // The restore's switch re-applies the deployed templates of the stacks that read the live database (the
        // services and the database alarms), through the stage's own deployment role.
        sid: 'ReapplyLiveDatabaseReaders',
        actions: ['cloudformation:UpdateStack'],
        resources: ['services', 'monitoring'].map((c) => arn('cloudformation', `stack/${prefix}-${c}/*`)),
        conditions: { ArnEquals: { 'cloudformation:RoleArn': cfnExecRole } },
      }),
      new iam.PolicyStatement({
        sid: 'PassDeploymentRoleToCloudFormation',
        actions: ['iam:PassRole'],
        resources: [cfnExecRole],
        conditions: passedTo('cloudformation.amazonaws.com'),
      }),
      new iam.PolicyStatement({
        // No resource-level permissions (Service Authorization Reference); the region keeps them to this stage's.
        sid: 'ReadWithoutResourceScope',
        actions: [
          'ecs:DescribeTaskDefinition',
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTargetGroups',
          'application-autoscaling:DescribeScalableTargets',
          'backup:DescribeBackupJob',
          'cloudwatch:GetMetricData',
        ],
        resources: ['*'],
        conditions: inRegion,
      }),
      new iam.PolicyStatement({
        sid: 'OperateOwnServices',
        actions: [
          'ecs:DescribeServices',
          'ecs:UpdateService',
          'ecs:ListServiceDeployments',
          'ecs:TagResource',
          'ecs:UntagResource',
        ],
        resources: serviceArns,
      }),
      new iam.PolicyStatement({
        sid: 'ReadOwnServiceHistory',
        actions: ['ecs:DescribeServiceDeployments', 'ecs:DescribeServiceRevisions'],
        resources: [
          ...serviceArns,
          ...serviceNames.map((n) => arn('ecs', `service-deployment/${cluster}/${n}/*`)),
          ...serviceNames.map((n) => arn('ecs', `service-revision/${cluster}/${n}/*`)),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'RegisterOwnTaskDefinitions',
        actions: ['ecs:RegisterTaskDefinition', 'ecs:TagResource'],
        resources: [...TIERS, 'migrate'].map(family),
      }),
      new iam.PolicyStatement({
        // The migration (tier deploy, the restore's verification) and the admin task, in this stage's cluster.
        sid: 'RunMigrationAndAdminTasks',
        actions: ['ecs:RunTask'],
        resources: [family('migrate'), family('admin')],
        conditions: { ArnEquals: { 'ecs:cluster': clusterArn } },
      }),
      new iam.PolicyStatement({
        sid: 'WatchOwnTasks',
        actions: ['ecs:DescribeTasks'],
        resources: [arn('ecs', `task/${cluster}/*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ListOwnTasks',
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': clusterArn } },
      }),
      new iam.PolicyStatement({
        sid: 'PassServicesRolesToEcsTasks',
        actions: ['iam:PassRole'],
        resources: [`arn:${p}:iam::${account}:role/${prefix}-services-*`],
        conditions: passedTo('ecs-tasks.amazonaws.com'),
      }),
      new iam.PolicyStatement({
        // Scalable targets are named by a generated id; the ECS namespace and the stage region bound them.
        sid: 'SetOwnScalingBounds',
        actions: ['application-autoscaling:RegisterScalableTarget'],
        resources: [arn('application-autoscaling', 'scalable-target/*')],
        conditions: {
          StringEquals: {
            'application-autoscaling:service-namespace': 'ecs',
            'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount',
          },
        },
      }),
      new iam.PolicyStatement({
        sid: 'ReadAndRecordOwnParameters',
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: parameters,
      }),
      new iam.PolicyStatement({
        sid: 'OperateOwnDatabases',
        actions: [
          'rds:DescribeDBInstances',
          'rds:StopDBInstance',
          'rds:StartDBInstance',
          'rds:ModifyDBInstance',
          'rds:ListTagsForResource',
          'rds:AddTagsToResource',
          'rds:RemoveTagsFromResource',
        ],
        resources: databases,
      }),
      new iam.PolicyStatement({
        // Into a new private instance beside the live one, with the stage's parameter and subnet groups (named by
        // CloudFormation after the data stack) and the engine's default option group.
        sid: 'RestoreOwnDatabases',
        actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:RestoreDBInstanceFromDBSnapshot'],
        resources: [
          ...databases,
          arn('rds', `pg:${prefix}-data-*`),
          arn('rds', `subgrp:${prefix}-data-*`),
          arn('rds', 'og:default:postgres-*'),
        ],
        conditions: { Bool: { 'rds:PubliclyAccessible': 'false' } },
      }),
      new iam.PolicyStatement({
        // Recovery points of AWS Backup carry the instance's tags (CopyTagsToSnapshot), so the stage tag picks them.
        sid: 'RestoreFromOwnSnapshots',
        actions: ['rds:RestoreDBInstanceFromDBSnapshot'],
        resources: [arn('rds', 'snapshot:*')],
        conditions: { StringEquals: { 'aws:ResourceTag/stage': stage } },
      }),
      new iam.PolicyStatement({
        // RDS creates the restored instance's storage grant and its own owner secret with the caller's rights.
        sid: 'UseDataKeyThroughRds',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [anyKey],
        conditions: { ...dataKey, ...viaService('rds') },
      }),
      new iam.PolicyStatement({
        sid: 'PassDataRolesToRdsAndBackup',
        actions: ['iam:PassRole'],
        resources: [`arn:${p}:iam::${account}:role/${prefix}-data-*`],
        conditions: {
          StringEquals: { 'iam:PassedToService': ['monitoring.rds.amazonaws.com', 'backup.amazonaws.com'] },
        },
      }),
      new iam.PolicyStatement({
        // The owner secrets RDS manages for the stage's instances: RDS tags each with its instance.
        sid: 'ReadOwnOwnerSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [arn('secretsmanager', 'secret:rds!db-*')],
        conditions: { StringLike: { 'aws:ResourceTag/aws:rds:primaryDBInstanceArn': databases } },
      }),
      new iam.PolicyStatement({
        // RDS creates a restored instance's own owner secret on the caller's behalf, tagged with that instance.
        sid: 'CreateOwnerSecretThroughRds',
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [arn('secretsmanager', 'secret:rds!db-*')],
        conditions: { StringLike: { 'aws:RequestTag/aws:rds:primaryDBInstanceArn': databases } },
      }),
      new iam.PolicyStatement({
        // The API user's secret (the data stack's only CloudFormation-created secret): moved to the restored instance.
        sid: 'MoveApiUserSecret',
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [arn('secretsmanager', 'secret:*')],
        conditions: { StringEquals: { 'aws:ResourceTag/aws:cloudformation:stack-name': `${prefix}-data` } },
      }),
      new iam.PolicyStatement({
        sid: 'UseDataKeyThroughSecretsManager',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [anyKey],
        conditions: { ...dataKey, ...viaService('secretsmanager') },
      }),
      new iam.PolicyStatement({
        sid: 'BackUpIntoOwnVault',
        actions: ['backup:StartBackupJob', 'backup:ListRecoveryPointsByBackupVault'],
        resources: [arn('backup', `backup-vault:${prefix}-vault`)],
      }),
      new iam.PolicyStatement({
        // The restore reads the data check's report from the admin task's stream in the audit log group.
        sid: 'ReadAdminTaskReports',
        actions: ['logs:GetLogEvents'],
        resources: [arn('logs', `log-group:/tier/${stage}/exec:log-stream:*`)],
      }),
      new iam.PolicyStatement({
        sid: 'QueryOwnLogs',
        actions: ['logs:StartQuery', 'logs:GetQueryResults'],
        resources: [
          ...TIERS.map((t) => arn('logs', `log-group:/tier/${stage}/${t}`)),
          arn('logs', `log-group:/aws/rds/instance/${prefix}-db/postgresql`),
          arn('logs', `log-group:/aws/rds/instance/${prefix}-db-*/postgresql`),
        ],
      }),
    ];
    for (const s of statements) this.role.addToPolicy(s);

    acknowledge(
      this.role,
      'Wildcards are bounded to this stage: revisions, tasks and deployments get ids only when created (under this cluster and these families); restored instances, their RDS-managed secrets and AWS Backup snapshots are matched by the stage name or tags; keys by their alias; generated role names by the stack name; the Describe/List actions without resource-level permissions by region.',
      ...[...new Set(statements.flatMap((s) => s.resources.filter((r) => r.includes('*'))))].map(
        (r) => `AwsSolutions-IAM5[Resource::${r}]`,
      ),
    );
    acknowledge(
      this.role,
      'CDK-generated policy that belongs to this one role (the operators of one stage); a managed policy could be attached to other principals.',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
  }
}
