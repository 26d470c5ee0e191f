// The AWS model (aws.model.ts) as slide-sized pictures: an overview and three focused views. Every box stands for
// boxes of the model (`of`), so the templates check in aws-consistency.test.ts covers the views too, and
// docs/test/aws-views.test.ts proves each model box is drawn in some focused view.
import { stages } from '../../infra/aws/config/index.js';
import { awsFlows, awsNodes, awsSgLinks, stageAzs } from './aws.model.js';
import type { DotEdge, DotGraph, DotGroup, DotNode, FlowKind, GroupStyle } from './dot.js';

export interface ViewBox {
  readonly id: string;
  /** Model boxes this box stands for. @default [id] */
  readonly of?: readonly string[];
  readonly title: string;
  readonly details?: readonly string[];
  readonly grid?: readonly (readonly string[])[];
  readonly shape?: DotNode['shape'];
}

export interface AwsView {
  readonly name: string;
  readonly title: string;
  readonly direction: 'LR' | 'TB';
  readonly groups: readonly { id: string; label: string; style: GroupStyle; boxes: readonly ViewBox[] }[];
  /** Boxes outside any group. */
  readonly loose?: readonly ViewBox[];
  readonly edges: readonly DotEdge[];
  readonly flows: readonly FlowKind[];
  readonly extra?: string;
}

const prod = stageAzs('prod');
const dev = stageAzs('dev');
const model = new Map(awsNodes.map((n) => [n.id, n]));

/** The ports of the security-group rule from one box to another, as the model (and so the templates) has it. */
function sgLabel(from: string, to: string): string {
  const link = awsSgLinks.find((l) => l.from === from && l.to === to);
  if (!link) throw new Error(`aws.model.ts has no security-group rule ${from} -> ${to}`);
  return `tcp ${link.ports.join(', ')}${link.source === 'prefix-list' ? ' (CloudFront prefix list)' : ''}`;
}
const sg = (from: string, to: string, label = sgLabel(from, to)): DotEdge => ({ from, to, kind: 'sg', label });
/** A non-security-group arrow of the model, with its label unless one is given. */
function flow(from: string, to: string, label?: string): DotEdge {
  const f = awsFlows.find((x) => x.from === from && x.to === to);
  if (!f) throw new Error(`aws.model.ts has no flow ${from} -> ${to}`);
  const text = label ?? f.label;
  return { from, to, kind: f.kind, ...(text ? { label: text } : {}) };
}
const modelBox = (id: string, details?: readonly string[], title?: string): ViewBox => {
  const n = model.get(id);
  if (!n) throw new Error(`aws.model.ts has no box ${id}`);
  return {
    id,
    title: title ?? n.title,
    ...(details ? { details } : {}),
    ...(n.shape ? { shape: n.shape } : {}),
  };
};

const azLetters = (n: number) => ['a', 'b', 'c', 'd', 'e', 'f'].slice(0, n);

