// Shared fixtures for the AWS backend tests: SDK clients mocked at the boundary, a stage's stack outputs, a progress recorder.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { BackupClient } from '@aws-sdk/client-backup';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { type AwsBackendOptions, createAwsBackend } from '../src/aws/index.js';
import type { Progress } from '../src/backend.js';

export const CLUSTER = 'tier-dev-cluster';
export const SERVICE = { web: 'tier-dev-web', api: 'tier-dev-api' } as const;
export const DB_ID = 'tier-dev-db';
export const DB_ARN = `arn:aws:rds:eu-west-1:123456789012:db:${DB_ID}`;
export const VAULT = 'tier-dev-vault';
export const BACKUP_ROLE = 'arn:aws:iam::123456789012:role/tier-dev-backup';
export const LOG_GROUP = { web: '/tier/dev/web', api: '/tier/dev/api' } as const;
export const TG = {
  web: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/1111',
  api: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/2222',
} as const;

/** Outputs as the CDK app emits them: some top-level ids, some nested (path prefix + hash suffix). */
export const STACKS: Stack[] = [
  {
    StackName: 'tier-dev-services',
    StackStatus: 'UPDATE_COMPLETE',
    CreationTime: new Date(0),
    Outputs: [
      { OutputKey: 'ClusterName', OutputValue: CLUSTER },
      { OutputKey: 'WebServiceName', OutputValue: SERVICE.web },
      { OutputKey: 'ServicesApiServiceNameA1B2C3D4', OutputValue: SERVICE.api },
      { OutputKey: 'WebAlbDnsName', OutputValue: 'web-123.eu-west-1.elb.amazonaws.com' },
      { OutputKey: 'ApiAlbDnsName', OutputValue: 'api-456.eu-west-1.elb.amazonaws.com' },
    ],
  },
  {
    StackName: 'tier-dev-data',
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date(0),
    Outputs: [
      { OutputKey: 'DbInstanceId', OutputValue: DB_ID },
      { OutputKey: 'BackupVaultName', OutputValue: VAULT },
      { OutputKey: 'BackupPlanId', OutputValue: 'plan-1' },
      { OutputKey: 'BackupRoleArn', OutputValue: BACKUP_ROLE },
    ],
  },
  {
    StackName: 'tier-dev-edge',
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date(0),
    Outputs: [{ OutputKey: 'DistributionDomainName', OutputValue: 'd111.cloudfront.net' }],
  },
  {
    StackName: 'tier-dev-observability',
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date(0),
    Outputs: [
      { OutputKey: 'WebLogGroupName', OutputValue: LOG_GROUP.web },
      { OutputKey: 'ApiLogGroupName', OutputValue: LOG_GROUP.api },
    ],
  },
  // Another stage in the same account must be ignored.
  {
    StackName: 'tier-prod-services',
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date(0),
    Outputs: [{ OutputKey: 'ClusterName', OutputValue: 'tier-prod-cluster' }],
  },
];

/** Every client the backend uses, mocked; each test starts from clean behaviour and history. */
export function mockAws() {
  const m = {
    cfn: mockClient(CloudFormationClient),
    ecs: mockClient(ECSClient),
    elb: mockClient(ElasticLoadBalancingV2Client),
    rds: mockClient(RDSClient),
    backup: mockClient(BackupClient),
    logs: mockClient(CloudWatchLogsClient),
    cw: mockClient(CloudWatchClient),
    aas: mockClient(ApplicationAutoScalingClient),
  };
  for (const stub of Object.values(m)) stub.reset();
  m.cfn.on(DescribeStacksCommand).resolves({ Stacks: STACKS });
  return m;
}

export function backend(opts: Partial<AwsBackendOptions> = {}) {
  return createAwsBackend({
    stage: 'dev',
    region: 'eu-west-1',
    pollIntervalMs: 0,
    now: () => Date.parse('2026-03-01T12:00:30Z'),
    ...opts,
  });
}

/** A Progress that keeps every line, to assert what the operator saw. */
export function recorder(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    step: (m) => lines.push(`step ${m}`),
    info: (m) => lines.push(`info ${m}`),
    done: (m) => lines.push(`done ${m ?? ''}`),
    warn: (m) => lines.push(`warn ${m}`),
  };
}

/** An SDK-shaped service error (name = AWS error code). */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: {} });
}

export function image(tier: 'web' | 'api', tag: string): string {
  return `123456789012.dkr.ecr.eu-west-1.amazonaws.com/tier-${tier}:${tag}`;
}

export function taskDefinition(tier: 'web' | 'api', revision: number, tag: string) {
  return {
    taskDefinitionArn: `arn:aws:ecs:eu-west-1:123456789012:task-definition/tier-dev-${tier}:${revision}`,
    family: `tier-dev-${tier}`,
    revision,
    status: 'ACTIVE' as const,
    networkMode: 'awsvpc' as const,
    cpu: '256',
    memory: '512',
    requiresCompatibilities: ['FARGATE' as const],
    executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
    taskRoleArn: 'arn:aws:iam::123456789012:role/task',
    compatibilities: ['EC2' as const, 'FARGATE' as const],
    registeredAt: new Date(0),
    containerDefinitions: [
      {
        name: tier,
        image: image(tier, tag),
        essential: true,
        secrets: [{ name: 'DBPASS', valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db' }],
      },
      { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', essential: false },
    ],
  };
}
