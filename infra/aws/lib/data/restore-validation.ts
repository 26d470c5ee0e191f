// Reports the result of every restore test to AWS Backup, at the application level: when a restore job of the stage's
// restore testing plan completes, a function checks the restored instance (available, encrypted, private), gives its
// owner a throwaway password and starts the restore-check task (the admin task's program in its verification mode,
// services stack) against it; when that task stops, the same function reports its verdict and the row counts it
// printed with PutRestoreValidationResult. A FAILED validation shows on the job (console, DescribeRestoreJob), whose
// status stays COMPLETED, so the "Restore Job State Change" rule does not see it: the function's report line in its log
// group does (monitoring/restore-test-alarms.ts pages on FAILED, and when no SUCCESSFUL one came for a week). How the
// task logs in: restore-validation/index.mjs and infra/aws/README.md (Restore tests).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { GROUP_PREFIX } from './restore-validation/index.mjs';

const CODE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'restore-validation');

/**
 * The names the data stack's validation and the services stack's restore-check task share (literal, so neither
 * stack references the other's resources: the data stack never depends on the services stack).
 */
export const RESTORE_CHECK = {
  /** The restore-check task definition's family (services stack). */
  taskFamily: (stage: string) => `tier-${stage}-restore-check`,
  /** The SecureString the function writes the copy's throwaway owner password to; the task's DBPASS. */
  passwordParameter: (stage: string) => `/tier/${stage}/restore-test/owner-password`,
  /** The function's log group; the restore-check task logs here too, so one group tells a test's whole story. */
  logGroupName: (stage: string) => `/tier/${stage}/restore-validation`,
  /** The function's role, which the services stack lets run exactly the restore-check task. */
  roleName: (stage: string) => `tier-${stage}-restore-validation`,
  /** The stack whose outputs name the cluster, subnets and security group of the one-off tasks. */
  servicesStack: (stage: string) => `tier-${stage}-services`,
  clusterName: (stage: string) => `tier-${stage}`,
} as const;

export interface RestoreValidationProps {
  /** Prefix of the names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly stage: string;
  /** ARN of the restore testing plan whose jobs are validated. */
  readonly restoreTestingPlanArn: string;
  /** Encrypts the function's log group and the throwaway owner password. */
  readonly logKey: kms.IKey;
  /** @default 365 */
  readonly logRetentionDays?: number;
}

export class RestoreValidation extends Construct {
  readonly function: lambda.Function;
  /** Restore jobs that completed: start the data check. */
  readonly rule: events.Rule;
  /** Data checks that stopped: report the result. */
  readonly checkStoppedRule: events.Rule;