const overview: AwsView = {
  name: 'aws-overview',
  title: 'AWS overview: CloudFront + WAF -> ALB per tier -> ECS Fargate -> RDS Multi-AZ',
  direction: 'TB',
  loose: [modelBox('users', ['browsers, API clients'])],
  groups: [
    {
      id: 'edge',
      label: 'Global edge',
      style: 'global',
      boxes: [
        {
          id: 'edge',
          of: ['cloudfront', 'waf'],
          title: 'CloudFront + WAF',
          details: ['/api/* -> api ALB', '/* -> web ALB'],
        },
      ],
    },
    {
      id: 'private',
      label: 'VPC: private subnets',
      style: 'private',
      boxes: [
        modelBox('alb-web', ['internal, health /readyz']),
        modelBox('alb-api', ['internal, health /readyz']),
        modelBox('ecs-web', ['Fargate, 2+ tasks'], 'ECS web'),
        modelBox('ecs-api', ['Fargate, 2+ tasks'], 'ECS api'),
      ],
    },
    {
      id: 'isolated',
      label: 'VPC: isolated subnets',
      style: 'isolated',
      boxes: [
        {
          id: 'db',
          of: ['rds-primary', 'rds-standby'],
          title: 'RDS PostgreSQL 17',
          details: ['primary + standby', '(Multi-AZ, prod)'],
          shape: 'cylinder',
        },
      ],
    },
    {
      id: 'regional',
      label: 'Regional services',
      style: 'plain',
      boxes: [
        { id: 'ops', of: ['logs', 'metrics'], title: 'CloudWatch', details: ['logs, dashboards, alarms'] },
        modelBox('backup', ['daily, weekly, monthly']),
        {
          id: 'delivery',
          of: ['github', 'deploy-role', 'ecr'],
          title: 'GitHub OIDC -> ECR',
          details: ['images by digest'],
        },
      ],
    },
  ],
  edges: [
    { from: 'users', to: 'edge', kind: 'traffic', label: 'HTTPS' },
    { from: 'edge', to: 'alb-web', kind: 'traffic' },
    { from: 'edge', to: 'alb-api', kind: 'traffic' },
    { from: 'alb-web', to: 'ecs-web', kind: 'traffic' },
    { from: 'alb-api', to: 'ecs-api', kind: 'traffic' },
    { from: 'ecs-web', to: 'alb-api', kind: 'traffic', label: 'API_HOST', constraint: false },
    { from: 'ecs-api', to: 'db', kind: 'traffic', label: 'TLS' },
    { from: 'db', to: 'backup', kind: 'backup' },
    { from: 'ecs-api', to: 'ops', kind: 'logs' },
    { from: 'delivery', to: 'ecs-api', kind: 'deploy' },
  ],
  flows: ['traffic', 'logs', 'backup', 'deploy'],
};

/** Subnets per AZ (prod), as columns: what runs in each. */
function azGrid(): string[][] {
  const letters = azLetters(prod.azs);
  return [
    ['subnets', ...letters.map((l) => `AZ ${l}`)],
    ['public', ...letters.map(() => 'NAT')],
    ['private', ...letters.map(() => 'ALBs, web + api tasks')],
    ['isolated', ...letters.map((_, i) => (i === 0 ? 'RDS primary' : i === 1 && prod.multiAz ? 'RDS standby' : '-'))],
  ];
}

const network: AwsView = {
  name: 'aws-network',
  title: 'AWS edge and network: each hop admits only the one before it (security groups, ports)',
  direction: 'TB',
  loose: [modelBox('users', ['browsers, API clients'])],
  groups: [
    {
      id: 'edge',
      label: 'Global edge',
      style: 'global',
      boxes: [
        modelBox('waf', ['managed rules + rate limit']),
        modelBox('cloudfront', ['adds origin-verify header'], 'CloudFront'),
      ],
    },
    {
      id: 'public',
      label: `Public subnets (NAT: ${prod.natGateways} prod, ${dev.natGateways} dev)`,
      style: 'public',
      boxes: [modelBox('nat', undefined, 'NAT gateways')],
    },
    {
      id: 'private',
      label: 'Private subnets (egress via NAT)',
      style: 'private',
      boxes: [
        modelBox('alb-web'),
        modelBox('alb-api'),
        modelBox('ecs-web', undefined, 'web tasks'),
        modelBox('ecs-api', undefined, 'api tasks'),
      ],
    },
    {
      id: 'isolated',
      label: 'Isolated subnets (no route out)',
      style: 'isolated',
      boxes: [modelBox('rds-primary', undefined, 'RDS primary'), modelBox('rds-standby', undefined, 'RDS standby')],
    },
  ],
  edges: [
    { from: 'users', to: 'cloudfront', kind: 'traffic', label: 'HTTPS 443' },
    { from: 'waf', to: 'cloudfront', kind: 'control', label: 'filters', constraint: false },
    sg('cloudfront', 'alb-web', 'tcp 80, VPC origin'),
    sg('cloudfront', 'alb-api', 'tcp 80, VPC origin'),
    sg('alb-web', 'ecs-web'),
    sg('alb-api', 'ecs-api'),
    { ...sg('ecs-web', 'alb-api'), constraint: false },
    sg('ecs-api', 'rds-primary'),
    { ...flow('ecs-api', 'nat', 'egress'), constraint: false },
    { ...flow('rds-primary', 'rds-standby', 'sync'), constraint: false },
    // Layout only: the NAT gateways in the public row, the AZ table beside the subnets.
    { from: 'cloudfront', to: 'nat', kind: 'control', invisible: true },
    { from: 'users', to: 'azs', kind: 'control', invisible: true },
    { from: 'ecs-api', to: 'rds-standby', kind: 'control', invisible: true },
  ],
  flows: ['traffic', 'sg', 'control', 'backup'],
  extra: 'ranksep=0.45; nodesep=0.5;',
};

