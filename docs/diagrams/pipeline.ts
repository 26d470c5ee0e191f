// The delivery pipeline: pull-request checks, the main-branch delivery to staging and prod, and the same stages run locally.
import type { DotEdge, DotGraph, DotGroup, DotNode } from './dot.js';

const step = (id: string, title: string, details: string[], role: DotNode['role'] = 'pipeline'): DotNode => ({
  id,
  title,
  details,
  role,
});

export function pipelineDiagram(): DotGraph {
  const nodes: DotNode[] = [
    step('commit', 'git push / pull request', ['GitHub'], 'client'),
    step('lint', 'lint + typecheck', ['biome, tsc -b']),
    step('unit', 'unit + integration tests', ['real PostgreSQL']),
    step('synth', 'IaC synth + policy gates', ['cdk synth per stage', 'cdk-nag, cfn-guard']),
    step('images', 'build images', ['one per tier, tag = git sha', 'digest recorded']),
    step('audit', 'audit + SBOM', ['fail on high/critical', 'reviewed allow-list']),
    step('e2e', 'e2e on local environment', ['tier up, load, failures', 'zero failed requests']),
    step('docs', 'docs render + checks', ['diagrams vs templates', 'runbook commands exist']),
    step('push', 'push to ECR once', ['immutable tags, by digest']),
    step('migrate', 'migrations', ['one-off ECS task', 'expand/contract only']),
    step('staging', 'deploy staging', ['ECS rolling, circuit breaker', 'alarm rollback']),
    step('smoke', 'smoke test', ['through CloudFront']),
    step('approve', 'approval', ['GitHub environment: prod'], 'security'),
    step('prod', 'deploy prod', ['same image digests', 'never rebuilt']),
    step('post', 'post-deploy checks', ['alarms, smoke']),
    step('rollback', 'automatic rollback', ['previous task definition'], 'data'),
    step(
      'local',
      '`tier pipeline` (laptop)',
      ['same stages, local target', 'deploys changed tiers only', 'rolls back on failed smoke'],
      'ops',
    ),
  ];
  const flow = (from: string, to: string, label?: string): DotEdge => ({
    from,
    to,
    kind: 'deploy',
    ...(label ? { label } : {}),
  });
  const edges: DotEdge[] = [
    flow('commit', 'lint'),
    flow('lint', 'unit'),
    flow('unit', 'synth'),
    flow('synth', 'images'),
    flow('images', 'audit'),
    flow('audit', 'e2e'),
    flow('e2e', 'docs'),
    // Two rows: the main-branch delivery starts its own row under the checks.
    { from: 'docs', to: 'push', label: 'main only, all checks green', kind: 'deploy', constraint: false },
    { from: 'commit', to: 'push', kind: 'deploy', invisible: true },
    flow('push', 'migrate'),
    flow('migrate', 'staging'),
    flow('staging', 'smoke'),
    flow('smoke', 'approve', 'pass'),
    flow('approve', 'prod'),
    flow('prod', 'post'),
    { from: 'smoke', to: 'rollback', label: 'fail', kind: 'backup' },
    { from: 'post', to: 'rollback', label: 'fail', kind: 'backup' },
    { from: 'local', to: 'lint', label: 'same commands', kind: 'control' },
  ];
  const groups: DotGroup[] = [
    {
      id: 'pr',
      label: 'Every pull request and push (OIDC not needed)',
      style: 'plain',
      nodes: ['commit', 'lint', 'unit', 'synth', 'images', 'audit', 'e2e', 'docs'],
    },
    {
      id: 'main',
      label: 'main branch: delivery to AWS (GitHub OIDC role, one deploy at a time, changed tiers only)',
      style: 'global',
      nodes: ['push', 'migrate', 'staging', 'smoke', 'approve', 'prod', 'post', 'rollback'],
    },
    { id: 'laptop', label: 'Locally', style: 'external', nodes: ['local'] },
  ];
  return {
    title: 'Delivery pipeline: the same repository commands in GitHub Actions and on a laptop',
    direction: 'LR',
    nodes,
    edges,
    groups,
    legend: { roles: ['pipeline', 'security', 'data', 'ops'], flows: ['deploy', 'backup', 'control'] },
    extra: 'ranksep=0.4;',
  };
}
