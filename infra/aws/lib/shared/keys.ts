// Customer managed KMS keys with rotation, and the service grants each use needs.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

export interface ManagedKeyProps {
  /** What the key protects; becomes the description and alias `alias/<alias>`. */
  readonly alias: string;
  readonly description: string;
  /** Let CloudWatch Logs in this region encrypt log groups with the key. @default false */
  readonly forCloudWatchLogs?: boolean;
  /** Let CloudWatch alarms publish to SNS topics encrypted with the key. @default false */
  readonly forAlarmNotifications?: boolean;
}

/** A symmetric key with yearly rotation that is kept (not deleted) when its stack goes away. */
export function createManagedKey(scope: Construct, id: string, props: ManagedKeyProps): kms.Key {
  const key = new kms.Key(scope, id, {
    alias: props.alias,
    description: props.description,
    enableKeyRotation: true,
    rotationPeriod: Duration.days(365),
    removalPolicy: RemovalPolicy.RETAIN,
    pendingWindow: Duration.days(30),
  });
  // Grants only for AWS services acting on AWS resources (RDS, Backup), never handed out by principals directly.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  const { region, account, partition } = Stack.of(scope);
  if (props.forCloudWatchLogs) {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*` },
        },
      }),
    );
  }
  if (props.forAlarmNotifications) {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }
  return key;
}
