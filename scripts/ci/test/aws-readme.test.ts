// infra/aws/README.md as a new user runs it: every command block, in order, checked against what it names (npm
// scripts and their parseArgs options, cdk options and stack ids, the `tier` program, the workflow, the stacks'
// regions, qualifiers, repositories, protections and OIDC subjects) and against what the steps before it created.
// Calls to AWS, Docker and GitHub are where it stops; cdk and aws flags are checked against the installed CLIs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs, promisify } from 'node:util';
import { createProgram } from '@tier/cli';
import { App } from 'aws-cdk-lib';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadStageConfig, type StageConfig, stages } from '../../../infra/aws/config/index.js';
import { buildPlatform } from '../../../infra/aws/lib/platform.js';
import { stageTarget } from '../lib/stage.js';
import type { Json } from './conformance/stage-templates.js';
import { oidcSubject, targetStages, workflowJobs } from './conformance/workflows.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = join(ROOT, 'infra/aws/README.md');
const WORKFLOWS = join(ROOT, '.github/workflows');
/** What a `$var` or `$(...)` stands for while checking: a value the test cannot know, only follow. */
const OPAQUE = /^\$\{?\w+\}?$|^\$\(/;

// ---- the stages as `cdk deploy` would see them: the cloud assembly of the same app `npm run synth` builds ----------

interface AssemblyStack {
  /** CDK stack id: what `cdk deploy <selector>` matches. */
  readonly id: string;
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly terminationProtection: boolean;
  readonly dependencies: readonly string[];
  readonly deployRoleArn: string;
  readonly template: Json;
}

function assemble(stage: string): AssemblyStack[] {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'infra/aws/cdk.json'), 'utf8')) as { context: Json };
  const app = new App({ context: { ...cdkJson.context } });
  buildPlatform(app, loadStageConfig(stage));
  return app.synth().stacks.map((s) => ({
    id: s.hierarchicalId,
    stackName: s.stackName,
    account: s.environment.account,
    region: s.environment.region,
    terminationProtection: s.terminationProtection ?? false,
    dependencies: s.dependencies.map((d) => d.id).filter((id) => !id.endsWith('.assets')),
    deployRoleArn: s.assumeRoleArn ?? '',
    template: s.template,
  }));
}

const resourcesOf = (stack: AssemblyStack, type: string): Json[] =>
  Object.values(stack.template.Resources ?? {}).filter((r: Json) => r.Type === type);

// ---- the README: its bash blocks, split into simple commands as a shell would -------------------------------------

export interface Block {
  readonly heading: string;
  readonly line: number;
  readonly lines: readonly string[];
}

export function bashBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const all = markdown.split('\n');
  let heading = '';
  for (let i = 0; i < all.length; i++) {
    const l = all[i]!;
    if (/^#{2,4} /.test(l)) heading = l.replace(/^#+ /, '');
    if (l.trim() === '```bash') {
      const start = i + 1;
      const lines: string[] = [];
      while (++i < all.length && all[i]!.trim() !== '```') lines.push(all[i]!);
      blocks.push({ heading, line: start + 1, lines });
    }
  }
  return blocks;
}

/** Shell words of one simple command: quotes removed, `$(...)` kept whole, a trailing comment dropped. */
export function words(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '$' && command[i + 1] === '(') {
      let depth = 0;
      let j = i;
      for (; j < command.length; j++) {
        if (command[j] === '(') depth++;
        if (command[j] === ')' && --depth === 0) break;
      }
      cur += command.slice(i, j + 1);
      started = true;
      i = j;
    } else if (/\s/.test(c)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else if (c === '#' && !started) break;
    else {
      cur += c;
      started = true;
    }
  }
  assert.equal(quote, undefined, `unclosed quote in: ${command}`);
  if (started) out.push(cur);
  return out;
}

/** Splits a line at `|`, `;` and `&&` outside quotes and `$(...)`. */
function pipeline(line: string): Array<{ text: string; pipedFrom?: string }> {
  const parts: Array<{ text: string; pipedFrom?: string }> = [];
  let cur = '';
  let quote: string | undefined;
  let depth = 0;
  let piped: string | undefined;
  const push = (next?: string) => {
    if (cur.trim()) parts.push({ text: cur.trim(), ...(piped ? { pipedFrom: piped } : {}) });
    piped = next === '|' ? cur.trim() : undefined;
    cur = '';
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && c === '#' && /\s/.test(line[i - 1] ?? ' ')) break;
    else if (depth === 0 && (c === ';' || c === '|' || (c === '&' && line[i + 1] === '&'))) {
      if (c === '&') i++;
      push(c);
      continue;
    }
    cur += c;
  }
  push();
  return parts;
}

// ---- what the walkthrough has done so far, as AWS would hold it ---------------------------------------------------

interface World {
  bootstrapped: Map<string, string>; // `<qualifier> <account>/<region>` -> toolkit stack name
  deployed: Map<string, Set<string>>; // stage -> CDK stack ids
  pushed: Map<string, string>; // stage -> image tag in its repositories
  migrated: Set<string>;
  vars: Map<string, string>; // shell variable -> what it holds
  unprotected: Set<string>; // `<stage> alb|db|stack:<name>`
}

interface Env {
  readonly assemblies: Map<string, AssemblyStack[]>;
  readonly cdkOptions: Map<string, Set<string>>;
  readonly awsOptions: (service: string, op: string) => Promise<Set<string> | undefined>;
}