  constructor(scope: Construct, id: string, props: RestoreValidationProps) {
    super(scope, id);
    const { region, account, partition } = Stack.of(this);
    const { stage } = props;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: RESTORE_CHECK.logGroupName(stage),
      retention: (props.logRetentionDays ?? 365) as logs.RetentionDays,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, 'Role', {
      roleName: RESTORE_CHECK.roleName(stage),
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Validates the restore tests of ${props.namePrefix}`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
    });
    const passwordParameter = RESTORE_CHECK.passwordParameter(stage);
    this.function = new lambda.Function(this, 'Function', {
      functionName: `${props.namePrefix}-restore-validation`,
      description: 'Validates restored test instances with the data check and reports the result to AWS Backup',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(CODE),
      role,
      // The owner password reset takes effect asynchronously: the function waits for it (up to 10 minutes).
      timeout: Duration.minutes(12),
      memorySize: 256,
      logGroup,
      environment: {
        SERVICES_STACK: RESTORE_CHECK.servicesStack(stage),
        TASK_FAMILY: RESTORE_CHECK.taskFamily(stage),
        PASSWORD_PARAMETER: passwordParameter,
        PASSWORD_KEY_ID: props.logKey.keyArn,
      },
    });
    const logStreams = `arn:${partition}:logs:${region}:${account}:log-group:${RESTORE_CHECK.logGroupName(stage)}:log-stream:*`;
    const rdsArn = (resource: string) => `arn:${partition}:rds:${region}:${account}:${resource}`;
    const statements = [
      new iam.PolicyStatement({
        sid: 'ReadAndReportRestoreJobs',
        actions: ['backup:DescribeRestoreJob', 'backup:PutRestoreValidationResult'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'DescribeRestoredInstance',
        actions: ['rds:DescribeDBInstances'],
        resources: [rdsArn('db:*')],
      }),
      // Only restore-test copies: AWS Backup names them awsbackup-restore-test-<random> ("Restore testing inferred
      // metadata", AWS Backup Developer Guide), so the live instance's password can never be reset from here.
      new iam.PolicyStatement({
        sid: 'ResetRestoredOwnerPassword',
        actions: ['rds:ModifyDBInstance'],
        resources: [rdsArn('db:awsbackup-restore-test-*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteThrowawayPassword',
        actions: ['ssm:PutParameter'],
        resources: [`arn:${partition}:ssm:${region}:${account}:parameter${passwordParameter}`],
      }),
      new iam.PolicyStatement({
        sid: 'EncryptThrowawayPassword',
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [props.logKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `ssm.${region}.amazonaws.com` } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadOneOffTaskNetwork',
        actions: ['cloudformation:DescribeStacks'],
        resources: [
          `arn:${partition}:cloudformation:${region}:${account}:stack/${RESTORE_CHECK.servicesStack(stage)}/*`,
        ],
      }),
      new iam.PolicyStatement({
        sid: 'DescribeRestoreCheckTask',
        actions: ['ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRestoreCheckLog',
        actions: ['logs:GetLogEvents'],
        resources: [logStreams],
      }),
    ];
    for (const statement of statements) this.function.addToRolePolicy(statement);
    acknowledge(
      role,
      'Restore job APIs (DescribeRestoreJob, PutRestoreValidationResult) and ecs:DescribeTaskDefinition take no resource ARN; the restored instance gets a name AWS Backup picks (RDS describe: this account and region; modify: awsbackup-restore-test-* only); log streams are named per task.',
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::arn:${partition}:rds:${region}:${account}:db:*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:rds:${region}:${account}:db:awsbackup-restore-test-*]`,
      `AwsSolutions-IAM5[Resource::arn:${partition}:cloudformation:${region}:${account}:stack/${RESTORE_CHECK.servicesStack(stage)}/*]`,
      `AwsSolutions-IAM5[Resource::${logStreams}]`,
    );
    acknowledge(
      role,
      'AWSLambdaBasicExecutionRole is the AWS-maintained policy that lets the function write its own log group, nothing else.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    );
    acknowledge(
      role,
      'CDK-generated least-privilege policy that belongs to this one function role (restore jobs, the copy, the throwaway password, the data check).',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
    acknowledge(
      this.function,
      'The function calls only AWS APIs (Backup, RDS, SSM, ECS, CloudFormation, Logs); the data check itself runs as an ECS task in the private subnets.',
      'NIST.800.53.R5-LambdaInsideVPC',
      guard('lambda_inside_vpc_check'),
    );
    // Lambda refuses a reservation that leaves less than 100 unreserved ("You can reserve up to the Unreserved account
    // concurrency value that is shown, minus 100", docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html)
    // and new accounts start with a reduced concurrency quota (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
    acknowledge(
      this.function,
      'No reserved concurrency: Lambda keeps at least 100 of the account concurrency unreserved and new accounts get a reduced quota, so a reservation fails the first deploy there (Lambda Developer Guide, configuring reserved concurrency; Lambda quotas). One restore test a week, and a repeated event is made harmless by the job verdict check (index.mjs), not by a concurrency cap.',
      'NIST.800.53.R5-LambdaConcurrency',
    );
    acknowledge(
      this.function,
      'EventBridge retries a failed invocation for 24 hours; a restore job left without a validation result is visible on the job itself, so a dead-letter queue would hold nothing anyone reads.',
      'NIST.800.53.R5-LambdaDLQ',
      guard('lambda_dlq_check'),
    );

    this.rule = new events.Rule(this, 'RestoreTestCompleted', {
      ruleName: `${props.namePrefix}-restore-test-completed`,
      description: 'Restore test jobs that completed: validate the restored copy',
      eventPattern: {
        source: ['aws.backup'],
        detailType: ['Restore Job State Change'],
        detail: { status: ['COMPLETED'], restoreTestingPlanArn: [props.restoreTestingPlanArn] },
      },
    });
    this.rule.addTarget(new targets.LambdaFunction(this.function, { retryAttempts: 4 }));
    // ECS emits "ECS Task State Change" events with the task's group and container exit codes ("Amazon ECS task
    // state change events", Amazon ECS Developer Guide); the group carries the restore job id.
    this.checkStoppedRule = new events.Rule(this, 'DataCheckStopped', {
      ruleName: `${props.namePrefix}-restore-test-checked`,
      description: 'Restore test data checks that stopped: report the result to AWS Backup',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [`arn:${partition}:ecs:${region}:${account}:cluster/${RESTORE_CHECK.clusterName(stage)}`],
          lastStatus: ['STOPPED'],
          group: [{ prefix: GROUP_PREFIX }],
        },
      },
    });
    this.checkStoppedRule.addTarget(new targets.LambdaFunction(this.function, { retryAttempts: 4 }));
  }
}
