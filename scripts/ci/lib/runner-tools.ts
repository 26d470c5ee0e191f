// Reads each workflow job as a hosted runner would run it: every tool a step needs must be on the runner image
// (facts pinned in scripts/ci/runner-images/, with their source) or be installed by an earlier step of the job.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { commandsOf } from './workflow-lint.js';

/** The runner image's tools, as pinned in scripts/ci/runner-images/<image>.json. */
export interface RunnerImage {
  readonly image: string;
  readonly source: {
    readonly repository: string;
    readonly commit: string;
    readonly files: readonly string[];
    readonly imageVersion: string;
  };
  readonly tools: Readonly<Record<string, { readonly evidence: string; readonly version?: string }>>;
  /** apt packages that must not be installed on this image, and why. */
  readonly aptRefused: Readonly<Record<string, string>>;
}

export function loadRunnerImage(root: string, image: string): RunnerImage {
  return JSON.parse(readFileSync(join(root, 'scripts/ci/runner-images', `${image}.json`), 'utf8')) as RunnerImage;
}

/** What the repository offers a job: its scripts' sources and the Node version `engines` asks for. */
export interface Repository {
  /** Minimum Node major from package.json `engines.node`. */
  readonly nodeMajor: number;
  readFile(path: string): string;
}

export function loadRepository(root: string): Repository {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  return { nodeMajor: minimumMajor(pkg.engines?.node ?? ''), readFile: (p) => readFileSync(join(root, p), 'utf8') };
}

/** The lowest major a range like ">=24", "^24.1" or "24.x" admits. */
export function minimumMajor(range: string): number {
  const m = /(\d+)/.exec(range);
  if (!m) throw new Error(`package.json engines.node '${range}' names no Node version`);
  return Number(m[1]);
}

export interface ToolIssue {
  readonly job: string;
  readonly step: number;
  readonly message: string;
}

interface StepTools {
  readonly needs: readonly string[];
  readonly provides: readonly string[];
  /** apt packages the step installs on this image. */
  readonly apt?: readonly string[];
}

type Env = Readonly<Record<string, string>>;

const NODE = ['checkout', 'node', 'npm'];
const NODE_DEPS = [...NODE, 'node_modules'];
/** The engine TIER_ENGINE names; without it the CLI's setup may fall back to podman + docker-compose 1.29 (apt). */
const engineOf = (env: Env) => (env.TIER_ENGINE === 'docker' ? ['docker'] : ['podman', 'docker-compose-v1']);
const composeOf = (env: Env) =>
  env.TIER_ENGINE === 'docker' ? ['docker', 'docker-compose-v2'] : ['podman', 'docker-compose-v1'];
const awsWhen = (args: readonly string[]) => (args.includes('aws') ? ['aws-credentials'] : []);

/**
 * What each repository command a workflow may call runs besides itself (read from the script it starts: git for
 * change detection, the engine for images, PostgreSQL and Chromium for the integration and page tests). A command
 * missing here fails the check: say what it calls before a workflow uses it.
 */