const P = stages.prod!;
const D = stages.dev!;

const data: AwsView = {
  name: 'aws-data',
  title: 'AWS data and backups: the database is the only mutable state',
  direction: 'TB',
  loose: [
    modelBox('ecs-api', ['API user secret read', 'per new connection'], 'api tasks'),
    modelBox('operator', ['tier restore --target aws'], 'Operator'),
    modelBox('live-db', ['/tier/<stage>/db/*: which', 'instance is live'], 'Live database (SSM)'),
  ],
  groups: [
    {
      id: 'isolated',
      label: 'Isolated subnets',
      style: 'isolated',
      boxes: [
        modelBox(
          'rds-primary',
          [
            'KMS encrypted, TLS only',
            `PITR: ${P.database.backupRetentionDays} d prod, ${D.database.backupRetentionDays} d dev`,
          ],
          'RDS primary',
        ),
        modelBox('rds-standby', ['another AZ, prod only', 'automatic failover'], 'RDS standby'),
      ],
    },
    {
      id: 'regional',
      label: 'Regional services',
      style: 'plain',
      boxes: [
        modelBox('secret', ['owner: managed by RDS', 'API user: alternating users'], 'Secrets Manager'),
        modelBox('kms', ['one per concern,', 'yearly rotation']),
        modelBox('backup', [
          `prod: daily ${P.backup.dailyRetentionDays} d, weekly ${P.backup.weeklyRetentionWeeks} w,`,
          `monthly ${P.backup.monthlyRetentionMonths} m; dev: ${D.backup.dailyRetentionDays} d / ${D.backup.weeklyRetentionWeeks} w / ${D.backup.monthlyRetentionMonths} m`,
          ...(P.backup.copyToVaultArn ? [`prod: daily copy to ${P.backup.copyToVaultArn.split(':')[3]}`] : []),
          'weekly restore test, validated',
        ]),
      ],
    },
  ],
  edges: [
    // Unlabelled: the api box says what it reads, and a label here would sit on the DBHOST one.
    { from: 'secret', to: 'ecs-api', kind: 'control' },
    flow('live-db', 'ecs-api', 'DBHOST'),
    flow('operator', 'live-db', 'restore: switch'),
    sg('ecs-api', 'rds-primary', 'tcp 5432, TLS'),
    { ...flow('rds-primary', 'rds-standby', 'sync replication'), constraint: false },
    { from: 'ecs-api', to: 'rds-standby', kind: 'control', invisible: true },
    flow('rds-primary', 'backup', 'daily 03:00 UTC'),
    { ...flow('kms', 'secret', 'encrypts'), constraint: false },
  ],
  flows: ['sg', 'backup', 'control'],
};

