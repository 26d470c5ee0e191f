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
    aws: 'browser / API client',
    local: 'browser, curl, load generator',
    does: ['may send x-request-id'],
    role: 'client',
  },
  {
    id: 'edge',
    title: '2. Edge cache',
    aws: 'CloudFront + WAF',
    local: 'Varnish (edge)',
    does: [
      'WAF rules + rate limit (AWS)',
      'assets: cached, immutable',
      'HTML and /api/*: not stored',
      'sets x-request-id if missing',
    ],
    role: 'edge',
  },
  {
    id: 'web-lb',
    title: '3. web balancer',
    aws: 'web ALB (CloudFront prefix list only)',
    local: 'web-lb (HAProxy)',
    does: [
      'only ready replicas (/readyz :9100)',
      'retry idempotent on another replica',
      'idle timeout 60 s < keep-alive 65 s',
    ],
    role: 'web',
  },
  {
    id: 'web',
    title: '4. web replica',
    aws: 'ECS Fargate task',
    local: 'web container',
    does: ['renders the page', 'calls the API with timeout', 'forwards x-request-id'],
    role: 'web',
  },
  {
    id: 'api-lb',
    title: '5. api balancer',
    aws: 'api ALB or service discovery',
    local: 'api-lb (HAProxy)',
    does: ['/api/* from the edge arrives here too', 'health checks, retries, draining'],
    role: 'api',
  },
  {
    id: 'api',
    title: '6. api replica',
    aws: 'ECS Fargate task',
    local: 'api container',
    does: ['schema-validated input', 'one shared pg pool, parameterised SQL', 'DB down -> 503 + Retry-After'],
    role: 'api',
  },
  {
    id: 'db',
    title: '7. PostgreSQL 17',
    aws: 'RDS Multi-AZ (TLS required)',
    local: 'db container (data network)',
    does: ['reachable from the api tier only', 'WAL archived for PITR'],
    role: 'data',
  },
];

export function requestPathDiagram(): DotGraph {
  const nodes: DotNode[] = hops.map((h) => ({
    id: h.id,
    title: h.title,
    details: [`AWS: ${h.aws}`, `local: ${h.local}`, ...h.does.map((d) => `- ${d}`)],
    role: h.role,
    ...(h.id === 'db' ? { shape: 'cylinder' as const } : {}),
  }));
  nodes.push(
    {
      id: 'logs',
      title: 'every hop logs one JSON line',
      details: [
        'with request_id, route, status, duration_ms',
        'AWS: CloudWatch Logs Insights',
        'local: rsyslog store; `tier logs --request-id`',
      ],
      role: 'ops',
      shape: 'note',
    },
    {
      id: 'metrics',
      title: 'RED metrics per route',
      details: ['http_request_duration_seconds', 'AWS: CloudWatch; local: Prometheus', '`tier metrics`'],
      role: 'ops',
      shape: 'note',
    },
  );
  const chain: [string, string, string][] = [
    ['client', 'edge', 'HTTPS GET /'],
    ['edge', 'web-lb', 'miss or pass'],
    ['web-lb', 'web', ':3000'],
    ['api-lb', 'api', ':3000'],
    ['api', 'db', 'SELECT now() (pool)'],
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
    title: 'Request path: client -> edge -> web balancer -> web -> api balancer -> api -> PostgreSQL',
    direction: 'LR',
    nodes,
    edges,
    legend: { roles: ['client', 'edge', 'web', 'api', 'data', 'ops'], flows: ['traffic', 'logs', 'metrics'] },
    extra: 'ranksep=0.45;',
  };
}
