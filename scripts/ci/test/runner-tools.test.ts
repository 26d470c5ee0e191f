// Every job of every workflow finds each tool its steps call on the ubuntu-24.04 image or installs it first; the
// check fails a job that calls a tool nothing installs, and the image facts name their source.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  checkRunnerTools,
  DECLARED_COMMANDS,
  declaredNeeds,
  installDepsPackages,
  loadRepository,
  loadRunnerImage,
  type Repository,
  toolsStartedBy,
} from '../lib/runner-tools.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = join(root, '.github', 'workflows');
const image = loadRunnerImage(root, 'ubuntu-24.04');
const images = new Map([[image.image, image]]);
const repo = loadRepository(root);

const CHECKOUT = 'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1';
const SETUP_NODE = 'actions/setup-node@820762786026740c76f36085b0efc47a31fe5020';
/** A one-job workflow: checkout, setup-node 24, then the given steps (YAML list items, indented 6). */
const job = (steps: string, opts: { env?: string; nodeVersion?: number } = {}) =>
  `on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n${opts.env ? `    env:\n      ${opts.env}\n` : ''}    steps:\n` +
  `      - uses: ${CHECKOUT}\n      - uses: ${SETUP_NODE}\n        with:\n          node-version: ${opts.nodeVersion ?? 24}\n${steps}`;
const messages = (source: string, r: Repository = repo) =>
  checkRunnerTools(source, images, r).map((i) => `step ${i.step}: ${i.message}`);

describe('the runner image facts', () => {
  it('name the file and commit of actions/runner-images they come from', () => {
    assert.equal(image.source.repository, 'actions/runner-images');
    assert.match(image.source.commit, /^[0-9a-f]{40}$/);
    assert.ok(image.source.files.includes('images/ubuntu/Ubuntu2404-Readme.md'));
  });
  it('quote the evidence of every tool', () => {
    for (const [tool, fact] of Object.entries(image.tools)) assert.ok(fact.evidence.length > 10, tool);
  });
});

describe('each workflow job runs on ubuntu-24.04 with what the image has or an earlier step installs', () => {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  it('there are workflows', () => assert.ok(files.length > 0));
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8');
    it(`${file}: no job calls a tool it does not have`, () => {
      const issues = checkRunnerTools(source, images, repo);
      assert.deepEqual(
        issues.map((i) => `${i.job} step ${i.step}: ${i.message}`),
        [],
      );
    });
    it(`${file}: every setup-node installs the Node major package.json engines names`, () => {
      const wf = parse(source) as { jobs: Record<string, { steps?: Array<{ uses?: string; with?: object }> }> };
      for (const [id, j] of Object.entries(wf.jobs)) {
        for (const s of j.steps ?? []) {
          if (!s.uses?.startsWith('actions/setup-node@')) continue;
          assert.equal(String((s.with as { 'node-version'?: unknown })?.['node-version']), String(repo.nodeMajor), id);
        }
      }
    });
  }
});

