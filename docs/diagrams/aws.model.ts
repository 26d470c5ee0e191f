// The AWS architecture as data: every box names its CloudFormation types, tier, network and security-group links,
// so the picture is generated from it and docs/test/aws-consistency.test.ts can hold it against the synthesized templates.
import { stages } from '../../infra/aws/config/index.js';
import type { Role } from './dot.js';

export type Stage = 'dev' | 'prod';

/** Where a box sits: the three subnet tiers of the VPC, or outside it. */
export type AwsNetwork = 'internet' | 'global' | 'public' | 'private' | 'isolated' | 'regional' | 'github';

/** The application tiers: each must exist in the templates exactly when it exists here. */
export type AppTier = 'edge' | 'web' | 'api' | 'db';

export interface AwsNode {
  readonly id: string;
  readonly title: string;
  readonly details?: readonly string[];
  /** CloudFormation resource types this box stands for; each must occur in the stage's templates. */
  readonly cfnTypes: readonly string[];
  readonly network: AwsNetwork;
  readonly role: Role;
  /** The application tier the box serves, when it serves one. */
  readonly tier?: AppTier;
  /** Stages that have this box. @default both */
  readonly stages?: readonly Stage[];
  readonly shape?: 'box' | 'cylinder' | 'folder' | 'note' | 'component';
}

/**
 * A security group of the templates, recognised by its CDK construct path (Metadata aws:cdk:path),
 * and the box it protects. Every security group in the templates must match exactly one entry.
 */
export interface AwsSecurityGroup {
  readonly id: string;
  readonly node: string;
  readonly pathPattern: RegExp;
}

/** An ingress rule: `to`'s security group admits `from` (another security group, or CloudFront's prefix list). */
export interface AwsSgLink {
  readonly from: string;
  readonly to: string;
  readonly ports: readonly number[];
  /** `prefix-list`: the source is CloudFront's origin-facing managed prefix list, not a security group. */
  readonly source: 'security-group' | 'prefix-list';
}

/** Arrows that are not security-group rules (logs, metrics, backups, delivery, control). */
export interface AwsFlow {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  readonly kind: 'traffic' | 'logs' | 'metrics' | 'backup' | 'deploy' | 'control';
}

