// Reports the result of every restore test to AWS Backup: when a restore job started by the stage's restore testing
// plan completes, a function checks the restored instance (available, encrypted, private) and calls
// PutRestoreValidationResult; a FAILED validation then shows on the job, and the "Restore Job State Change" rule pages.
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

const CODE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'restore-validation');

export interface RestoreValidationProps {
  /** Prefix of the names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  /** ARN of the restore testing plan whose jobs are validated. */
  readonly restoreTestingPlanArn: string;
  /** Encrypts the function's log group. */
  readonly logKey: kms.IKey;
  /** @default 365 */
  readonly logRetentionDays?: number;
}

export class RestoreValidation extends Construct {
  readonly function: lambda.Function;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RestoreValidationProps) {
    super(scope, id);
    const { region, account, partition } = Stack.of(this);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/tier/${props.namePrefix.replace(/^tier-/, '')}/restore-validation`,
      retention: (props.logRetentionDays ?? 365) as logs.RetentionDays,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.function = new lambda.Function(this, 'Function', {
      functionName: `${props.namePrefix}-restore-validation`,
      description: 'Validates restored test instances and reports the result to AWS Backup',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(CODE),
      timeout: Duration.seconds(30),
      memorySize: 256,
      // One test a week: a second concurrent run is never needed.
      reservedConcurrentExecutions: 1,
      logGroup,
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndReportRestoreJobs',
        actions: ['backup:DescribeRestoreJob', 'backup:PutRestoreValidationResult'],
        resources: ['*'],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeRestoredInstance',
        actions: ['rds:DescribeDBInstances'],
        resources: [`arn:${partition}:rds:${region}:${account}:db:*`],
      }),
    );
    const role = this.function.role as iam.Role;
    acknowledge(
      role,
      'Restore job APIs (DescribeRestoreJob, PutRestoreValidationResult) take no resource ARN; the restored instance gets a name AWS Backup picks, so RDS describe is limited to this account and region.',
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::arn:${partition}:rds:${region}:${account}:db:*]`,
    );
    acknowledge(
      role,
      'AWSLambdaBasicExecutionRole is the AWS-maintained policy that lets the function write its own log group, nothing else.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    );
    acknowledge(
      role,
      'CDK-generated least-privilege policy that belongs to this one function role (restore job read/report, RDS describe).',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
    acknowledge(
      this.function,
      'The function calls only the AWS Backup and RDS APIs and needs no path into the VPC.',
      'NIST.800.53.R5-LambdaInsideVPC',
      guard('lambda_inside_vpc_check'),
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
  }
}
