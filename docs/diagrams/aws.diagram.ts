// Lays out the AWS model (aws.model.ts) as a Graphviz graph: edge, VPC subnet tiers with their AZs, regional services, pipeline.
import { type AwsNetwork, awsFlows, awsNodes, awsSgLinks, stageAzs } from './aws.model.js';
import type { DotEdge, DotGraph, DotGroup, DotNode } from './dot.js';

const AZ_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f'];

function azChip(network: 'public' | 'private' | 'isolated', text: string): DotNode {
  const prod = stageAzs('prod');
  const dev = stageAzs('dev');
  const azs = AZ_LETTERS.slice(0, prod.azs)
    .map((l) => `AZ ${l}`)
    .join(' | ');
  return {
    id: `az-${network}`,
    title: `${network} subnet per AZ`,
    details: [azs, `prod ${prod.azs} AZs, dev ${dev.azs} AZs`, text],
    role: 'network',
    shape: 'note',
  };
}

function ids(network: AwsNetwork): string[] {
  return awsNodes.filter((n) => n.network === network).map((n) => n.id);
}

/** The AWS architecture diagram (prod layout; stage differences written on the boxes). */
export function awsDiagram(): DotGraph {
  const prod = stageAzs('prod');
  const dev = stageAzs('dev');
  const chips = [
    azChip('public', 'route to internet gateway'),
    azChip('private', 'egress through NAT only'),
    azChip('isolated', 'no route out'),
  ];
  const nodes: DotNode[] = [
    ...awsNodes.map((n) => ({
      id: n.id,
      title: n.stages ? `${n.title} [${n.stages.join(', ')}]` : n.title,
      details: n.details ?? [],
      role: n.role,
      ...(n.shape ? { shape: n.shape } : {}),
    })),
    ...chips,
  ];
  const edges: DotEdge[] = [
    ...awsSgLinks.map(
      (l): DotEdge => ({
        from: l.from,
        to: l.to,
        kind: 'sg',
        label: `${l.source === 'prefix-list' ? 'origin prefix list ' : ''}tcp ${l.ports.join(', ')}`,
      }),
    ),
    ...awsFlows.map(
      (f): DotEdge => ({
        from: f.from,
        to: f.to,
        kind: f.kind,
        ...(f.label ? { label: f.label } : {}),
        ...(f.kind === 'control' ? { constraint: false } : {}),
      }),
    ),
  ];
  const subnet = (network: 'public' | 'private' | 'isolated', label: string): DotGroup => ({
    id: network,
    label,
    style: network,
    nodes: [...ids(network), `az-${network}`],
  });
  const groups: DotGroup[] = [
    { id: 'internet', label: 'Internet', style: 'external', nodes: ids('internet') },
    { id: 'github', label: 'GitHub', style: 'external', nodes: ids('github') },
    {
      id: 'aws',
      label: 'AWS account (one per stage config)',
      style: 'cloud',
      groups: [
        { id: 'global', label: 'Global edge (WAF scope CLOUDFRONT)', style: 'global', nodes: ids('global') },
        {
          id: 'region',
          label: `Region (prod ${prod.region}, dev ${dev.region})`,
          style: 'region',
          groups: [
            {
              id: 'vpc',
              label: `VPC: ${prod.azs} AZs in prod (NAT per AZ), ${dev.azs} in dev (${dev.natGateways} NAT); flow logs`,
              style: 'vpc',
              groups: [
                subnet('public', 'Public subnets'),
                subnet('private', 'Private subnets (with egress)'),
                subnet('isolated', 'Isolated subnets (data)'),
              ],
            },
            {
              id: 'regional',
              label: 'Regional services: secrets, keys, backups, logs, metrics, images',
              style: 'plain',
              nodes: ids('regional'),
            },
          ],
        },
      ],
    },
  ];
  return {
    title: 'AWS architecture: CloudFront + WAF -> ALB per tier -> ECS Fargate -> RDS PostgreSQL Multi-AZ',
    direction: 'LR',
    nodes,
    edges,
    groups,
    legend: {
      roles: ['edge', 'web', 'api', 'data', 'ops', 'security', 'pipeline', 'network'],
      flows: ['traffic', 'sg', 'logs', 'metrics', 'backup', 'deploy', 'control'],
    },
    extra: 'ranksep=0.55; nodesep=0.4;',
  };
}