const REPOSITORY_COMMANDS: Readonly<Record<string, (args: readonly string[], env: Env) => StepTools>> = {
  'npm ci': () => ({ needs: NODE, provides: ['node_modules'] }),
  'npm test': () => ({ needs: [...NODE_DEPS, 'postgres', 'chromium'], provides: [] }),
  // biome, tsc, and git ls-files for the tsconfig coverage
  'npm run ci:lint': () => ({ needs: [...NODE_DEPS, 'git'], provides: [] }),
  'npm run ci:workflows': () => ({ needs: NODE_DEPS, provides: [] }),
  // test/support/postgres.ts (initdb, pg_ctl under /usr/lib/postgresql), apps/web's page tests (/usr/bin/chromium)
  'npm run ci:test': () => ({ needs: [...NODE_DEPS, 'postgres', 'chromium'], provides: [] }),
  'npm run ci:synth': () => ({ needs: NODE_DEPS, provides: [] }),
  'npm run ci:audit': () => ({ needs: NODE_DEPS, provides: [] }),
  // syft reads each image: a pushed one from the registry (the job's docker login), a local one from Docker
  'npm run ci:sbom': () => ({ needs: [...NODE_DEPS, 'syft', 'docker'], provides: [] }),
  // grype on each image SBOM ($GRYPE: the path anchore/scan-action/download-grype gives), or on a saved report
  'npm run ci:scan': (args) => ({
    needs: [...NODE_DEPS, ...(args.includes('--report') ? [] : ['grype'])],
    provides: [],
  }),
  // git diff between the base and HEAD: the base must be in the clone; --stage reads the running versions from AWS
  'npm run ci:changes': (args) => ({
    needs: [...NODE_DEPS, 'git', 'git-history', ...(args.includes('--stage') ? ['aws-credentials'] : [])],
    provides: [],
  }),
  'npm run ci:images': (args, env) => ({
    needs: [...NODE_DEPS, ...engineOf(env), ...(args.includes('--push') ? ['registry-login'] : [])],
    provides: [],
  }),
  'npm run ci:stage': () => ({ needs: NODE_DEPS, provides: [] }),
  'npm run ci:deploy': (args) => ({ needs: [...NODE_DEPS, ...awsWhen(args)], provides: [] }),
  'npm run ci:smoke': (args) => ({ needs: [...NODE_DEPS, ...awsWhen(args)], provides: [] }),
  'npm run ci:rollback': (args) => ({ needs: [...NODE_DEPS, ...awsWhen(args)], provides: [] }),
  'npm run ci:promote': () => ({ needs: [...NODE_DEPS, 'aws-credentials'], provides: [] }),
  'npm run ci:migrate': () => ({ needs: [...NODE_DEPS, 'aws-credentials'], provides: [] }),
  // the CDK CLI from node_modules; deploy goes through the stage's bootstrap roles with the job's AWS credentials
  'npm run ci:infra': (args) => ({
    needs: [...NODE_DEPS, ...(args.includes('deploy') ? ['aws-credentials'] : [])],
    provides: [],
  }),
  'npm run ci:e2e': (_args, env) => ({ needs: [...NODE_DEPS, ...composeOf(env)], provides: [] }),
  'npx tier up': (_args, env) => ({ needs: [...NODE_DEPS, ...composeOf(env)], provides: [] }),
  'npx tier logs': (_args, env) => ({ needs: [...NODE_DEPS, ...composeOf(env)], provides: [] }),
  'npx tier down': (_args, env) => ({ needs: [...NODE_DEPS, ...composeOf(env)], provides: [] }),
};

/**
 * What scripts/install-deps.sh may install: its `need <package> <tool> <path>...` lines (installed only when the
 * tool's file is missing), and any `APT_PACKAGES=(...)` list (checked by dpkg, so installed wherever the image has
 * the tool from elsewhere than that Debian package).
 */
export function installDepsPackages(source: string): Array<{ pkg: string; tool?: string }> {
  const needs = [...source.matchAll(/^need\s+(\S+)\s+(\S+)/gm)].map((m) => ({ pkg: m[1]!, tool: m[2]! }));
  const list = /^\s*APT_PACKAGES=\(([^)]*)\)/m.exec(source)?.[1] ?? '';
  const listed = list
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .join(' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((pkg) => ({ pkg }));
  return [...needs, ...listed];
}

/** The tools one run command needs and adds, or why it cannot be judged. */
function runCommandTools(words: string[], env: Env, repo: Repository, image: RunnerImage): StepTools | string {
  const cmd = words.slice(words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)));
  const sudo = cmd[0] === 'sudo';
  const [program, ...args] = sudo ? cmd.slice(1) : cmd;
  if (!program) return { needs: [], provides: [] };
  const sudoNeeds = sudo ? ['sudo'] : [];
  if (program === 'bash' && args[0] === 'scripts/install-deps.sh') {
    // It installs a package only when its tool is missing: on this image, only what the image lacks.
    const wanted = installDepsPackages(repo.readFile('scripts/install-deps.sh'));
    const missing = wanted.filter((w) => !w.tool || !image.tools[w.tool]);
    return {
      needs: ['checkout', 'bash', ...sudoNeeds, ...(missing.length ? ['apt-get'] : [])],
      // What the image already has stays the image's: the step adds only what it installs.
      provides: missing.map((w) => w.tool ?? w.pkg),
      apt: missing.map((w) => w.pkg),
    };
  }
  const key =
    program === 'npm' && (args[0] === 'run' || args[0] === 'run-script')
      ? `npm run ${args.slice(1).find((a) => !a.startsWith('-'))}`
      : program === 'npm' || program === 'npx'
        ? `${program} ${args.slice(0, program === 'npx' && args[0] === 'tier' ? 2 : 1).join(' ')}`
        : undefined;
  const known = key ? REPOSITORY_COMMANDS[key] : undefined;
  if (known) {
    const tools = known(args, env);
    return { ...tools, needs: [...tools.needs, ...sudoNeeds] };
  }
  if (key) return `'${key}' is not declared in scripts/ci/lib/runner-tools.ts: say which tools it calls`;
  // Anything else is a program that must be on the image.
  return { needs: [program, ...sudoNeeds], provides: [] };
}