class ReadmeError extends Error {}
const fail = (message: string): never => {
  throw new ReadmeError(message);
};
const check = (ok: unknown, message: string): void => {
  if (!ok) fail(message);
};

const stageNames = () => Object.keys(stages);
const configOf = (stage: string): StageConfig =>
  stages[stage] ?? fail(`stage '${stage}' is not in infra/aws/config (${stageNames().join(', ')})`);

/** `--name value` / `--name=value` pairs and the rest. */
function flags(args: readonly string[]): { values: Map<string, string[]>; positionals: string[] } {
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const [name, inline] = a.split(/=(.*)/s, 2) as [string, string | undefined];
    const next = args[i + 1];
    const takesNext = inline === undefined && next !== undefined && !next.startsWith('-');
    if (takesNext) i++;
    const value = inline ?? (takesNext ? next : '');
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { values, positionals };
}
const one = (f: ReturnType<typeof flags>, name: string) => f.values.get(name)?.[0];

/** The options a CI script declares to node's parseArgs: the script's own command-line contract. */
function scriptOptions(file: string): ParseArgsConfig {
  const source = readFileSync(file, 'utf8');
  const start = source.indexOf('parseArgs({');
  check(start >= 0, `${relative(ROOT, file)} does not call parseArgs: the README cannot pass it flags`);
  let depth = 0;
  let end = start + 'parseArgs('.length;
  for (; end < source.length; end++) {
    if (source[end] === '{') depth++;
    if (source[end] === '}' && --depth === 0) break;
  }
  const call = source.slice(start, end + 1);
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const m of call.matchAll(/(?:'([\w-]+)'|(\w+)):\s*\{\s*type:\s*'(string|boolean)'([^}]*)\}/g)) {
    options[(m[1] ?? m[2])!] = { type: m[3] as 'string' | 'boolean', multiple: /multiple:\s*true/.test(m[4]!) };
  }
  return { options, allowPositionals: /allowPositionals:\s*true/.test(call), strict: true };
}

/** Environment variables the code reads (the AWS SDK reads AWS_REGION itself). */
function readsEnv(name: string): boolean {
  if (name === 'AWS_REGION') return true;
  const dirs = [
    'scripts/ci',
    'scripts/ci/lib',
    'packages/tier/src',
    'packages/tier/src/images',
    'packages/tier/src/pipeline',
    'packages/tier/src/aws',
  ];
  return dirs.some((d) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith('.ts'))
      .some((f) => readFileSync(join(ROOT, d, f), 'utf8').includes(`process.env.${name}`)),
  );
}

function stackByName(env: Env, name: string): { stage: string; stack: AssemblyStack } {
  for (const [stage, stacks] of env.assemblies) {
    const stack = stacks.find((s) => s.stackName === name);
    if (stack) return { stage, stack };
  }
  return fail(`no stage synthesizes a stack named ${name}`);
}

function upstream(stacks: readonly AssemblyStack[], ids: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const d of stacks.find((s) => s.id === id)?.dependencies ?? []) visit(d);
  };
  for (const id of ids) visit(id);
  return seen;
}