const delivery: AwsView = {
  name: 'aws-delivery',
  title: 'AWS delivery and operations: keyless deploys, logs and metrics per stage',
  direction: 'TB',
  loose: [
    modelBox('github', ['build: SBOM, scan gate,', 'attestations; staging, production'], 'GitHub Actions'),
    modelBox('deploy-role', ['per stage; trusts one', 'GitHub environment'], 'Deploy role (OIDC)'),
    modelBox('ecr', ['immutable tags; prod', 'copies staging digests'], 'ECR'),
    modelBox('ecs-cluster', ['canary: 10 % for 5 min, then', 'all; alarms roll it back'], 'ECS cluster'),
    modelBox(
      'smoke-test',
      ['Lambda in the VPC, read-only', 'GETs before production traffic'],
      'Pre-traffic smoke test',
    ),
    modelBox('operator', ['operator role, no SSH', 'no ECS Exec'], 'Operator'),
    modelBox('admin-task', ['one-off, read-only,', 'inspect.js by default'], 'Admin task'),
    { id: 'tasks', of: ['ecs-web', 'ecs-api'], title: 'web + api tasks', details: ['JSON log lines'] },
    { id: 'lbs', of: ['cloudfront', 'alb-web', 'alb-api'], title: 'CloudFront, ALBs', details: ['access logs'] },
    modelBox('logs', [`/tier/<stage>/<tier>, KMS`, `kept ${P.observability.logRetentionDays} d`], 'CloudWatch Logs'),
    modelBox(
      'access-logs',
      [`kept ${P.observability.accessLogRetentionDays} d prod, ${D.observability.accessLogRetentionDays} d dev`],
      'S3 access logs',
    ),
    modelBox('metrics', ['dashboards: tiers, db, edge', 'alarms -> SNS e-mail'], 'CloudWatch metrics'),
  ],
  groups: [],
  edges: [
    flow('github', 'deploy-role', 'OIDC, no keys'),
    flow('deploy-role', 'ecr', 'push / copy'),
    flow('deploy-role', 'ecs-cluster', 'deploy'),
    { from: 'ecr', to: 'tasks', kind: 'deploy', label: 'pull by digest' },
    { from: 'ecs-cluster', to: 'tasks', kind: 'deploy' },
    flow('ecs-cluster', 'smoke-test', 'hook'),
    { from: 'smoke-test', to: 'lbs', kind: 'sg', label: `${sgLabel('smoke-test', 'alb-web')} test listener` },
    { ...flow('metrics', 'ecs-cluster', 'rollback alarms'), constraint: false },
    { from: 'ecs-cluster', to: 'lbs', kind: 'control', invisible: true },
    { from: 'tasks', to: 'logs', kind: 'logs', label: 'awslogs' },
    { from: 'lbs', to: 'access-logs', kind: 'logs' },
    flow('logs', 'metrics', 'metrics'),
    { ...flow('ecs-cluster', 'metrics', 'Container Insights'), constraint: false },
    flow('operator', 'admin-task', 'run-task'),
    flow('admin-task', 'logs', '/tier/<stage>/exec'),
  ],
  flows: ['deploy', 'sg', 'logs', 'metrics', 'control'],
};

export const awsViews: readonly AwsView[] = [overview, network, data, delivery];

/** The model boxes a view box stands for. */
export const modelIdsOf = (b: ViewBox): readonly string[] => b.of ?? [b.id];

export function viewGraph(view: AwsView): DotGraph {
  const boxes = [...(view.loose ?? []), ...view.groups.flatMap((g) => g.boxes)];
  const nodes: DotNode[] = boxes.map((b) => {
    const first = model.get(modelIdsOf(b)[0]!);
    if (!first) throw new Error(`${view.name}: box ${b.id} stands for no box of aws.model.ts`);
    return {
      id: b.id,
      title: b.title,
      role: first.role,
      ...(b.details ? { details: b.details } : {}),
      ...(b.grid ? { grid: b.grid } : {}),
      ...(b.shape ? { shape: b.shape } : {}),
    };
  });
  const groups: DotGroup[] = view.groups.map((g) => ({
    id: g.id,
    label: g.label,
    style: g.style,
    nodes: g.boxes.map((b) => b.id),
  }));
  if (view.name === 'aws-network') {
    nodes.push({
      id: 'azs',
      title: `Subnets per AZ (prod ${prod.azs}, dev ${dev.azs})`,
      role: 'network',
      grid: azGrid(),
    });
  }
  return {
    title: view.title,
    direction: view.direction,
    nodes,
    edges: view.edges,
    groups,
    legend: { roles: [], flows: view.flows },
    ...(view.extra ? { extra: view.extra } : {}),
  };
}
