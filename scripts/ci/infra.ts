// ci:infra — infrastructure delivery per stage with the CDK CLI.
//   npm run ci:infra -- diff --stage dev [--stage prod] --base-dir <checkout of the base>
//     offline: each stack as this tree synthesizes it against the same stack synthesized from the base checkout
//     (pull requests have no AWS access); .tier/infra/<stage>.diff.txt and a table in the job summary.
//   npm run ci:infra -- deploy --stage <stage>
//     cdk deploy of every stack of the stage; the CLI goes through the stage's bootstrap roles (its qualifier), the
//     services stack resolves each tier's image tag from /tier/<stage>/image/<tier>, so the running image stays.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { main } from './lib/github.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USAGE = 'usage: infra.ts diff --stage <s>... --base-dir <dir> | deploy --stage <s>';
const CDK_ENV = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true', NO_COLOR: '1' };

/** Runs a command; resolves with its combined output, rejects with it on a non-zero exit. */
function run(cmd: string, args: string[], cwd: string, echo = true): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env: CDK_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (c: Buffer) => {
      out += c;
      if (echo) process.stdout.write(c);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0
        ? done(out)
        : fail(Object.assign(new Error(`${cmd} ${args.join(' ')} exited ${code}`), { hint: 'see its output above' })),
    );
  });
}

interface StackArtifact {
  readonly id: string;
  readonly displayName: string;
  readonly templateFile: string;
}

/** The CloudFormation stacks of a cloud assembly (manifest.json). */
export function stacksOf(assembly: string): StackArtifact[] {
  const manifest = JSON.parse(readFileSync(join(assembly, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; displayName?: string; properties?: { templateFile?: string } }>;
  };
  return Object.entries(manifest.artifacts ?? {})
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => ({ id, displayName: a.displayName ?? id, templateFile: a.properties?.templateFile ?? '' }));
}

/** How many resources a `cdk diff` adds, changes and removes (its `[+]`, `[~]`, `[-]` resource lines). */
export function countChanges(diff: string): { added: number; changed: number; removed: number } {
  const section = diff.split(/^Resources$/m)[1] ?? '';
  const count = (mark: string) => section.split('\n').filter((l) => l.startsWith(`[${mark}] `)).length;
  return { added: count('+'), changed: count('~'), removed: count('-') };
}

async function synth(appDir: string, stage: string, out: string): Promise<void> {
  await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-c', `stage=${stage}`, '-o', out], appDir, false);
}

async function diff(stages: string[], baseDir: string): Promise<number> {
  const base = resolve(baseDir);
  if (existsSync(join(base, 'package.json')) && !existsSync(join(base, 'node_modules'))) {
    await run('npm', ['ci', '--no-audit', '--no-fund'], base);
  }
  const summary: string[] = ['## Infrastructure changes (cdk diff against the base branch)', ''];
  for (const stage of stages) {
    const dir = join(ROOT, '.tier', 'infra', stage);
    mkdirSync(dir, { recursive: true });
    await synth(join(ROOT, 'infra/aws'), stage, join(dir, 'head'));
    const baseApp = join(base, 'infra/aws');
    const haveBase = existsSync(join(baseApp, 'cdk.json'));
    if (haveBase) await synth(baseApp, stage, join(dir, 'base'));
    const baseStacks = haveBase ? stacksOf(join(dir, 'base')) : [];
    const empty = join(dir, 'empty.template.json');
    writeFileSync(empty, '{"Resources":{}}\n');
    const texts: string[] = [];
    summary.push(`### ${stage}`, '', '| stack | added | changed | removed |', '| --- | ---: | ---: | ---: |');
    for (const stack of stacksOf(join(dir, 'head'))) {
      const old = baseStacks.find((s) => s.id === stack.id);
      const template = old ? join(dir, 'base', old.templateFile) : empty;
      const text = await run(
        'npx',
        [
          'cdk',
          'diff',
          '--no-notices',
          '--exclusively',
          '--app',
          join(dir, 'head'),
          '--template',
          template,
          stack.displayName,
        ],
        join(ROOT, 'infra/aws'),
        false,
      );
      texts.push(`━━ ${stage} ${stack.displayName}${old ? '' : ' (new stack)'}\n${text}`);
      const c = countChanges(text);
      summary.push(`| ${stack.displayName}${old ? '' : ' (new)'} | ${c.added} | ${c.changed} | ${c.removed} |`);
    }
    for (const gone of baseStacks.filter((s) => !stacksOf(join(dir, 'head')).some((h) => h.id === s.id)))
      summary.push(`| ${gone.displayName} (removed) | 0 | 0 | all |`);
    summary.push('');
    const file = join(ROOT, '.tier', 'infra', `${stage}.diff.txt`);
    writeFileSync(file, texts.join('\n'));
    console.log(`✔ ${stage}: ${texts.length} stacks compared; ${file}`);
  }
  const text = summary.join('\n');
  console.log(text);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${text}\n`);
  return 0;
}

async function deploy(stage: string): Promise<number> {
  const out = join(ROOT, '.tier', 'infra', stage, 'deploy');
  await run(
    'npx',
    ['cdk', 'deploy', '--all', '--require-approval', 'never', '--no-notices', '-c', `stage=${stage}`, '-o', out],
    join(ROOT, 'infra/aws'),
  );
  const line = `✔ ${stage}: every stack deployed (cdk deploy --all)`;
  console.log(line);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${line}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(async () => {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: { stage: { type: 'string', multiple: true }, 'base-dir': { type: 'string' } },
    });
    const stages = values.stage ?? [];
    if (stages.length === 0) throw Object.assign(new Error('--stage is required'), { hint: USAGE });
    if (positionals[0] === 'diff') {
      if (!values['base-dir']) throw Object.assign(new Error('diff needs --base-dir'), { hint: USAGE });
      return diff(stages, values['base-dir']);
    }
    if (positionals[0] === 'deploy') {
      if (stages.length !== 1) throw Object.assign(new Error('deploy one stage at a time'), { hint: USAGE });
      return deploy(stages[0]!);
    }
    throw Object.assign(new Error(`unknown action '${positionals[0] ?? ''}'`), { hint: USAGE });
  });
}
