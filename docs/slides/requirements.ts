// Requirement -> mechanism -> the tests that prove it. Rendered into the slides and docs/requirements.md; named test files
// must exist (docs/test/docs-links.test.ts), and tests that land later in a folder are found by their file names.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Requirement {
  readonly requirement: string;
  readonly mechanism: string;
  /** Test files that exist today (paths from the repository root). */
  readonly tests: readonly string[];
  /** Folders whose *.test.ts files whose names match `match` also prove it (e.g. e2e tests written later). */
  readonly discover?: { readonly dir: string; readonly match: RegExp };
}

export const requirements: readonly Requirement[] = [
  {
    requirement: 'Compatible with node-3tier-app2 (API and page)',
    mechanism: '`GET /api/status` -> `[{time, request_uuid}]`; page "3tier App" with time, uuid, image, stylesheet',
    tests: ['apps/api/test/routes.test.ts', 'apps/web/test/guestbook.test.ts', 'apps/web/test/browser.test.ts'],
  },
  {
    requirement: 'DB outage answers 503, never 500, and recovers by itself',
    mechanism: 'pool with acquisition and statement timeouts; 503 + Retry-After; web shows a friendly page',
    tests: ['apps/api/test/db-outage.test.ts', 'apps/web/test/api-unavailable.test.ts'],
    discover: { dir: 'test/e2e', match: /db|restart|outage/i },
  },
  {
    requirement: 'Zero-downtime deploys',
    mechanism:
      'SIGTERM: readiness 503 -> drain -> close; a canary judged on 5xx and p99 against the old version: start-first rollout (local), ECS canary after a pre-traffic smoke test on the test listener, alarm rollback (AWS)',
    tests: [
      'apps/api/test/shutdown.test.ts',
      'packages/runtime/test/shutdown.test.ts',
      'packages/tier/test/local-rollout.test.ts',
      'packages/tier/test/aws-deploy.test.ts',
      'infra/aws/test/services.test.ts',
      'infra/aws/test/progressive-delivery.test.ts',
      'infra/aws/test/alarms.test.ts',
    ],
    discover: { dir: 'test/e2e', match: /deploy|rollout|rollback/i },
  },
  {
    requirement: 'Survives an instance failure (self-healing)',
    mechanism:
      'balancer health checks on /readyz, retries on another replica; restart policy + healthcheck runner; ECS replaces tasks',
    tests: ['infra/aws/test/services.test.ts'],
    discover: { dir: 'test/e2e', match: /fail|kill|heal|hung|replace/i },
  },
  {
    requirement: 'Scales out and in',
    mechanism: '`tier scale`; DNS-discovered replicas (local); ECS autoscaling on CPU and requests per target',
    tests: ['packages/tier/test/aws-services.test.ts', 'infra/aws/test/services.test.ts'],
    discover: { dir: 'test/e2e', match: /scal/i },
  },
  {
    requirement: 'Schema changes without downtime',
    mechanism: 'versioned migrations run once as a one-off job, expand/contract rule',
    tests: ['apps/api/test/migrations.test.ts'],
  },
  {
    requirement: 'Edge caching that is safe',
    mechanism:
      'fingerprinted assets immutable for a year; HTML and API no-store; Varnish / CloudFront policies per path',
    tests: ['apps/web/test/assets-and-headers.test.ts', 'infra/aws/test/edge-security-observability.test.ts'],
    discover: { dir: 'test/e2e', match: /edge|cache/i },
  },
  {
    requirement: 'Backups and point-in-time restore',
    mechanism:
      'pgBackRest daily + WAL archive (local); RDS PITR + AWS Backup plan by tag (AWS); `tier backup verify`; AWS restore into a new instance, verified, switched by the live-database parameters, resumable',
    tests: [
      'packages/tier/test/aws-database.test.ts',
      'packages/tier/test/aws-restore.test.ts',
      'infra/aws/test/live-database.test.ts',
      'infra/aws/test/network-and-data.test.ts',
    ],
    discover: { dir: 'test/e2e', match: /backup|restore/i },
  },
  {
    requirement: 'Central logs and historical metrics',
    mechanism: 'JSON logs -> rsyslog store / CloudWatch Logs; Prometheus / CloudWatch; `tier logs`, `tier metrics`',
    tests: ['packages/tier/test/aws-observe.test.ts', 'infra/aws/test/edge-security-observability.test.ts'],
    discover: { dir: 'test/e2e', match: /log|metric/i },
  },
  {
    requirement: 'AWS architecture as code, secure by default',
    mechanism:
      'CDK v2 stacks per concern; SG chain CloudFront -> ALB -> tasks -> DB, web -> api ALB; ECS Exec off, a one-off admin task; cdk-nag + cfn-guard at synth',
    tests: [
      'infra/aws/test/network-and-data.test.ts',
      'infra/aws/test/web-to-api.test.ts',
      'infra/aws/test/services.test.ts',
      'infra/aws/test/edge-security-observability.test.ts',
      'infra/aws/test/policy-gates.test.ts',
      'docs/test/aws-consistency.test.ts',
    ],
  },
  {
    requirement: 'Fully automated delivery gated by tests',
    mechanism:
      'same repository commands in GitHub Actions and `tier pipeline`; change detection; image SBOM by digest, scan gate, provenance + SBOM attestations; smoke test; rollback',
    tests: [
      'scripts/ci/test/supply-chain-workflow.test.ts',
      'scripts/ci/test/image-scan-policy.test.ts',
      'packages/tier/test/pipeline-changed-tiers.test.ts',
      'packages/tier/test/pipeline-run.test.ts',
      'packages/tier/test/pipeline-smoke.test.ts',
    ],
    discover: { dir: 'test/e2e', match: /pipeline/i },
  },
  {
    requirement: 'Docs true to the code',
    mechanism:
      'diagrams generated from models checked against templates and compose; runbook commands checked against the CLI',
    tests: ['docs/test/aws-consistency.test.ts', 'docs/test/runbook-commands.test.ts', 'docs/test/render.test.ts'],
  },
];

/** Named tests plus discovered ones, each path relative to the repository root. */
export function provingTests(r: Requirement, repoDir: string): string[] {
  const found = [...r.tests];
  if (r.discover) {
    const dir = join(repoDir, r.discover.dir);
    if (existsSync(dir)) {
      for (const name of readdirSync(dir).sort()) {
        if (name.endsWith('.test.ts') && r.discover.match.test(name)) found.push(`${r.discover.dir}/${name}`);
      }
    }
  }
  return [...new Set(found)];
}

/** The markdown table; `linkPrefix` turns a repository path into a link from the page it goes in. */
export function requirementsTable(repoDir: string, linkPrefix?: string, part?: readonly [number, number]): string {
  const rows = ['| requirement | mechanism | proved by |', '|---|---|---|'];
  // part [i, n]: the i-th of n slides (1-based), so each slide's table fits at a legible size.
  const size = Math.ceil(requirements.length / (part?.[1] ?? 1));
  const shown = part ? requirements.slice((part[0] - 1) * size, part[0] * size) : requirements;
  for (const r of shown) {
    const tests = provingTests(r, repoDir);
    const cell =
      tests.length === 0
        ? '**no automated test yet**'
        : tests.map((t) => (linkPrefix === undefined ? `\`${t}\`` : `[\`${t}\`](${linkPrefix}${t})`)).join('<br>');
    rows.push(`| ${r.requirement} | ${r.mechanism} | ${cell} |`);
  }
  return rows.join('\n');
}
