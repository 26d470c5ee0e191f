// The dev stage: smallest footprint that still has every property prod has (2 AZs, 2 tasks per tier).
import type { StageConfig } from './stage-config.js';

export const dev: StageConfig = {
  stage: 'dev',
  account: '111111111111',
  region: 'us-east-1',
  maxAzs: 2,
  natGateways: 1,
  vpcCidr: '10.10.0.0/16',
  database: {
    instanceType: 't4g.micro',
    multiAz: false,
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 50,
    backupRetentionDays: 7,
    iamAuthentication: true,
  },
  backup: {
    dailyRetentionDays: 7,
    weeklyRetentionWeeks: 4,
    monthlyRetentionMonths: 3,
  },
  services: {
    web: { cpu: 256, memoryMiB: 512, minTasks: 2, maxTasks: 4 },
    api: { cpu: 256, memoryMiB: 512, minTasks: 2, maxTasks: 4 },
    cpuTargetPercent: 60,
    requestsPerTarget: 1000,
    image: { kind: 'ecr', tag: 'initial' },
  },
  edge: { rateLimitPer5Min: 2000, priceClass: 'PriceClass_100', originFacingPrefixListId: 'pl-3b927c52' },
  observability: { logRetentionDays: 365, accessLogRetentionDays: 30, alarmEmail: 'ops-dev@example.com' },
  pipeline: {
    githubRepo: 'example-org/three-tier-platform',
    githubEnvironment: 'staging',
    bootstrapQualifier: 'tierdev',
  },
};