/** picomatch-like stack selector: `*` and `?` only, as the CDK CLI matches hierarchical ids. */
const selects = (pattern: string, id: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(id);

async function checkCommand(
  env: Env,
  world: World,
  cwd: { dir: string },
  text: string,
  pipedFrom?: string,
): Promise<void> {
  const assignment = /^(\w+)=\$\((.*)\)$/s.exec(text);
  if (assignment) {
    await checkCommand(env, world, cwd, assignment[2]!);
    world.vars.set(assignment[1]!, world.vars.get('$last') ?? assignment[2]!);
    return;
  }
  const loop = /^for (\w+) in \$(\w+)$/.exec(text);
  if (loop) {
    world.vars.set(loop[1]!, world.vars.get(loop[2]!) ?? fail(`$${loop[2]} is not set by an earlier step`));
    return;
  }
  if (text.startsWith('do ')) return checkCommand(env, world, cwd, text.slice(3));
  if (text === 'done') return;
  let argv = words(text);
  const assigned = new Map<string, string>();
  while (argv[0] && /^[A-Z_][A-Z0-9_]*=/.test(argv[0])) {
    const [k, v] = argv[0].split(/=(.*)/s, 2) as [string, string];
    check(readsEnv(k), `${k} is read by no CI script or tier source`);
    assigned.set(k, v);
    argv = argv.slice(1);
  }
  world.vars.delete('$last');
  const [head, ...args] = argv;
  for (const a of args)
    if (a.startsWith('$') && !a.startsWith('$(')) {
      const v = a.replace(/^\$\{?(\w+)\}?$/, '$1');
      check(world.vars.has(v), `${a} is used before a step sets it`);
    }
  switch (head) {
    case 'cd': {
      const dir = resolve(cwd.dir, args[0] ?? '');
      check(existsSync(dir), `cd ${args[0]}: no such directory`);
      cwd.dir = dir;
      return;
    }
    case 'git':
      check(args.join(' ') === 'rev-parse HEAD', `git ${args.join(' ')}: the walkthrough only reads HEAD`);
      world.vars.set('$last', 'commit');
      return;
    case 'bash':
      check(existsSync(resolve(cwd.dir, args[0] ?? '')), `bash ${args[0]}: no such file`);
      return;
    case 'npm':
      return checkNpm(env, world, cwd.dir, args, assigned);
    case 'npx':
      if (args[0] === 'cdk') return checkCdk(env, world, cwd.dir, args.slice(1));
      if (args[0] === 'tier') return checkTier(env, world, args.slice(1), assigned);
      return fail(`npx ${args[0]}: not a tool of this repository`);
    case 'aws':
      return checkAws(env, world, args);
    case 'docker': {
      check(args[0] === 'login', `docker ${args[0]}: only docker login is part of the walkthrough`);
      const f = flags(args.slice(1, -1));
      const host = args.at(-1) ?? '';
      const stage = stageNames().find((s) => stageTarget(s).registry === host);
      check(stage, `docker login ${host}: not the registry of any stage`);
      check(f.values.has('--password-stdin') && pipedFrom, 'docker login needs the ECR password on stdin');
      const region = one(flags(words(pipedFrom!)), '--region');
      check(
        region === configOf(stage!).region,
        `docker login ${host} reads a password for ${region}, the registry is in ${configOf(stage!).region}`,
      );
      return;
    }
    case 'gh':
      return checkGh(env, world, args);
    default:
      return fail(`'${head}' has no check here: add one, or keep the README to commands this test knows`);
  }
}

async function checkNpm(env: Env, world: World, dir: string, args: string[], assigned: Map<string, string>) {
  const [verb, ...rest] = args;
  const dash = rest.indexOf('--');
  const own = dash < 0 ? rest : rest.slice(0, dash);
  const passed = dash < 0 ? [] : rest.slice(dash + 1);
  const f = flags(own);
  const workspace = one(f, '-w');
  // npm runs the scripts of the nearest package.json above the directory, or of the workspace named.
  let pkgDir = workspace ? join(ROOT, workspace) : dir;
  while (!workspace && !existsSync(join(pkgDir, 'package.json')) && pkgDir !== ROOT) pkgDir = dirname(pkgDir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const script = verb === 'test' ? 'test' : f.positionals[0];
  check(verb === 'run' || verb === 'test', `npm ${verb}: the walkthrough only runs scripts`);
  const body = pkg.scripts?.[script ?? ''];
  check(body, `npm run ${script}: no such script in ${relative(ROOT, join(pkgDir, 'package.json')) || 'package.json'}`);
  const tsx = /^tsx (scripts\/ci\/[\w-]+\.ts)$/.exec(body!);
  if (!tsx) {
    check(passed.length === 0, `npm run ${script} is '${body}': the README passes it arguments it does not read`);
    if (script === 'synth') for (const s of stageNames()) world.vars.set(`synth:${s}`, 'ok');
    return;
  }
  const file = join(pkgDir, tsx[1]!);
  const concrete = passed.map((a) => (OPAQUE.test(a) ? '0123456789abcdef0123456789abcdef01234567' : a));
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ ...scriptOptions(file), args: concrete }));
  } catch (err) {
    return fail(`npm run ${script} -- ${passed.join(' ')}: ${(err as Error).message}`);
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const region = (stage: string, what: string) =>
    check(
      assigned.get('AWS_REGION') === configOf(stage).region,
      `${what} for ${stage} needs AWS_REGION=${configOf(stage).region} (it reads the stage's stacks there), got ${assigned.get('AWS_REGION') ?? 'none'}`,
    );
  const deployed = (stage: string, id: string, what: string) =>
    check(world.deployed.get(stage)?.has(id), `${what}: ${stage}'s ${id} stack is not deployed by an earlier step`);
  switch (script) {
    case 'ci:stage': {
      const stage = str('stage') ?? fail('ci:stage needs --stage');
      const environment = configOf(stage).pipeline.githubEnvironment;
      check(str('environment') === environment, `stage ${stage} trusts environment '${environment}'`);
      return;
    }
    case 'ci:images': {
      const template = str('push') ?? fail('ci:images without --push pushes nothing');
      const host = template.split('/')[0]!;
      const stage = stageNames().find((s) => stageTarget(s).registry === host);
      check(stage, `--push ${template}: ${host} is not the registry of any stage`);
      deployed(stage!, 'Registry', 'ci:images --push');
      const repos = resourcesOf(
        env.assemblies.get(stage!)!.find((s) => s.id === 'Registry')!,
        'AWS::ECR::Repository',
      ).map((r) => `${host}/${r.Properties.RepositoryName}`);
      for (const t of (str('tiers') ?? '').split(',')) {
        const target = template.replaceAll('{tier}', t);
        check(repos.includes(target), `--push ${template}: ${target} is not a repository of ${stage}`);
      }
      check(['docker', 'podman'].includes(assigned.get('TIER_ENGINE') ?? 'podman'), 'TIER_ENGINE is docker or podman');
      const workflowImage = (parseYaml(readFileSync(join(WORKFLOWS, 'main.yml'), 'utf8')) as Json).env?.TIER_NODE_IMAGE;
      if (assigned.has('TIER_NODE_IMAGE'))
        check(
          assigned.get('TIER_NODE_IMAGE') === workflowImage,
          `TIER_NODE_IMAGE: the pipeline builds on ${workflowImage}`,
        );
      world.pushed.set(stage!, passed[passed.indexOf('--version') + 1]!);
      return;
    }
    case 'ci:promote': {
      const from = str('from')!;
      const to = str('to')!;
      check(configOf(to).pipeline.promoteFrom === from, `${to} does not promote from ${from} (pipeline.promoteFrom)`);
      deployed(from, 'Registry', 'ci:promote');
      deployed(to, 'Registry', 'ci:promote');
      const version = passed[passed.indexOf('--version') + 1]!;
      check(world.pushed.get(from) === version, `ci:promote: ${from}'s repositories hold no ${version} yet`);
      for (const d of (values.digest as string[] | undefined) ?? []) {
        const [tier, digest = ''] = d.split('=');
        check(
          world.vars.get(digest.replace(/^\$/, '')) === `digest ${from} ${tier} ${version}`,
          `--digest ${d}: not the digest of ${from}'s ${tier} image ${version}`,
        );
      }
      world.pushed.set(to, version);
      return;
    }
    case 'ci:migrate': {
      const stage = str('stage')!;
      region(stage, 'ci:migrate');
      deployed(stage, 'Services', 'ci:migrate (its task definition is a services output)');
      check(
        world.pushed.get(stage) === passed[passed.indexOf('--version') + 1],
        `ci:migrate: ${stage} has no such image`,
      );
      world.migrated.add(stage);
      return;
    }
    case 'ci:smoke': {
      const stage = str('stage')!;
      check(str('target') === 'aws', 'ci:smoke against a stage needs --target aws');
      region(stage, 'ci:smoke');
      deployed(stage, 'Edge', 'ci:smoke (it reads the distribution)');
      return;
    }
    default:
      return fail(`npm run ${script}: add what the walkthrough expects of it to this test`);
  }
}