describe('the check is not vacuous', () => {
  it('GIVEN a job that calls a tool nothing installs THEN it fails naming the tool', () => {
    const found = messages(job('      - run: npm ci\n      - run: terraform plan\n'));
    assert.ok(
      found.some((m) => m.startsWith('step 4: needs terraform: not on the runner image')),
      found.join('\n'),
    );
  });

  it('GIVEN a job that lints before npm ci THEN node_modules is missing', () => {
    const found = messages(job('      - run: npm run ci:lint\n      - run: npm ci\n'));
    assert.ok(
      found.some((m) => m.startsWith('step 3: needs node_modules')),
      found.join('\n'),
    );
  });

  it("GIVEN no setup-node THEN the image's Node 22 does not meet engines", () => {
    const source = `on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ${CHECKOUT}\n      - run: npm ci\n`;
    const found = messages(source);
    assert.ok(
      found.some((m) => /needs node: the image's Node 22\.\d+\.\d+ is older than the Node 24/.test(m)),
      found.join('\n'),
    );
  });

  it('GIVEN setup-node 20 THEN engines (24) is not met', () => {
    const found = messages(job('      - run: npm ci\n', { nodeVersion: 20 }));
    assert.ok(
      found.some((m) => m.includes('installs node@20')),
      found.join('\n'),
    );
  });

  it('GIVEN change detection on a shallow clone THEN the base commit is missing', () => {
    const found = messages(job('      - run: npm ci\n      - run: npm run ci:changes -- --base "$B"\n'));
    assert.ok(
      found.some((m) => m.includes('needs git-history')),
      found.join('\n'),
    );
  });

  it('GIVEN tier up without TIER_ENGINE=docker THEN podman and Compose v1 would have to be apt-installed', () => {
    const without = messages(job('      - run: npm ci\n      - run: npx tier up\n'));
    assert.ok(
      without.some((m) => m.includes('needs docker-compose-v1')),
      without.join('\n'),
    );
    assert.deepEqual(
      messages(job('      - run: npm ci\n      - run: npx tier up\n', { env: 'TIER_ENGINE: docker' })),
      [],
    );
  });

  it('GIVEN an AWS deploy without configure-aws-credentials THEN it fails', () => {
    const found = messages(job('      - run: npm ci\n      - run: npm run ci:deploy -- --target aws --stage dev\n'));
    assert.ok(
      found.some((m) => m.includes('needs aws-credentials')),
      found.join('\n'),
    );
  });

  it('GIVEN cdk deploy without configure-aws-credentials THEN it fails; the offline diff needs none', () => {
    const deploy = messages(job('      - run: npm ci\n      - run: npm run ci:infra -- deploy --stage dev\n'));
    assert.ok(
      deploy.some((m) => m.includes('needs aws-credentials')),
      deploy.join('\n'),
    );
    assert.deepEqual(
      messages(job('      - run: npm ci\n      - run: npm run ci:infra -- diff --stage dev --base-dir b\n')),
      [],
    );
  });

  it('GIVEN the image SBOM and scan without the syft and grype downloads THEN both tools are missing', () => {
    const steps =
      '      - run: npm ci\n      - run: npm run ci:sbom -- --version v\n      - run: npm run ci:scan -- --version v\n';
    const without = messages(job(steps));
    assert.ok(
      without.some((m) => m.startsWith('step 4: needs syft')),
      without.join('\n'),
    );
    assert.ok(
      without.some((m) => m.startsWith('step 5: needs grype')),
      without.join('\n'),
    );
    const downloads =
      '      - uses: anchore/sbom-action/download-syft@e22c389904149dbc22b58101806040fa8d37a610\n' +
      '      - uses: anchore/scan-action/download-grype@e1165082ffb1fe366ebaf02d8526e7c4989ea9d2\n';
    assert.deepEqual(messages(job(downloads + steps)), []);
  });

  it('GIVEN a repository command nobody declared THEN it fails asking what it calls', () => {
    const found = messages(job('      - run: npm ci\n      - run: npm run ci:something-new\n'));
    assert.ok(
      found.some((m) => m.includes("'npm run ci:something-new' is not declared")),
      found.join('\n'),
    );
  });

  it('GIVEN the install script apt-installs chromium and runc (the old one) THEN both are refused on the image', () => {
    const old: Repository = {
      ...repo,
      readFile: (p) =>
        p === 'scripts/install-deps.sh'
          ? 'APT_PACKAGES=(\n  # page tests\n  postgresql\n  chromium\n  runc\n)\n'
          : repo.readFile(p),
    };
    const found = messages(job('      - run: sudo bash scripts/install-deps.sh\n      - run: npm ci\n'), old);
    assert.ok(
      found.some((m) => m.includes('apt-installs chromium on ubuntu-24.04')),
      found.join('\n'),
    );
    assert.ok(
      found.some((m) => m.includes('apt-installs runc on ubuntu-24.04')),
      found.join('\n'),
    );
  });

  it('GIVEN a job that installs what none of its steps use THEN it fails', () => {
    const found = messages(
      job('      - run: sudo bash scripts/install-deps.sh\n      - run: npm ci\n      - run: npm run ci:lint\n'),
    );
    assert.ok(
      found.some((m) => m.startsWith("step 3: 'sudo bash scripts/install-deps.sh' installs")),
      found.join('\n'),
    );
  });
});

describe('scripts/install-deps.sh', () => {
  it('declares each package with the tool it stands for, and installs chromium only where no browser is', () => {
    const wanted = installDepsPackages(readFileSync(join(root, 'scripts/install-deps.sh'), 'utf8'));
    assert.deepEqual(
      wanted.map((w) => w.pkg),
      ['postgresql', 'chromium', 'fonts-dejavu-core', 'graphviz', 'git'],
    );
    // On the runner image the browser and PostgreSQL are present, so nothing it would apt-install is refused there.
    for (const w of wanted)
      if (image.aptRefused[w.pkg]) assert.ok(w.tool && image.tools[w.tool], `${w.pkg} would be installed`);
  });
});

describe('the declared needs of each repository command cover what its script starts', () => {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  for (const key of DECLARED_COMMANDS.filter((k) => k.startsWith('npm run '))) {
    const name = key.slice('npm run '.length);
    it(`${key}: every program its script starts is a declared need`, () => {
      const body = scripts[name];
      assert.ok(body, `package.json has no script ${name}`);
      const file = body.split(/\s+/).find((w) => /\.(ts|sh)$/.test(w));
      if (!file) return; // another npm script (ci:e2e -> test:e2e): node and npm only
      const started = [...toolsStartedBy(root, file)].filter((t) => !['node', 'npm', 'bash'].includes(t));
      const declared = declaredNeeds(key) ?? [];
      assert.deepEqual(
        started.filter((t) => !declared.includes(t)),
        [],
        `${file} starts tools ${key} does not declare`,
      );
    });
  }

  it('GIVEN a script that starts a program THEN the scan finds it (the check is not vacuous)', () => {
    assert.ok(toolsStartedBy(root, 'scripts/ci/changed-tiers.ts').has('git'));
    assert.ok(toolsStartedBy(root, 'scripts/ci/lint.sh').has('git'), 'through lint.sh -> tsconfig-coverage.ts');
  });
});
