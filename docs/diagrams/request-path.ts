// The path of one request from the client to the database, each hop with its AWS and local component and what it guarantees.
import type { DotEdge, DotGraph, DotNode } from './dot.js';

interface Hop {
  readonly id: string;
  readonly title: string;
  readonly aws: string;
  readonly local: string;
  readonly does: readonly string[];
  readonly role: DotNode['role'];
}

const hops: readonly Hop[] = [
  {
    id: 'client',
    title: '1. Client',
    aws: 'browser, API client',
    local: 'browser, curl',
    does: ['may send x-request-id'],
    role: 'client',
  },
  {
    id: 'edge',
    title: '2. Edge cache',
    aws: 'CloudFront + WAF',
    local: 'Varnish',
    does: ['assets cached, immutable', 'HTML, /api/*: not stored'],
    role: 'edge',
  },
  {
    id: 'web-lb',
    title: '3. web balancer',
    aws: 'web ALB',
    local: 'web-lb (HAProxy)',
    does: ['ready replicas only', 'retries idempotent requests'],
    role: 'web',
  },
  {
    id: 'web',
    title: '4. web replica',
    aws: 'Fargate task',
    local: 'container',
    does: ['renders the page', 'calls the API, 3 s timeout'],
    role: 'web',
  },
  {
    id: 'api-lb',
    title: '5. api balancer',
    aws: 'api ALB',
    local: 'api-lb (HAProxy)',
    does: ['health checks, retries', 'drains old replicas'],
    role: 'api',
  },
  {
    id: 'api',
    title: '6. api replica',
    aws: 'Fargate task',
    local: 'container',
    does: ['schema-validated input', 'DB down: 503 + Retry-After'],
    role: 'api',
  },
  {
    id: 'db',
    title: '7. PostgreSQL 17',
    aws: 'RDS Multi-AZ, TLS',
    local: 'db (data network)',
    does: ['api tier only', 'WAL archived (PITR)'],
    role: 'data',
  },
];

export function requestPathDiagram(): DotGraph {
  const nodes: DotNode[] = hops.map((h) => ({
    id: h.id,
    title: h.title,
    details: [`AWS: ${h.aws}`, `local: ${h.local}`, ...h.does],
    role: h.role,
    ...(h.id === 'db' ? { shape: 'cylinder' as const } : {}),
  }));
  nodes.push(
    {
      id: 'logs',
      title: 'every hop logs one JSON line',
      details: ['request_id, route, status, ms', 'AWS: CloudWatch Logs', 'local: `tier logs --request-id`'],
      role: 'ops',
      shape: 'note',
    },
    {
      id: 'metrics',
      title: 'RED metrics per route',
      details: ['AWS: CloudWatch', 'local: Prometheus', '`tier metrics`'],
      role: 'ops',
      shape: 'note',
    },
  );
  const chain: [string, string, string][] = [
    ['client', 'edge', 'HTTPS GET /'],
    ['edge', 'web-lb', 'miss, pass'],
    ['web-lb', 'web', ':3000'],
    ['api-lb', 'api', ':3000'],
    ['api', 'db', 'SQL, pool'],
  ];
  const edges: DotEdge[] = chain.map(([from, to, label]) => ({ from, to, label, kind: 'traffic' }));
  edges.push(
    // Second row: the API half of the path, under the web half.
    { from: 'web', to: 'api-lb', label: 'GET /api/status', kind: 'traffic', constraint: false },
    { from: 'client', to: 'api-lb', kind: 'traffic', invisible: true },
    { from: 'edge', to: 'api-lb', label: '/api/* direct', kind: 'traffic', constraint: false },
    { from: 'api', to: 'logs', kind: 'logs' },
    { from: 'api', to: 'metrics', kind: 'metrics' },
  );
  return {
    title: 'Request path: client to PostgreSQL, each hop on AWS and locally',
    direction: 'LR',
    nodes,
    edges,
    legend: { roles: [], flows: ['traffic', 'logs', 'metrics'] },
    extra: 'ranksep=0.3;',
  };
}