async function checkCdk(env: Env, world: World, dir: string, args: string[]) {
  const [verb, ...rest] = args;
  const known = env.cdkOptions.get(verb ?? '') ?? fail(`cdk ${verb}: not a cdk command the walkthrough uses`);
  const f = flags(rest);
  for (const name of f.values.keys()) check(known.has(name), `cdk ${verb} has no option ${name}`);
  if (verb === 'bootstrap') {
    const qualifier = one(f, '--qualifier');
    const stage = stageNames().find((s) => configOf(s).pipeline.bootstrapQualifier === qualifier);
    check(stage, `--qualifier ${qualifier}: no stage's pipeline.bootstrapQualifier`);
    const stacks = env.assemblies.get(stage!)!;
    for (const s of stacks) {
      check(
        s.deployRoleArn.includes(`role/cdk-${qualifier}-deploy-role-`),
        `${s.stackName} deploys through ${s.deployRoleArn}`,
      );
    }
    const needed = [...new Set(stacks.map((s) => `aws://${s.account}/${s.region}`))].sort();
    check(
      JSON.stringify([...f.positionals].sort()) === JSON.stringify(needed),
      `bootstrap of ${stage}: the stage deploys to ${needed.join(' ')}, the README bootstraps ${f.positionals.join(' ')}`,
    );
    const toolkit = one(f, '--toolkit-stack-name') ?? 'CDKToolkit';
    for (const e of f.positionals) {
      const key = `${qualifier} ${e}`;
      for (const [other, name] of world.bootstrapped)
        check(name !== toolkit || other.split(' ')[1] !== e, `${toolkit} in ${e} is already another qualifier's`);
      world.bootstrapped.set(key, toolkit);
    }
    return;
  }
  check(existsSync(join(dir, 'cdk.json')), `cdk ${verb} runs in ${relative(ROOT, dir) || '.'}, which has no cdk.json`);
  const context = new Map((f.values.get('-c') ?? []).map((c) => c.split('=') as [string, string]));
  const stage = context.get('stage') ?? fail(`cdk ${verb} without -c stage=<stage>`);
  const stacks = env.assemblies.get(stage) ?? fail(`-c stage=${stage}: no such stage`);
  const imageTag = context.get('imageTag');
  if (imageTag) loadStageConfig(stage, { imageTag: OPAQUE.test(imageTag) ? 'a'.repeat(40) : imageTag });
  const selected = f.values.has('--all') ? stacks.map((s) => s.id) : f.positionals;
  check(selected.length > 0, `cdk ${verb}: name the stacks or pass --all`);
  const ids = new Set<string>();
  for (const p of selected) {
    const matched = stacks.filter((s) => selects(p, s.id));
    check(matched.length, `cdk ${verb} ${p}: no stack of ${stage} has that id (${stacks.map((s) => s.id).join(', ')})`);
    for (const s of matched) ids.add(s.id);
  }
  if (verb === 'list' || verb === 'synth') return;
  if (verb === 'deploy') {
    const all = upstream(stacks, ids);
    for (const s of stacks.filter((x) => all.has(x.id)))
      check(
        world.bootstrapped.has(`${configOf(stage).pipeline.bootstrapQualifier} aws://${s.account}/${s.region}`),
        `${s.stackName} deploys to ${s.region}, which no earlier step bootstraps for ${stage}`,
      );
    const runsImages = stacks.filter((s) => all.has(s.id) && resourcesOf(s, 'AWS::ECS::Service').length);
    if (runsImages.length)
      check(
        imageTag && world.pushed.get(stage) === imageTag,
        `cdk deploy of ${stage}'s ${runsImages.map((s) => s.id).join(', ')} starts containers: it needs -c imageTag=<a tag an earlier step pushed>`,
      );
    const provider = configOf(stage).pipeline.existingOidcProviderArn;
    if (provider && all.has('PipelineAccess')) {
      const owner = stageNames().find(
        (s) =>
          s !== stage &&
          !configOf(s).pipeline.existingOidcProviderArn &&
          configOf(s).account === configOf(stage).account,
      );
      check(
        owner && world.deployed.get(owner)?.has('PipelineAccess'),
        `${stage} reuses ${provider}: deploy its creator first`,
      );
    }
    world.deployed.set(stage, new Set([...(world.deployed.get(stage) ?? []), ...all]));
    return;
  }
  // destroy: every protection the stage's stacks carry must have been switched off before.
  for (const s of stacks.filter((x) => ids.has(x.id))) {
    if (s.terminationProtection)
      check(world.unprotected.has(`${stage} stack:${s.stackName}`), `${s.stackName} has termination protection`);
    for (const db of resourcesOf(s, 'AWS::RDS::DBInstance'))
      if (db.Properties.DeletionProtection)
        check(
          world.unprotected.has(`${stage} db:${db.Properties.DBInstanceIdentifier}`),
          `${s.stackName}: the DB has deletion protection`,
        );
    for (const lb of resourcesOf(s, 'AWS::ElasticLoadBalancingV2::LoadBalancer'))
      if (
        lb.Properties.LoadBalancerAttributes?.some(
          (a: Json) => a.Key === 'deletion_protection.enabled' && a.Value === 'true',
        )
      )
        check(
          world.unprotected.has(`${stage} alb:${s.stackName}`),
          `${s.stackName}: the ALBs have deletion protection`,
        );
  }
  for (const other of stageNames().filter((s) => s !== stage && world.deployed.get(s)?.size))
    if (
      ids.has('PipelineAccess') &&
      configOf(other).pipeline.existingOidcProviderArn &&
      !configOf(stage).pipeline.existingOidcProviderArn
    )
      fail(
        `destroying ${stage}'s PipelineAccess deletes the OIDC provider ${other} still uses: tear ${other} down first`,
      );
  const left = [...(world.deployed.get(stage) ?? [])].filter((id) => !ids.has(id));
  world.deployed.set(stage, new Set(left));
}

