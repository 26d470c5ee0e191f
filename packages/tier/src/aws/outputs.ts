// Reads what the CDK stacks of one stage expose (CloudFormation outputs) into one typed object.
import { type CloudFormationClient, paginateDescribeStacks, type Stack } from '@aws-sdk/client-cloudformation';
import { TierError, type TierName } from '../backend.js';
import { DOCS, toTierError } from './errors.js';

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
  readonly logGroups: Partial<Record<TierName, string>>;
}

/** The CloudFormation output keys tier reads (CfnOutput ids). Documented in README-aws.md. */
export const OUTPUT_KEYS = {
  clusterName: 'ClusterName',
  webServiceName: 'WebServiceName',
  apiServiceName: 'ApiServiceName',
  webLoadBalancerDns: 'WebAlbDnsName',
  apiLoadBalancerDns: 'ApiAlbDnsName',
  distributionDomain: 'DistributionDomainName',
  dbInstanceIdentifier: 'DbInstanceId',
  backupVaultName: 'BackupVaultName',
  backupPlanId: 'BackupPlanId',
  backupRoleArn: 'BackupRoleArn',
  webLogGroupName: 'WebLogGroupName',
  apiLogGroupName: 'ApiLogGroupName',
} as const;

export type OutputKey = (typeof OUTPUT_KEYS)[keyof typeof OUTPUT_KEYS];

/**
 * CDK names a CfnOutput created inside a nested construct `<path><Id><8 hex hash>`; accept that
 * too, so `new CfnOutput(this, 'ClusterName')` works at any depth.
 */
export function matchesOutputKey(actual: string, wanted: OutputKey): boolean {
  if (actual === wanted) return true;
  const unhashed = actual.replace(/[0-9A-F]{8}$/, '');
  return unhashed.endsWith(wanted);
}

/** Collects the outputs of every stack named `<prefix>*` (case-insensitive). */
export async function readStackOutputs(
  cfn: CloudFormationClient,
  prefix: string,
  stage: string,
): Promise<StackOutputs> {
  const stacks: Stack[] = [];
  try {
    for await (const page of paginateDescribeStacks({ client: cfn }, {})) {
      for (const stack of page.Stacks ?? []) {
        if (stack.StackName?.toLowerCase().startsWith(prefix.toLowerCase())) stacks.push(stack);
      }
    }
  } catch (err) {
    throw toTierError(err, 'cloudformation:DescribeStacks');
  }
  if (stacks.length === 0) {
    throw new TierError(
      `no stacks named ${prefix}* in this account and region`,
      `deploy first: cd infra/aws && npx cdk deploy --all -c stage=${stage} (or check --stage/--region/AWS_PROFILE)`,
    );
  }
  const outputs = stacks.flatMap((s) => s.Outputs ?? []);
  const get = (key: OutputKey) =>
    outputs.find((o) => o.OutputKey !== undefined && matchesOutputKey(o.OutputKey, key))?.OutputValue;
  const k = OUTPUT_KEYS;
  return {
    stacks: stacks.map((s) => s.StackName ?? ''),
    clusterName: get(k.clusterName),
    serviceNames: { web: get(k.webServiceName), api: get(k.apiServiceName) },
    loadBalancerDns: { web: get(k.webLoadBalancerDns), api: get(k.apiLoadBalancerDns) },
    distributionDomain: get(k.distributionDomain),
    dbInstanceIdentifier: get(k.dbInstanceIdentifier),
    backupVaultName: get(k.backupVaultName),
    backupPlanId: get(k.backupPlanId),
    backupRoleArn: get(k.backupRoleArn),
    logGroups: { web: get(k.webLogGroupName), api: get(k.apiLogGroupName) },
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
  return tier === 'web' ? OUTPUT_KEYS.webServiceName : OUTPUT_KEYS.apiServiceName;
}

export function logGroupOutputKey(tier: TierName): OutputKey {
  return tier === 'web' ? OUTPUT_KEYS.webLogGroupName : OUTPUT_KEYS.apiLogGroupName;
}
