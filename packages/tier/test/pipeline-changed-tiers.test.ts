// Change detection: example diffs and the tiers they redeploy, for the local and the AWS target.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commitPart } from '../src/images/git.js';
import { decide, detectChanges, matches } from '../src/pipeline/changed-tiers.js';

describe('change detection', () => {
  const cases: Array<{ name: string; paths: string[]; local: string[]; aws?: string[] }> = [
    { name: 'a web view', paths: ['apps/web/src/views/pages.ts'], local: ['web'] },
    {
      name: 'a web stylesheet and its test',
      paths: ['apps/web/public/stylesheets/style.css', 'apps/web/test/page.test.ts'],
      local: ['web'],
    },
    { name: 'an API migration', paths: ['apps/api/migrations/0002_add_index.sql'], local: ['api'] },
    { name: 'the API Dockerfile', paths: ['apps/api/Dockerfile'], local: ['api'] },
    { name: 'the shared runtime', paths: ['packages/runtime/src/health.ts'], local: ['api', 'web'] },
    { name: 'the lockfile', paths: ['package-lock.json'], local: ['api', 'web'] },
    { name: 'the root manifest', paths: ['package.json'], local: ['api', 'web'] },
    { name: 'compiler settings', paths: ['tsconfig.base.json'], local: ['api', 'web'] },
    { name: 'type-check-only settings', paths: ['tsconfig.check.json', 'apps/api/test/tsconfig.json'], local: ['api'] },
    { name: 'docs only', paths: ['docs/pipeline.md', 'README.md', 'apps/web/README.md'], local: [] },
    { name: 'CDK code', paths: ['infra/aws/lib/services.ts'], local: [], aws: [] },
    {
      name: 'the local Node base image',
      paths: ['infra/local/images/node/Dockerfile'],
      local: ['api', 'web'],
      aws: [],
    },
    { name: 'a balancer config', paths: ['infra/local/lb/haproxy-web.cfg'], local: [] },
    {
      name: 'the CLI, CI and e2e tests',
      paths: ['packages/tier/src/cli.ts', '.github/workflows/pr.yml', 'test/e2e/deploy.test.ts', 'scripts/ci/audit.ts'],
      local: [],
    },
    {
      name: 'web and api together',
      paths: ['apps/api/src/routes/status.ts', 'apps/web/src/app.ts'],
      local: ['api', 'web'],
    },
    {
      name: 'the audit and image scan allow-lists',
      paths: ['audit-allowlist.json', 'image-allowlist.json'],
      local: [],
      aws: [],
    },
    { name: 'an unknown top-level file', paths: ['Makefile'], local: ['api', 'web'] },
    { name: 'nothing', paths: [], local: [] },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.local.join(' + ') || 'no tier'}`, () => {
      assert.deepEqual(detectChanges(c.paths, 'local').tiers, c.local);
      if (c.aws) assert.deepEqual(detectChanges(c.paths, 'aws').tiers, c.aws);
    });
  }

  it('a web-only change never redeploys the API', () => {
    const change = detectChanges(['apps/web/src/routes/home.ts', 'docs/runbook.md', 'apps/web/public/images/logo.png']);
    assert.deepEqual(change.tiers, ['web']);
  });

  it('names the rule behind every decision and lists infrastructure changes of the target', () => {
    const change = detectChanges(['infra/local/edge/default.vcl', 'infra/aws/lib/edge.ts'], 'local');
    assert.deepEqual(change.infrastructure, ['infra/local/edge/default.vcl']);
    assert.match(decide('infra/aws/lib/edge.ts', 'local').rule, /another target/);
    assert.deepEqual(detectChanges(['infra/aws/lib/edge.ts'], 'aws').infrastructure, ['infra/aws/lib/edge.ts']);
  });

  it('accepts ./ prefixes, backslashes and duplicates', () => {
    const change = detectChanges(['./apps/web/src/app.ts', 'apps\\web\\src\\app.ts', '', '  ']);
    assert.equal(change.decisions.length, 1);
    assert.deepEqual(change.tiers, ['web']);
  });

  it('matches globs: ** spans folders, * stays in one, root patterns are anchored', () => {
    assert.ok(matches('**/*.md', 'README.md'));
    assert.ok(matches('**/*.md', 'apps/web/docs/x.md'));
    assert.ok(matches('apps/web/**', 'apps/web/a/b/c.ts'));
    assert.ok(!matches('apps/web/**', 'apps/webx/a.ts'));
    assert.ok(!matches('package.json', 'apps/web/package.json'));
    assert.ok(!matches('LICENSE*', 'docs/LICENSE'));
  });

  it('reads the commit out of clean and dirty versions, and nothing out of other tags', () => {
    assert.equal(commitPart('0123456789ab'), '0123456789ab');
    assert.equal(commitPart('0123456789ab-dirty-1a2b3c4d'), '0123456789ab');
    assert.equal(commitPart('0123456-dirty'), '0123456');
    assert.equal(commitPart('dev'), undefined);
    assert.equal(commitPart('v1.2.3'), undefined);
  });
});