/** The `tier` program with every action replaced, so a command line is parsed exactly as bin/tier.js would parse it. */
async function parseTier(args: string[]): Promise<{ command: string; globals: Json }> {
  const program = createProgram();
  let ran = '';
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    if (c.commands.length === 0)
      c.action(() => {
        ran = c.name();
      });
    for (const sub of c.commands) quiet(sub);
  };
  quiet(program);
  await program.parseAsync(args, { from: 'user' });
  return { command: ran, globals: program.opts() };
}

async function checkTier(env: Env, world: World, args: string[], assigned: Map<string, string>) {
  let parsed: Awaited<ReturnType<typeof parseTier>>;
  try {
    parsed = await parseTier(args);
  } catch (err) {
    return fail(`tier ${args.join(' ')}: ${(err as Error).message}`);
  }
  check(parsed.command, `tier ${args.join(' ')} runs no command`);
  const { target, stage, region } = parsed.globals;
  check(target === 'aws', `tier ${args.join(' ')}: the walkthrough drives AWS (--target aws)`);
  const config = configOf(stage);
  check(
    (region ?? assigned.get('AWS_REGION')) === config.region,
    `tier ${args.join(' ')}: stage ${stage} lives in ${config.region} (--region ${config.region})`,
  );
  check(world.deployed.get(stage)?.has('Services'), `tier ${parsed.command} on ${stage} before its services exist`);
  if (parsed.command === 'status')
    check(world.migrated.has(stage), `tier status on ${stage} before its migrations ran`);
  void env;
}