export const awsNodes: readonly AwsNode[] = [
  {
    id: 'users',
    title: 'Users',
    details: ['browsers, API clients'],
    cfnTypes: [],
    network: 'internet',
    role: 'client',
  },
  {
    id: 'operator',
    title: 'Operator',
    details: ['AWS credentials of an operator role', 'tier CLI, aws ecs run-task'],
    cfnTypes: [],
    network: 'internet',
    role: 'client',
  },

  // Edge (global)
  {
    id: 'waf',
    title: 'AWS WAF web ACL',
    details: ['managed rules: common, bad inputs,', 'SQLi, IP reputation; rate limit', 'AWS::WAFv2::WebACL'],
    cfnTypes: ['AWS::WAFv2::WebACL'],
    network: 'global',
    role: 'edge',
    tier: 'edge',
  },
  {
    id: 'cloudfront',
    title: 'CloudFront distribution',
    details: ['/api/* -> api ALB (no cache)', '/* -> web ALB; assets cached long', 'AWS::CloudFront::Distribution'],
    cfnTypes: ['AWS::CloudFront::Distribution'],
    network: 'global',
    role: 'edge',
    tier: 'edge',
  },

  // Private subnets: the internal ALBs
  {
    id: 'alb-web',
    title: 'web ALB',
    details: [
      'internal: CloudFront VPC origin only',
      'health check /readyz :9100',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
    ],
    cfnTypes: [
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      'AWS::ElasticLoadBalancingV2::ListenerRule',
    ],
    network: 'private',
    role: 'web',
    tier: 'web',
  },
  {
    id: 'alb-api',
    title: 'api ALB',
    details: [
      'internal: CloudFront VPC origin only',
      'health check /readyz :9100',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
    ],
    cfnTypes: ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ElasticLoadBalancingV2::Listener'],
    network: 'private',
    role: 'api',
    tier: 'api',
  },
  {
    id: 'nat',
    title: 'NAT gateways',
    details: ['one per AZ (prod), one (dev)', 'AWS::EC2::NatGateway'],
    cfnTypes: ['AWS::EC2::NatGateway', 'AWS::EC2::InternetGateway'],
    network: 'public',
    role: 'network',
  },

  // Private subnets (with egress)
  {
    id: 'ecs-web',
    title: 'ECS service: web',
    details: ['Fargate tasks spread over AZs', ':3000 app, :9100 admin', 'AWS::ECS::Service'],
    cfnTypes: ['AWS::ECS::Service', 'AWS::ECS::TaskDefinition', 'AWS::ApplicationAutoScaling::ScalingPolicy'],
    network: 'private',
    role: 'web',
    tier: 'web',
  },
  {
    id: 'ecs-api',
    title: 'ECS service: api',
    details: ['Fargate tasks spread over AZs', ':3000 app, :9100 admin', 'AWS::ECS::Service'],
    cfnTypes: ['AWS::ECS::Service', 'AWS::ECS::TaskDefinition', 'AWS::ApplicationAutoScaling::ScalableTarget'],
    network: 'private',
    role: 'api',
    tier: 'api',
  },

  {
    id: 'smoke-test',
    title: 'Pre-traffic smoke test',
    details: [
      'Lambda in the VPC, run by ECS before any',
      'production request; test listener :8080',
      'AWS::Lambda::Function',
    ],
    cfnTypes: ['AWS::Lambda::Function'],
    network: 'private',
    role: 'ops',
  },

  {
    id: 'admin-task',
    title: 'Admin task tier-<stage>-admin',
    details: [
      'one-off, api image, read-only, owner login',
      'default: inspect.js (read-only); ECS Exec off',
      'AWS::ECS::TaskDefinition',
    ],
    cfnTypes: ['AWS::ECS::TaskDefinition'],
    network: 'private',
    role: 'ops',
  },

  // Isolated subnets
  {
    id: 'rds-primary',
    title: 'RDS PostgreSQL 17 primary',
    details: ['encrypted (KMS), TLS only, PITR', 'AWS::RDS::DBInstance'],
    cfnTypes: ['AWS::RDS::DBInstance', 'AWS::RDS::DBSubnetGroup', 'AWS::RDS::DBParameterGroup'],
    network: 'isolated',
    role: 'data',
    tier: 'db',
    shape: 'cylinder',
  },
  {
    id: 'rds-standby',
    title: 'RDS standby (Multi-AZ)',
    details: ['synchronous replica in another AZ', 'automatic failover (prod)'],
    cfnTypes: ['AWS::RDS::DBInstance'],
    network: 'isolated',
    role: 'data',
    tier: 'db',
    stages: ['prod'],
    shape: 'cylinder',
  },

  // Regional services outside the VPC
  {
    id: 'secret',
    title: 'DB credentials',
    details: ['Secrets Manager: owner managed by RDS,', 'API user rotated (alternating users)'],
    cfnTypes: ['AWS::SecretsManager::Secret', 'AWS::SecretsManager::RotationSchedule'],
    network: 'regional',
    role: 'security',
  },
  {
    id: 'kms',
    title: 'KMS keys',
    details: ['per concern, rotation on', 'AWS::KMS::Key'],
    cfnTypes: ['AWS::KMS::Key'],
    network: 'regional',
    role: 'security',
  },
  {
    id: 'live-db',
    title: 'Live database parameters (SSM)',
    details: [
      '/tier/<stage>/db/{instance-id,host,',
      'master-secret-arn}; tier restore switches them',
      'AWS::SSM::Parameter',
    ],
    cfnTypes: ['AWS::SSM::Parameter'],
    network: 'regional',
    role: 'data',
  },
  {
    id: 'backup',
    title: 'AWS Backup',
    details: ['vault + daily/weekly/monthly plan', 'selects tag backup=daily', 'AWS::Backup::BackupPlan'],
    cfnTypes: [
      'AWS::Backup::BackupVault',
      'AWS::Backup::BackupPlan',
      'AWS::Backup::BackupSelection',
      'AWS::Backup::RestoreTestingPlan',
    ],
    network: 'regional',
    role: 'data',
    shape: 'folder',
  },
  {
    id: 'logs',
    title: 'CloudWatch Logs',
    details: ['/tier/<stage>/<tier>, RDS, flow logs', 'KMS, retention per stage', 'AWS::Logs::LogGroup'],
    cfnTypes: ['AWS::Logs::LogGroup', 'AWS::EC2::FlowLog'],
    network: 'regional',
    role: 'ops',
  },
  {
    id: 'access-logs',
    title: 'S3 access-log buckets',
    details: ['ALB and CloudFront access logs', 'AWS::S3::Bucket'],
    cfnTypes: ['AWS::S3::Bucket'],
    network: 'regional',
    role: 'ops',
    shape: 'folder',
  },
  {
    id: 'metrics',
    title: 'CloudWatch metrics',
    details: ['dashboards per tier, db, edge', 'alarms -> SNS topic (e-mail)', 'AWS::CloudWatch::Dashboard'],
    cfnTypes: ['AWS::CloudWatch::Dashboard', 'AWS::CloudWatch::Alarm', 'AWS::SNS::Topic'],
    network: 'regional',
    role: 'ops',
  },
  {
    id: 'ecr',
    title: 'ECR repositories',
    details: ['tier-web, tier-api; immutable tags', 'AWS::ECR::Repository'],
    cfnTypes: ['AWS::ECR::Repository'],
    network: 'regional',
    role: 'pipeline',
  },
  {
    id: 'ecs-cluster',
    title: 'ECS cluster',
    details: ['Container Insights, admin task', 'AWS::ECS::Cluster'],
    cfnTypes: ['AWS::ECS::Cluster'],
    network: 'regional',
    role: 'ops',
  },
  {
    id: 'deploy-role',
    title: 'Deploy role (GitHub OIDC)',
    details: ['no long-lived keys', 'AWS::IAM::Role'],
    cfnTypes: ['AWS::IAM::Role'],
    network: 'regional',
    role: 'pipeline',
  },

  // The pipeline, outside AWS
  {
    id: 'github',
    title: 'GitHub Actions',
    details: ['workflow main: changes, verify,', 'build, staging, production'],
    cfnTypes: [],
    network: 'github',
    role: 'pipeline',
  },
];

