// The names infra/aws and the tier CLI must agree on: the tiers, stacks, their CloudFormation outputs and export names.
// infra/aws emits every output through `outputsOf`/`exportName` below; packages/tier reads them by the same
// keys, from the stack this table names. Imported by relative path (infra/aws runs on tsx; packages/tier
// references this project in its tsconfig), so there is no package to publish or install.

export const APP_NAME = 'tier';

/** The two application tiers, in the order they sit behind the edge (and every listing shows them). */
export const TIERS = ['web', 'api'] as const;
export type TierName = (typeof TIERS)[number];

/** The order of a deploy: the API first, so its migrations and endpoints exist before a web version that needs them. */
export const DEPLOY_ORDER: readonly TierName[] = ['api', 'web'];

/** The stacks of one stage, by concern; the CloudFormation stack name is `tier-<stage>-<concern>`. */
export const STACK_CONCERNS = [
  'network',
  'telemetry',
  'data',
  'registry',
  'services',
  'firewall',
  'edge',
  'monitoring',
  'edge-alarms',
  'pipeline-access',
  /** Only in a stage that copies its recovery points to another region (config backup.copyToVaultArn). */
  'backup-copy',
] as const;
export type StackConcern = (typeof STACK_CONCERNS)[number];

/** Concerns a stage has only when its configuration asks for them (every other concern is in every stage). */
export const OPTIONAL_STACK_CONCERNS: readonly StackConcern[] = ['backup-copy'];

/**
 * Every CloudFormation output each stack emits (the output's logical id is the key). A stack not listed
 * emits none. infra/aws/test/outputs-contract.test.ts fails when a synthesized template differs.
 */
export const STACK_OUTPUTS = {
  telemetry: ['WebLogGroupName', 'ApiLogGroupName', 'MigrateLogGroupName', 'ExecLogGroupName', 'AlarmTopicArn'],
  data: [
    'DbInstanceId',
    'DbEndpoint',
    'DbSecretArn',
    'BackupVaultName',
    'BackupPlanId',
    'BackupRoleArn',
    'BackupRetentionDays',
  ],
  registry: ['WebRepositoryUri', 'ApiRepositoryUri'],
  services: [
    'ClusterName',
    'WebServiceName',
    'ApiServiceName',
    'WebAlbDnsName',
    'ApiAlbDnsName',
    'MigrationTaskDefinitionArn',
    'MigrationSecurityGroupId',
    'MigrationSubnetIds',
  ],
  edge: ['DistributionDomainName', 'DistributionId'],
  'pipeline-access': ['DeployRoleArn'],
} as const satisfies Partial<Record<StackConcern, readonly string[]>>;

type Outputs = typeof STACK_OUTPUTS;
export type OutputStack = keyof Outputs;
export type OutputKey = Outputs[OutputStack][number];
/** The output keys of one stack. */
export type OutputKeyOf<S extends OutputStack> = Outputs[S][number];

/** `tier-<stage>-<concern>`: the CloudFormation stack name (and the prefix of named resources). */
export function stackName(stage: string, concern: StackConcern): string {
  return `${stackPrefix(stage)}${concern}`;
}

/** `tier-<stage>-`: every stack of the stage starts with it, and no stack of another stage does. */
export function stackPrefix(stage: string): string {
  return `${APP_NAME}-${stage}-`;
}

/**
 * Export names are unique per account and region, so they carry the stage: two stages may share a
 * region (CloudFormation refuses a second stack exporting a name that already exists).
 */
export function exportName(stage: string, key: OutputKey): string {
  return `${stackPrefix(stage)}${key}`;
}

/** The stack that emits an output key. */
export function stackOfOutput(key: OutputKey): OutputStack {
  for (const [stack, keys] of Object.entries(STACK_OUTPUTS) as Array<[OutputStack, readonly string[]]>) {
    if (keys.includes(key)) return stack;
  }
  throw new Error(`output ${key} is in no stack of the contract`);
}

/**
 * Which database instance is the stage's live one: SSM parameters the data stack creates with its own instance's
 * values, `tier restore --target aws` overwrites after a verified restore, and the services stack reads at every
 * deployment (DBHOST, the owner's secret), so a restore switches the application by configuration, not by renames.
 */
export const LIVE_DATABASE_FIELDS = ['instance-id', 'host', 'master-secret-arn'] as const;
export type LiveDatabaseField = (typeof LIVE_DATABASE_FIELDS)[number];

/** `/tier/<stage>/db/<field>`. */
export function liveDatabaseParameter(stage: string, field: LiveDatabaseField): string {
  return `/${APP_NAME}/${stage}/db/${field}`;
}

/** Where `tier restore --target aws` records how far it got, so an interrupted restore resumes (from any machine). */
export function restoreStateParameter(stage: string): string {
  return `/${APP_NAME}/${stage}/db/restore-state`;
}
