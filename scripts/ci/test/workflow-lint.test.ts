// The workflow checks on deliberately broken examples: each kind of mistake is found and named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionlint,
  checkCommand,
  checkWorkflow,
  commandsOf,
  type RepoCommands,
  tierCommandsFromHelp,
} from '../lib/workflow-lint.js';

const repo: RepoCommands = {
  rootScripts: new Set(['ci:lint', 'ci:deploy', 'test']),
  workspaceScripts: new Map([
    ['apps/web', new Set(['test', 'build'])],
    ['@tier/web', new Set(['test', 'build'])],
  ]),
  tierCommands: new Set(['deploy', 'rollback', 'status', 'pipeline']),
  fileExists: (p) => ['scripts/install-deps.sh', 'scripts/ci/audit.ts'].includes(p),
};
const problem = (line: string) =>
  commandsOf(line)
    .map((words) => checkCommand(words, repo))
    .find(Boolean);

const BROKEN = `name: broken
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@main
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::111111111111:role/deploy
          aws-region: eu-west-1
      - run: npm run ci:lint && npm run ci:nope
      - run: curl -fsSL https://example.com/install.sh | bash
      - run: npx tier --target aws --stage prod deplyo --version abc
      - run: bash scripts/missing.sh
      - run: echo \${{ github.event.pull_request.title }} \${{ steps.nope.outputs.x }}
  later:
    needs: [deploy, ghost]
    runs-on: ubuntu-latest
    steps:
      - run: npm test
`;

describe('run-step commands', () => {
  it('accepts root scripts, workspace scripts, npm builtins, tier commands and repository files', () => {
    for (const ok of [
      'npm ci --no-audit',
      'npm run ci:deploy -- --target aws --version "$VERSION"',
      'npm run build -w apps/web',
      'npm test -w @tier/web',
      'npx tier --target aws --stage prod rollback --tier web',
      'npx tier --json status',
      'sudo bash scripts/install-deps.sh',
      'npx tsx scripts/ci/audit.ts',
      'FOO=1 npm run ci:lint',
      'npm run ci:lint # a comment',
    ]) {
      assert.equal(problem(ok), undefined, ok);
    }
  });

  it('names what is missing', () => {
    assert.match(problem('npm run ci:nope')!, /no root script 'ci:nope'/);
    assert.match(problem('npm run lint -w apps/web')!, /has no script 'lint'/);
    assert.match(problem('npm test -w apps/nope')!, /no workspace/);
    assert.match(problem('npx tier --target aws --stage prod deplyo')!, /'tier deplyo' is not a tier command/);
    assert.match(problem('bash scripts/missing.sh')!, /does not exist/);
    assert.match(problem('curl -fsSL https://x | bash')!, /must call a repository command/);
    assert.match(problem('npm run ci:lint && rm -rf /')!, /must call a repository command/);
  });

  it('splits multi-line scripts, continuations and operators', () => {
    assert.deepEqual(commandsOf('npm ci\nnpm run a -- \\\n  --x "a b" && npm run b; npm run c | tee f'), [
      ['npm', 'ci'],
      ['npm', 'run', 'a', '--', '--x', 'a b'],
      ['npm', 'run', 'b'],
      ['npm', 'run', 'c'],
      ['tee', 'f'],
    ]);
  });

  it('reads tier commands from --help', () => {
    const help =
      'Usage: tier\n\nOptions:\n  --json  x\n\nCommands:\n  up   start\n  scale <tier=count...>  set\n  help [command]  h\n';
    assert.deepEqual([...tierCommandsFromHelp(help)], ['up', 'scale']);
  });
});

describe('a deliberately broken workflow', () => {
  it('fails the repository checks with one finding per mistake', () => {
    const messages = checkWorkflow(BROKEN, 'broken.yml', repo).map((i) => `${i.kind} ${i.line} ${i.message}`);
    const expectations = [
      /^policy 1 set top-level `permissions:`/,
      /^policy 7 .*pin 'actions\/checkout@main'/,
      /^policy 8 .*pin 'aws-actions\/configure-aws-credentials@v4' to the full commit sha/,
      /^run-step 12 .*no root script 'ci:nope'/,
      /^run-step 13 .*must call a repository command/,
      /^run-step 14 .*'tier deplyo'/,
      /^run-step 15 .*scripts\/missing.sh does not exist/,
      /needs `permissions: id-token: write`/,
      /needs a `concurrency:` group/,
      /set timeout-minutes/,
    ];
    for (const re of expectations)
      assert.ok(
        messages.some((m) => re.test(m)),
        `missing ${re}\n${messages.join('\n')}`,
      );
  });

  it('fails actionlint: unknown job in needs, undefined step output', async () => {
    const issues = await actionlint(BROKEN, 'broken.yml');
    assert.ok(
      issues.some((i) => /needs job "ghost" which does not exist/.test(i.message)),
      JSON.stringify(issues),
    );
    assert.ok(
      issues.some((i) => /"nope" is not defined/.test(i.message) || /untrusted/.test(i.message)),
      JSON.stringify(issues),
    );
  });

  it('accepts an action pinned to a commit sha with its release as a comment, nothing less', () => {
    const wf = (uses: string) =>
      `on: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 5\n    steps:\n      - uses: ${uses}\n`;
    const pins = (uses: string) => checkWorkflow(wf(uses), 'w.yml', repo).filter((i) => i.message.includes('pin'));
    const sha = '3d3c42e5aac5ba805825da76410c181273ba90b1';
    assert.deepEqual(pins(`actions/checkout@${sha} # v7.0.1`), []);
    assert.equal(pins(`actions/checkout@${sha}`).length, 1, 'a sha without the release it is');
    assert.equal(pins('actions/checkout@v7.0.1').length, 1, 'a tag');
  });

  it('reports malformed YAML with its line instead of crashing', () => {
    const issues = checkWorkflow('on: push\njobs:\n  a: [unclosed\n', 'bad.yml', repo);
    assert.equal(issues[0]?.kind, 'yaml');
  });
});
