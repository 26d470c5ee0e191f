// Reads what the CDK stacks of one stage expose (CloudFormation outputs) into one typed object.
import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { type OutputKey, STACK_OUTPUTS, stackOfOutput } from '../../../contract/src/index.js';
import { TierError, type TierName } from '../backend.js';
import { DOCS, toTierError } from './errors.js';

export type { OutputKey } from '../../../contract/src/index.js';

/** Everything tier needs to know about a deployed stage. Absent outputs stay undefined; see `need`. */
export interface StackOutputs {
  readonly stacks: readonly string[];
  readonly clusterName?: string;
  readonly serviceNames: Partial<Record<TierName, string>>;
  readonly loadBalancerDns: Partial<Record<TierName, string>>;
  readonly distributionDomain?: string;
  readonly dbInstanceIdentifier?: string;
  readonly backupVaultName?: string;
  readonly backupPlanId?: string;
  readonly backupRoleArn?: string;
  /** Days an on-demand recovery point is kept (the vault lock's minimum). */
  readonly backupRetentionDays?: string;
  readonly logGroups: Partial<Record<TierName, string>>;
  /** The one-off migration task: its task definition and where it runs. */
  readonly migration: { taskDefinition?: string; securityGroup?: string; subnets?: string };
}

/**
 * Describes the stage's stacks that emit outputs, each by name: the pipeline role may read only its own stage's
 * stacks, and a DescribeStacks without a name would need every stack of the account. Absent stacks are skipped.
 */
export async function describeStageStacks(cfn: CloudFormationClient, prefix: string): Promise<Stack[]> {
  const stacks: Stack[] = [];
  for (const concern of Object.keys(STACK_OUTPUTS)) {
    try {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: `${prefix}${concern}` }));
      stacks.push(
        ...(out.Stacks ?? []).filter((s) => s.StackName?.toLowerCase() === `${prefix}${concern}`.toLowerCase()),
      );
    } catch (err) {
      if (
        (err as { name?: string }).name === 'ValidationError' &&
        /does not exist/.test(String((err as Error).message))
      )
        continue;
      throw toTierError(err, 'cloudformation:DescribeStacks');
    }
  }
  return stacks;
}

/**
 * Collects the outputs of the stage's stacks (`<prefix><concern>`, case-insensitive). Each key is read
 * from the one stack the contract (packages/contract) says emits it, by its exact output id.
 */
export async function readStackOutputs(
  cfn: CloudFormationClient,
  prefix: string,
  stage: string,
): Promise<StackOutputs> {
  const stacks = await describeStageStacks(cfn, prefix);
  if (stacks.length === 0) {
    throw new TierError(
      `no stacks named ${prefix}* in this account and region`,
      `deploy first: cd infra/aws && npx cdk deploy --all -c stage=${stage} (or check --stage/--region/AWS_PROFILE)`,
    );
  }
  const get = (key: OutputKey) => {
    const name = `${prefix}${stackOfOutput(key)}`.toLowerCase();
    const stack = stacks.find((s) => s.StackName?.toLowerCase() === name);
    return stack?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  };
  return {
    stacks: stacks.map((s) => s.StackName ?? ''),
    clusterName: get('ClusterName'),
    serviceNames: { web: get('WebServiceName'), api: get('ApiServiceName') },
    loadBalancerDns: { web: get('WebAlbDnsName'), api: get('ApiAlbDnsName') },
    distributionDomain: get('DistributionDomainName'),
    dbInstanceIdentifier: get('DbInstanceId'),
    backupVaultName: get('BackupVaultName'),
    backupPlanId: get('BackupPlanId'),
    backupRoleArn: get('BackupRoleArn'),
    backupRetentionDays: get('BackupRetentionDays'),
    logGroups: { web: get('WebLogGroupName'), api: get('ApiLogGroupName') },
    migration: {
      taskDefinition: get('MigrationTaskDefinitionArn'),
      securityGroup: get('MigrationSecurityGroupId'),
      subnets: get('MigrationSubnetIds'),
    },
  };
}

/** Returns a value the command cannot do without, or a TierError naming the missing output key. */
export function need<T>(value: T | undefined, key: OutputKey, outputs: StackOutputs): T {
  if (value === undefined || value === '') {
    throw new TierError(
      `stack output ${key} not found in ${outputs.stacks.join(', ')}`,
      `the deployed stacks are older than this CLI: redeploy infra/aws (cdk deploy), see ${DOCS}`,
    );
  }
  return value;
}

export function serviceOutputKey(tier: TierName): OutputKey {
  return tier === 'web' ? 'WebServiceName' : 'ApiServiceName';
}

export function logGroupOutputKey(tier: TierName): OutputKey {
  return tier === 'web' ? 'WebLogGroupName' : 'ApiLogGroupName';
}