/** The tools an action adds to the job, and what it needs itself. */
function actionTools(uses: string, withInputs: Record<string, unknown>): StepTools | string {
  const name = uses.split('@')[0]!;
  switch (name) {
    case 'actions/checkout':
      return {
        needs: [],
        provides: ['checkout', ...(String(withInputs['fetch-depth']) === '0' ? ['git-history'] : [])],
      };
    case 'actions/setup-node':
      return { needs: [], provides: [`node@${withInputs['node-version'] ?? ''}`, 'npm'] };
    case 'actions/upload-artifact':
    case 'actions/attest':
      return { needs: [], provides: [] };
    // Each downloads a release binary from GitHub; syft lands on PATH, grype's path is the step's `cmd` output.
    case 'anchore/sbom-action/download-syft':
      return { needs: [], provides: ['syft'] };
    case 'anchore/scan-action/download-grype':
      return { needs: [], provides: ['grype'] };
    case 'aws-actions/configure-aws-credentials':
      return { needs: [], provides: ['aws-credentials'] };
    case 'aws-actions/amazon-ecr-login':
      return { needs: ['docker', 'aws-credentials'], provides: ['registry-login'] };
    default:
      return `action ${name} is not known to scripts/ci/lib/runner-tools.ts: say what it installs and needs`;
  }
}

interface Job {
  readonly 'runs-on'?: string;
  readonly env?: Record<string, unknown>;
  readonly steps?: Array<{
    readonly run?: string;
    readonly uses?: string;
    readonly with?: Record<string, unknown>;
    readonly env?: Record<string, unknown>;
  }>;
}

const plain = (env: Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]));

/** Every tool a step of the workflow needs that neither the image nor an earlier step of its job provides. */
export function checkRunnerTools(
  source: string,
  images: ReadonlyMap<string, RunnerImage>,
  repo: Repository,
): ToolIssue[] {
  const wf = parse(source) as { env?: Record<string, unknown>; jobs?: Record<string, Job> };
  const issues: ToolIssue[] = [];
  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    const add = (step: number, message: string) => issues.push({ job: id, step, message });
    const image = images.get(String(job['runs-on']));
    if (!image) {
      add(0, `runs-on '${job['runs-on']}': no pinned facts in scripts/ci/runner-images/ (use ubuntu-24.04)`);
      continue;
    }
    const have = new Map<string, string>(Object.keys(image.tools).map((t) => [t, `the ${image.image} image`]));
    const installs: Array<{ step: number; what: string; tools: readonly string[]; used: boolean }> = [];
    (job.steps ?? []).forEach((step, i) => {
      const n = i + 1;
      const env = { ...plain(wf.env), ...plain(job.env), ...plain(step.env) };
      const parts: StepTools[] = [];
      if (step.uses) {
        const t = actionTools(step.uses, step.with ?? {});
        if (typeof t === 'string') add(n, t);
        else parts.push(t);
      }
      for (const words of step.run === undefined ? [] : commandsOf(step.run)) {
        const t = runCommandTools(words, env, repo, image);
        if (typeof t === 'string') add(n, t);
        else parts.push(t);
      }
      for (const part of parts) {
        for (const need of part.needs) {
          const provider = resolve(need, have, image, repo.nodeMajor);
          if (typeof provider === 'string') {
            add(n, `needs ${need}: ${provider}`);
            continue;
          }
          for (const inst of installs) if (inst.tools.includes(provider.tool)) inst.used = true;
        }
        for (const pkg of part.apt ?? []) {
          const why = image.aptRefused[pkg];
          if (why) add(n, `apt-installs ${pkg} on ${image.image}: ${why}`);
        }
      }
      for (const part of parts) {
        const added = part.provides;
        for (const t of added) have.set(t, `step ${n}`);
        // Only steps that install something can be superfluous; checkout and setup-node are every job's base.
        if (step.run !== undefined && added.length)
          installs.push({ step: n, what: step.run.trim(), tools: added, used: false });
      }
    });
    for (const inst of installs) {
      if (!inst.used)
        add(inst.step, `'${inst.what}' installs ${inst.tools.join(', ')}, which no later step of the job uses`);
    }
  }
  return issues;
}