export const awsSecurityGroups: readonly AwsSecurityGroup[] = [
  { id: 'sg-web-alb', node: 'alb-web', pathPattern: /\/SecurityGroups\/WebAlb\// },
  { id: 'sg-api-alb', node: 'alb-api', pathPattern: /\/SecurityGroups\/ApiAlb\// },
  { id: 'sg-web-tasks', node: 'ecs-web', pathPattern: /\/SecurityGroups\/WebTasks\// },
  { id: 'sg-api-tasks', node: 'ecs-api', pathPattern: /\/SecurityGroups\/ApiTasks\// },
  { id: 'sg-database', node: 'rds-primary', pathPattern: /\/SecurityGroups\/Database\// },
  // The API user secret's rotation function, drawn as part of the secret it rotates.
  { id: 'sg-secret-rotation', node: 'secret', pathPattern: /\/SecurityGroups\/SecretRotation\// },
  { id: 'sg-smoke-tests', node: 'smoke-test', pathPattern: /\/SecurityGroups\/SmokeTests\// },
];

/** The chain CloudFront -> ALB -> tasks -> database, and the smoke test -> the ALBs' test listeners, as ingress rules. */
export const awsSgLinks: readonly AwsSgLink[] = [
  { from: 'cloudfront', to: 'alb-web', ports: [80], source: 'prefix-list' },
  { from: 'cloudfront', to: 'alb-api', ports: [80], source: 'prefix-list' },
  { from: 'alb-web', to: 'ecs-web', ports: [3000, 9100], source: 'security-group' },
  { from: 'alb-api', to: 'ecs-api', ports: [3000, 9100], source: 'security-group' },
  { from: 'ecs-web', to: 'alb-api', ports: [80], source: 'security-group' },
  { from: 'ecs-api', to: 'rds-primary', ports: [5432], source: 'security-group' },
  { from: 'secret', to: 'rds-primary', ports: [5432], source: 'security-group' },
  // Each ALB's test listener, which ECS points at a new version's tasks before production traffic moves.
  { from: 'smoke-test', to: 'alb-web', ports: [8080], source: 'security-group' },
  { from: 'smoke-test', to: 'alb-api', ports: [8080], source: 'security-group' },
];

export const awsFlows: readonly AwsFlow[] = [
  { from: 'users', to: 'cloudfront', label: 'HTTPS', kind: 'traffic' },
  { from: 'waf', to: 'cloudfront', label: 'filters', kind: 'control' },
  { from: 'rds-primary', to: 'rds-standby', label: 'sync replication', kind: 'backup' },
  { from: 'rds-primary', to: 'backup', label: 'daily recovery point', kind: 'backup' },
  { from: 'secret', to: 'ecs-api', label: 'API user, read per connection', kind: 'control' },
  { from: 'kms', to: 'secret', label: 'encrypts', kind: 'control' },
  { from: 'ecs-api', to: 'nat', label: 'egress: ECR, Secrets Manager', kind: 'traffic' },
  { from: 'ecs-web', to: 'logs', label: 'awslogs (JSON lines)', kind: 'logs' },
  { from: 'ecs-api', to: 'logs', label: 'awslogs', kind: 'logs' },
  { from: 'rds-primary', to: 'logs', label: 'postgresql log', kind: 'logs' },
  { from: 'alb-web', to: 'access-logs', label: 'access logs', kind: 'logs' },
  { from: 'cloudfront', to: 'access-logs', label: 'standard logs', kind: 'logs' },
  { from: 'logs', to: 'metrics', label: 'ECS, ALB, RDS, CloudFront metrics', kind: 'metrics' },
  { from: 'ecs-cluster', to: 'metrics', label: 'Container Insights', kind: 'metrics' },
  { from: 'github', to: 'deploy-role', label: 'OIDC AssumeRole', kind: 'deploy' },
  { from: 'deploy-role', to: 'ecr', label: 'push images', kind: 'deploy' },
  { from: 'deploy-role', to: 'ecs-cluster', label: 'migrate, update services', kind: 'deploy' },
  { from: 'ecs-cluster', to: 'smoke-test', label: 'pre-traffic hook', kind: 'control' },
  { from: 'metrics', to: 'ecs-cluster', label: 'rollback alarms', kind: 'control' },
  { from: 'ecr', to: 'ecs-api', label: 'pull by digest', kind: 'deploy' },
  { from: 'live-db', to: 'ecs-api', label: 'DBHOST, read at every deployment', kind: 'control' },
  { from: 'operator', to: 'live-db', label: 'tier restore: switch', kind: 'control' },
  { from: 'operator', to: 'admin-task', label: 'aws ecs run-task', kind: 'control' },
  { from: 'admin-task', to: 'logs', label: '/tier/<stage>/exec', kind: 'logs' },
];

/** Availability zones per stage, from the same config the CDK app synthesizes. */
export function stageAzs(stage: Stage): { region: string; azs: number; natGateways: number; multiAz: boolean } {
  const c = stages[stage];
  if (!c) throw new Error(`unknown stage ${stage}`);
  return { region: c.region, azs: c.maxAzs, natGateways: c.natGateways, multiAz: c.database.multiAz };
}

/** The nodes of one stage. */
export function nodesOf(stage: Stage): AwsNode[] {
  return awsNodes.filter((n) => !n.stages || n.stages.includes(stage));
}
