// Shared fixtures for the AWS backend tests: SDK clients mocked at the boundary, the stages' stack outputs (generated
// from the synthesized templates), a progress recorder.
import { readFileSync } from 'node:fs';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { BackupClient } from '@aws-sdk/client-backup';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { type AwsBackendOptions, createAwsBackend, type OutputKey } from '../src/aws/index.js';
import type { Progress, TierName } from '../src/backend.js';

/**
 * What DescribeStacks returns for the deployed stages, generated from the synthesized templates by
 * `npm run fixture:cli -w infra/aws` (infra/aws/test/outputs-contract.test.ts fails when it is stale).
 */
interface Fixture {
  readonly stages: Record<
    string,
    Array<{
      StackName: string;
      Parameters?: Array<{ ParameterKey: string; ParameterValue: string }>;
      Outputs: Array<{ OutputKey: string; OutputValue: string }>;
    }>
  >;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/describe-stacks.json', import.meta.url), 'utf8'),
) as Fixture;

/** The value of an output of the dev stage, as the generated fixture has it. */
export function output(key: OutputKey): string {
  for (const stack of fixture.stages.dev ?? []) {
    const found = stack.Outputs.find((o) => o.OutputKey === key);
    if (found) return found.OutputValue;
  }
  throw new Error(`the generated fixture has no output ${key}: regenerate it (npm run fixture:cli -w infra/aws)`);
}

export const CLUSTER = output('ClusterName');
export const SERVICE = { web: output('WebServiceName'), api: output('ApiServiceName') } as const;
export const DB_ID = output('DbInstanceId');
export const DB_ARN = `arn:aws:rds:eu-west-1:123456789012:db:${DB_ID}`;
export const VAULT = output('BackupVaultName');
export const BACKUP_ROLE = output('BackupRoleArn');
export const LOG_GROUP = { web: output('WebLogGroupName'), api: output('ApiLogGroupName') } as const;
export const TG = {
  web: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/1111',
  api: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/2222',
} as const;

/** Both stages' stacks: the dev commands must ignore the prod stacks in the same account. */
export const STACKS: Stack[] = Object.values(fixture.stages)
  .flat()
  .map((s) => ({ ...s, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }));

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
    ssm: mockClient(SSMClient),
    secrets: mockClient(SecretsManagerClient),
  };
  for (const stub of Object.values(m)) stub.reset();
  m.cfn.on(DescribeStacksCommand).resolves({ Stacks: STACKS });
  m.ssm.on(PutParameterCommand).resolves({ Version: 2 });
  // No live-database parameter (a stage deployed before them): commands fall back to the DbInstanceId output.
  m.ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));
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

export function image(tier: TierName, tag: string): string {
  return `123456789012.dkr.ecr.eu-west-1.amazonaws.com/tier-${tier}:${tag}`;
}

export function taskDefinition(tier: TierName, revision: number, tag: string) {
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