/** Which tool satisfies a need: node wants the major `engines` names, from setup-node or the image. */
function resolve(
  need: string,
  have: ReadonlyMap<string, string>,
  image: RunnerImage,
  nodeMajor: number,
): { tool: string } | string {
  if (need === 'node') {
    const setup = [...have.keys()].filter((t) => t.startsWith('node@'));
    const fit = setup.find((t) => Number.parseInt(t.slice(5), 10) >= nodeMajor);
    if (fit) return { tool: fit };
    if (Number.parseInt(image.tools.node?.version ?? '0', 10) >= nodeMajor && !setup.length) return { tool: 'node' };
    if (setup.length)
      return `actions/setup-node installs ${setup.join(', ')}, package.json engines asks for Node ${nodeMajor}`;
    return `the image's Node ${image.tools.node?.version ?? '(none)'} is older than the Node ${nodeMajor} package.json engines asks for, and no earlier step sets up Node ${nodeMajor} (actions/setup-node)`;
  }
  return have.has(need) ? { tool: need } : `not on the runner image and no earlier step of the job installs it`;
}

/** What a declared repository command needs with no arguments and Docker as the engine (for the coverage check). */
export function declaredNeeds(key: string): readonly string[] | undefined {
  return REPOSITORY_COMMANDS[key]?.([], { TIER_ENGINE: 'docker' }).needs;
}

export const DECLARED_COMMANDS: readonly string[] = Object.keys(REPOSITORY_COMMANDS);

/** External programs a script starts, as the tools of the table above (npx and npm are npm, initdb is postgres). */
const PROGRAM_TOOL: Readonly<Record<string, string>> = {
  git: 'git',
  npm: 'npm',
  npx: 'npm',
  node: 'node',
  bash: 'bash',
  docker: 'docker',
  podman: 'podman',
  aws: 'aws',
  initdb: 'postgres',
  pg_ctl: 'postgres',
  psql: 'postgres',
  chromium: 'chromium',
  jq: 'jq',
  curl: 'curl',
  'apt-get': 'apt-get',
  dot: 'graphviz',
  syft: 'syft',
  grype: 'grype',
};

/**
 * The tools a repository script starts, read from its source: literal programs of child-process calls in a
 * TypeScript file and its relative imports, the known programs a shell script runs, and the files it runs in turn.
 */
export function toolsStartedBy(root: string, entry: string, seen = new Set<string>()): Set<string> {
  const tools = new Set<string>();
  if (seen.has(entry)) return tools;
  seen.add(entry);
  const source = readFileSync(join(root, entry), 'utf8');
  const follow = (file: string) => {
    for (const t of toolsStartedBy(root, file, seen)) tools.add(t);
  };
  if (entry.endsWith('.sh')) {
    for (const line of source.split('\n')) {
      for (const words of commandsOf(line)) {
        const w = words.filter((x) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(x));
        const program = w[0] === 'sudo' ? w[1] : w[0];
        if (program && PROGRAM_TOOL[program]) tools.add(PROGRAM_TOOL[program]);
        // Scripts it runs in turn (a glob is a set of test files: their tools are declared by hand).
        const file = w.find((x) => /^(scripts|infra|packages|apps)\/[^*\s]+\.(ts|sh)$/.test(x));
        if (file && existsSync(join(root, file))) follow(file);
      }
    }
    return tools;
  }
  for (const m of source.matchAll(/\b(?:execFile|execFileSync|spawn|spawnSync|exec|run)\(\s*['"]([\w.-]+)['"]/g)) {
    const tool = PROGRAM_TOOL[m[1]!];
    tools.add(tool ?? `unknown program '${m[1]}'`);
  }
  if (/spawn\(process\.execPath|execFileSync\(process\.execPath/.test(source)) tools.add('node');
  for (const m of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
    const file = join(entry, '..', `${m[1]}.ts`);
    if (existsSync(join(root, file))) follow(file);
  }
  return tools;
}