async function checkAws(env: Env, world: World, args: string[]) {
  const [service = '', op = '', ...rest] = args;
  const known = (await env.awsOptions(service, op)) ?? fail(`aws ${service} ${op}: no such command`);
  const f = flags(rest);
  if (known.size)
    for (const name of f.values.keys()) check(known.has(name), `aws ${service} ${op} has no option ${name}`);
  const region = one(f, '--region') ?? fail(`aws ${service} ${op}: pass --region (the stage decides it)`);
  const inRegion = (name: string) => {
    const found = stackByName(env, name);
    check(found.stack.region === region, `${name} is in ${found.stack.region}, not ${region}`);
    return found;
  };
  switch (`${service} ${op}`) {
    case 'ecr get-login-password':
      check(
        stageNames().some((s) => configOf(s).region === region),
        `no stage has a registry in ${region}`,
      );
      return;
    case 'ecr describe-images': {
      const name = one(f, '--repository-name')!;
      const stage = stageNames().find((s) =>
        env.assemblies
          .get(s)!
          .some(
            (st) =>
              st.region === region &&
              resourcesOf(st, 'AWS::ECR::Repository').some((r) => r.Properties.RepositoryName === name),
          ),
      );
      check(stage, `aws ecr: no repository ${name} in ${region}`);
      const tag = one(f, '--image-ids')?.replace(/^imageTag=/, '') ?? '';
      check(world.pushed.get(stage!) === tag, `aws ecr describe-images: ${name} holds no ${tag} yet`);
      world.vars.set('$last', `digest ${stage} ${name.split('/').pop()} ${tag}`);
      return;
    }
    case 'cloudformation list-stack-resources': {
      const { stage, stack } = inRegion(one(f, '--stack-name')!);
      const type = /ResourceType=='([\w:]+)'/.exec(one(f, '--query') ?? '')?.[1];
      check(type && resourcesOf(stack, type).length, `${stack.stackName} holds no ${type}`);
      world.vars.set('$last', `${type} ${stage} ${stack.stackName}`);
      return;
    }
    case 'elbv2 modify-load-balancer-attributes': {
      const held = world.vars.get((one(f, '--load-balancer-arn') ?? '').replace(/^\$/, '')) ?? '';
      const [type, stage, stackName] = held.split(' ');
      check(type === 'AWS::ElasticLoadBalancingV2::LoadBalancer', '--load-balancer-arn: not an ALB of a stage');
      inRegion(stackName!);
      check(
        one(f, '--attributes') === 'Key=deletion_protection.enabled,Value=false',
        'the ALBs keep their deletion protection',
      );
      world.unprotected.add(`${stage} alb:${stackName}`);
      return;
    }
    case 'rds modify-db-instance': {
      const id = one(f, '--db-instance-identifier');
      const stage = stageNames().find((s) =>
        env.assemblies
          .get(s)!
          .some(
            (st) =>
              st.region === region &&
              resourcesOf(st, 'AWS::RDS::DBInstance').some((r) => r.Properties.DBInstanceIdentifier === id),
          ),
      );
      check(stage, `no stage has a database ${id} in ${region}`);
      check(f.values.has('--no-deletion-protection'), `aws rds modify-db-instance ${id}: what does it change?`);
      world.unprotected.add(`${stage} db:${id}`);
      return;
    }
    case 'cloudformation update-termination-protection': {
      const { stage, stack } = inRegion(one(f, '--stack-name')!);
      check(stack.terminationProtection, `${stack.stackName} has no termination protection to switch off`);
      check(f.values.has('--no-enable-termination-protection'), `${stack.stackName}: switch the protection off`);
      world.unprotected.add(`${stage} stack:${stack.stackName}`);
      return;
    }
    case 'ecs run-task': {
      // Operator access: the admin task of a stage, in the cluster of that stage's region.
      const holds = (type: string, key: string, value: string | undefined) =>
        [...env.assemblies.values()]
          .flat()
          .some((st) => st.region === region && resourcesOf(st, type).some((r) => r.Properties[key] === value));
      const cluster = one(f, '--cluster');
      check(holds('AWS::ECS::Cluster', 'ClusterName', cluster), `no cluster ${cluster} in ${region}`);
      const family = one(f, '--task-definition');
      check(holds('AWS::ECS::TaskDefinition', 'Family', family), `no task definition ${family} in ${region}`);
      check(family?.startsWith(`${cluster}-`), `${family} is not a task of cluster ${cluster}`);
      return;
    }
    default:
      return fail(`aws ${service} ${op}: add what the walkthrough expects of it to this test`);
  }
}

async function checkGh(_env: Env, world: World, args: string[]) {
  if (args.join(' ') === 'run watch') return;
  check(args[0] === 'workflow' && args[1] === 'run', `gh ${args.join(' ')}: not part of the walkthrough`);
  const f = flags(args.slice(2));
  const file = f.positionals[0] ?? '';
  check(existsSync(join(WORKFLOWS, file)), `gh workflow run ${file}: no such workflow in .github/workflows`);
  const wf = parseYaml(readFileSync(join(WORKFLOWS, file), 'utf8')) as Json;
  const dispatch = wf.on?.workflow_dispatch;
  check(dispatch !== undefined, `${file} cannot be run by hand (no workflow_dispatch)`);
  for (const field of f.values.get('-f') ?? []) {
    const key = field.split('=')[0]!;
    check(dispatch?.inputs?.[key], `${file} has no input ${key}`);
  }
  const ref = one(f, '--ref');
  if (ref) check(wf.on?.push?.branches?.includes(ref), `${file} delivers ${wf.on?.push?.branches}, not ${ref}`);
  // The first job of each stage reads what its services run, so every stage the workflow acts on must exist.
  for (const job of workflowJobs().filter((j) => j.workflow.endsWith(file)))
    for (const stage of targetStages(job))
      check(world.deployed.get(stage)?.has('Services'), `job ${job.id} of ${file} acts on ${stage}, not deployed yet`);
}

// ---- the suite -------------------------------------------------------------------------------------------------

/** The options `cdk <verb>` accepts, from the option registry of the installed CDK CLI (what its parser is built from). */
function cdkOptions(verb: string): Set<string> {
  type Options = Record<string, { type: string; alias?: string | string[] }>;
  const registry = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/aws-cdk/lib/cli/cli-type-registry.json'), 'utf8'),
  ) as { globalOptions: Options; commands: Record<string, { options?: Options }> };
  const command = registry.commands[verb] ?? fail(`cdk ${verb}: not a command of the installed CDK CLI`);
  const names = new Set<string>();
  for (const [name, o] of Object.entries({ ...registry.globalOptions, ...command.options })) {
    names.add(`--${name}`);
    if (o.type === 'boolean') names.add(`--no-${name}`);
    for (const alias of [o.alias ?? []].flat()) names.add(alias.length === 1 ? `-${alias}` : `--${alias}`);
  }
  return names;
}

const haveAwsCli = await run('aws', ['--version']).then(
  () => true,
  () => false,
);

/** The man-page renderer prints bold as `x<backspace>x`. */
const BACKSPACE_BOLD = new RegExp(`.${String.fromCharCode(8)}`, 'g');

