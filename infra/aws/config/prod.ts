// The prod stage: 3 AZs, NAT per AZ, Multi-AZ database (no read replica: see infra/aws/README.md), longer retention, cross-region backup copy.
import type { StageConfig } from './stage-config.js';

export const prod: StageConfig = {
  stage: 'prod',
  account: '111111111111',
  region: 'eu-west-1',
  maxAzs: 3,
  natGateways: 3,
  vpcCidr: '10.20.0.0/16',
  database: {
    instanceType: 'm7g.large',
    multiAz: true,
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 500,
    backupRetentionDays: 35,
    iamAuthentication: true,
  },
  backup: {
    dailyRetentionDays: 35,
    weeklyRetentionWeeks: 12,
    monthlyRetentionMonths: 12,
    copyToVaultArn: 'arn:aws:backup:eu-central-1:111111111111:backup-vault:tier-prod-copy',
    vaultLock: 'compliance',
  },
  services: {
    web: { cpu: 512, memoryMiB: 1024, minTasks: 3, maxTasks: 12 },
    api: { cpu: 512, memoryMiB: 1024, minTasks: 3, maxTasks: 12 },
    cpuTargetPercent: 55,
    requestsPerTarget: 800,
    image: { kind: 'ecr', tag: 'initial' },
  },
  edge: { rateLimitPer5Min: 2000, priceClass: 'PriceClass_200', originFacingPrefixListId: 'pl-4fa04526' },
  observability: { logRetentionDays: 365, accessLogRetentionDays: 365, alarmEmail: 'ops@example.com' },
  pipeline: {
    githubRepo: 'example-org/three-tier-platform',
    githubEnvironment: 'production',
    bootstrapQualifier: 'tierprod',
    promoteFrom: 'dev',
    // The dev stage (same account) creates the provider; an account holds one per issuer URL.
    existingOidcProviderArn: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com',
  },
};