/** The AWS CLI's own argument tables (global and per command), read in one Python start-up (AWS CLI v1 as a module). */
const ARG_TABLES = `
import json, sys
from awscli.clidriver import create_clidriver
driver = create_clidriver()
table = driver._get_command_table()
known = lambda c: sorted("--" + a for a in c.arg_table)
glob = sorted("--" + a for a in driver._get_argument_table())
out = {}
for key in sys.argv[1:]:
    service, op = key.split(" ")
    ops = table[service]._get_command_table() if service in table else {}
    out[key] = known(ops[op]) + glob if op in ops else None
print(json.dumps(out))
`;

/**
 * The options each `aws <service> <op>` accepts: from the CLI's argument tables, else (AWS CLI v2, a binary) from its
 * `help`; an empty set when the AWS CLI is not installed (then only names, regions and order are checked).
 */
async function awsCliOptions(keys: readonly string[]): Promise<Map<string, Set<string> | undefined>> {
  const found = new Map<string, Set<string> | undefined>();
  if (!haveAwsCli) {
    for (const k of keys) found.set(k, new Set());
    return found;
  }
  try {
    const { stdout } = await run('python3', ['-c', ARG_TABLES, ...keys]);
    for (const [k, v] of Object.entries(JSON.parse(stdout) as Record<string, string[] | null>))
      found.set(k, v ? new Set(v) : undefined);
    return found;
  } catch {
    const helps = await Promise.all(
      keys.map((k) =>
        run('aws', [...k.split(' '), 'help'], {
          env: { ...process.env, AWS_PAGER: '', MANPAGER: 'cat', PAGER: 'cat' },
        }).then(
          ({ stdout }) =>
            new Set([...stdout.replaceAll(BACKSPACE_BOLD, '').matchAll(/(--[a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!)),
          () => undefined,
        ),
      ),
    );
    keys.forEach((k, i) => {
      found.set(k, helps[i]);
    });
    return found;
  }
}

export async function walk(markdown: string, env: Env): Promise<void> {
  const world: World = {
    bootstrapped: new Map(),
    deployed: new Map(),
    pushed: new Map(),
    migrated: new Set(),
    vars: new Map(),
    unprotected: new Set(),
  };
  for (const block of bashBlocks(markdown)) {
    const cwd = { dir: ROOT };
    for (const [i, raw] of block.lines.entries()) {
      for (const part of pipeline(raw)) {
        try {
          await checkCommand(env, world, cwd, part.text, part.pipedFrom);
        } catch (err) {
          if (!(err instanceof ReadmeError)) throw err;
          throw new ReadmeError(`README line ${block.line + i} (${block.heading}): ${err.message}\n  ${raw.trim()}`);
        }
      }
    }
  }
  for (const stage of stageNames())
    check(!world.deployed.get(stage)?.size, `the README leaves ${stage}'s stacks deployed: its teardown misses them`);
}

/** Rows of the first Markdown table after a heading: cells with their backticks. */
function tableAfter(markdown: string, heading: string): string[][] {
  const at = markdown.indexOf(heading);
  assert.ok(at >= 0, `README has no '${heading}'`);
  const lines = markdown.slice(at).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}
const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

let shared: Promise<Env> | undefined;
/** The stages' assemblies and the CLIs' options, built once for both suites. */
function loadEnv(): Promise<Env> {
  shared ??= (async () => {
    const verbs = ['bootstrap', 'deploy', 'destroy'];
    // Every `aws <service> <op>` of the README, read by one child process while this one synthesizes.
    const awsOps = [...readFileSync(README, 'utf8').matchAll(/(?:^|[\s(])aws ([a-z0-9-]+) ([a-z0-9-]+)/gm)];
    const pending = awsCliOptions([...new Set(awsOps.map((m) => `${m[1]} ${m[2]}`))]);
    const assemblies = new Map(stageNames().map((s) => [s, assemble(s)]));
    const aws = await pending;
    return {
      assemblies,
      cdkOptions: new Map(verbs.map((v) => [v, cdkOptions(v)])),
      awsOptions: async (service, op) => aws.get(`${service} ${op}`),
    };
  })();
  return shared;
}

describe('infra/aws/README.md, walked from an empty account', () => {
  const markdown = readFileSync(README, 'utf8');
  let env: Env;
  before(async () => {
    env = await loadEnv();
  });

  test('every command block runs, in order, against what the code and the steps before it provide', async () => {
    await walk(markdown, env);
  });

  test('the AWS CLI options it names are checked against the installed CLI', {
    skip: !haveAwsCli && 'aws CLI not installed: names, regions and order are still checked',
  }, async () => {
    const options = await env.awsOptions('cloudformation', 'update-termination-protection');
    assert.ok(options?.has('--no-enable-termination-protection') && options.has('--region'));
  });

  test('the OIDC subjects it lists are what GitHub puts in each job token and what each role trusts', () => {
    const rows = tableAfter(markdown, '### 2. GitHub');
    assert.deepEqual(rows.map((r) => r[0]).sort(), stageNames().sort(), 'one row per stage');
    const jobs = workflowJobs().filter((j) => j.workflow.endsWith('main.yml') && j.assumes);
    for (const [stage = '', environment = '', subject = '', jobCell = ''] of rows) {
      const config = configOf(stage);
      const [env1] = ticked(environment);
      const [sub] = ticked(subject);
      assert.equal(env1, config.pipeline.githubEnvironment, `${stage}: pipeline.githubEnvironment`);
      assert.match(
        sub ?? '',
        /^repo:[\w.-]+\/[\w.-]+:(environment:[\w.-]+|ref:refs\/heads\/main)$/,
        'a subject GitHub forms',
      );
      const role = env.assemblies.get(stage)!.find((s) => s.id === 'PipelineAccess')!;
      const trust = resourcesOf(role, 'AWS::IAM::Role')
        .flatMap((r) => r.Properties.AssumeRolePolicyDocument.Statement)
        .map((s: Json) => s.Condition?.StringEquals?.['token.actions.githubusercontent.com:sub'])
        .filter(Boolean);
      assert.deepEqual(trust, [sub], `${stage}: the role's trust policy accepts exactly the README's subject`);
      const acting = jobs.filter((j) => targetStages(j).includes(stage)).map((j) => j.id);
      assert.deepEqual(ticked(jobCell).sort(), acting.sort(), `${stage}: the jobs of main.yml acting on it`);
      for (const id of acting) {
        const job = jobs.find((j) => j.id === id)!;
        assert.ok(job.idToken, `${id} may request an OIDC token`);
        assert.equal(oidcSubject(config.pipeline.githubRepo, job, { branch: 'main' }), sub, `${id}'s token subject`);
      }
    }
  });

  test('the workflows need no secrets or variables, as the README says', () => {
    for (const file of readdirSync(WORKFLOWS)) {
      const text = readFileSync(join(WORKFLOWS, file), 'utf8');
      assert.doesNotMatch(
        text,
        /\$\{\{\s*(secrets|vars)\./,
        `${file} reads a secret or variable the README does not list`,
      );
    }
  });

  test('the outputs table names exactly what each stack emits', () => {
    for (const [stackCell = '', outputs = ''] of tableAfter(markdown, '## Outputs (read by the `tier` CLI)')) {
      for (const [stage, stacks] of env.assemblies) {
        const stack = stacks.find((s) => s.stackName === `tier-${stage}-${stackCell}`);
        assert.ok(stack, `tier-${stage}-${stackCell} is not a stack of ${stage}`);
        const emitted = Object.keys(stack.template.Outputs ?? {}).filter((k) => !k.startsWith('ExportsOutput'));
        const named = ticked(outputs).filter((t) => /^[A-Z]\w+$/.test(t));
        assert.deepEqual(named.sort(), emitted.sort(), `${stack.stackName}: outputs`);
      }
    }
  });
});

describe('the walkthrough check fails on a step that does not exist', () => {
  let env: Env;
  const markdown = readFileSync(README, 'utf8');
  before(async () => {
    env = await loadEnv();
  });
  const broken: Array<[string, string, string, RegExp]> = [
    [
      'a CloudFormation name as a cdk selector',
      'deploy -c stage=dev Registry PipelineAccess',
      'deploy -c stage=dev tier-dev-registry PipelineAccess',
      /no stack of dev has that id/,
    ],
    [
      'a root script run from infra/aws',
      'cd ../..\nAWS_REGION=us-east-1 npm run ci:migrate',
      'AWS_REGION=us-east-1 npm run ci:migrate',
      /no such script in infra\/aws\/package.json/,
    ],
    [
      'a flag the script does not read',
      '--expect-version "$sha"',
      '--expected-version "$sha"',
      /Unknown option '--expected-version'/,
    ],
    [
      'services before their images',
      'npx cdk deploy -c stage=dev Registry PipelineAccess',
      'npx cdk deploy -c stage=dev Registry PipelineAccess Services',
      /starts containers/,
    ],
    [
      'a region the stage is not in',
      'npx tier status --target aws --stage dev --region us-east-1',
      'npx tier status --target aws --stage dev --region eu-west-1',
      /lives in us-east-1/,
    ],
    [
      'a tier subcommand that does not exist',
      'npx tier status --target aws --stage prod',
      'npx tier state --target aws --stage prod',
      /unknown command/,
    ],
    ['a missing bootstrap region', ' aws://111111111111/eu-central-1\n', '\n', /the stage deploys to/],
    [
      'a missing termination-protection step',
      'aws cloudformation update-termination-protection --region eu-central-1 --no-enable-termination-protection --stack-name tier-prod-backup-copy\n',
      '',
      /tier-prod-backup-copy has termination protection/,
    ],
    [
      'a workflow input that does not exist',
      'gh workflow run main.yml --ref main',
      'gh workflow run main.yml --ref main -f tier=web',
      /has no input tier/,
    ],
  ];
  broken.push([
    'a cdk option that does not exist',
    '--toolkit-stack-name CDKToolkit-tierdev',
    '--toolkit-stack CDKToolkit-tierdev',
    /cdk bootstrap has no option --toolkit-stack\b/,
  ]);
  if (haveAwsCli)
    broken.push([
      'an AWS CLI option that does not exist',
      '--db-instance-identifier tier-dev-db --no-deletion-protection',
      '--db-instance-identifier tier-dev-db --no-deletion-protect',
      /aws rds modify-db-instance has no option --no-deletion-protect\b/,
    ]);
  for (const [what, from, to, expected] of broken) {
    test(`GIVEN ${what} WHEN walked THEN it fails naming it`, async () => {
      assert.ok(markdown.includes(from), `the README no longer contains: ${from}`);
      await assert.rejects(walk(markdown.replace(from, to), env), expected);
    });
  }
});
