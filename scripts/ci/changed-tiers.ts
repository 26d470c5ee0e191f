// ci:changes — which tiers need a redeploy: against what a stage runs (`--target aws --stage <s>`: each tier's base
// is the version its ECS service runs; `--mode redeploy-differing` ships every tier not running HEAD), or for a diff:
// `--base <ref>` (vs HEAD), `--paths a b ...`, or paths on stdin.
// Prints the tiers (and why with --explain); under GitHub Actions sets outputs tiers, web, api, infra.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createAwsBackend, type DeployTarget, detectChanges } from '@tier/cli';
import { main, setOutput } from './lib/github.js';
import { changesAgainstRunning, notShipped } from './lib/running-base.js';
import { stageTarget } from './lib/stage.js';

const USAGE = `usage: changed-tiers.ts (--target aws --stage <stage> [--mode diff|redeploy-differing] [--must-be-in <tiers>] | --base <ref> [--head <ref>] | --paths <path>... | - ) [--target local|aws] [--explain] [--json]`;
const NO_COMMIT = /^0{40}$/;

await main(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      base: { type: 'string' },
      head: { type: 'string', default: 'HEAD' },
      paths: { type: 'boolean', default: false },
      target: { type: 'string', default: 'local' },
      stage: { type: 'string' },
      mode: { type: 'string', default: 'diff' },
      'must-be-in': { type: 'string' },
      explain: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.target !== 'local' && values.target !== 'aws') {
    throw Object.assign(new Error(`--target '${values.target}' is not local or aws`), { hint: USAGE });
  }
  const target = values.target as DeployTarget;
  if (values.mode !== 'diff' && values.mode !== 'redeploy-differing') {
    throw Object.assign(new Error(`--mode '${values.mode}' is not diff or redeploy-differing`), { hint: USAGE });
  }
  if (values.stage !== undefined) {
    if (target !== 'aws') throw Object.assign(new Error('--stage needs --target aws'), { hint: USAGE });
    const stage = stageTarget(values.stage);
    const running = await createAwsBackend({ stage: stage.stage, region: stage.region }).running();
    const head = git(['rev-parse', `${values.head}^{commit}`]).trim();
    const change = changesAgainstRunning({
      running: Object.fromEntries(Object.entries(running).map(([tier, r]) => [tier, r.version])),
      head,
      resolve: (version) => (/^[0-9a-f]{7,40}$/.test(version) ? resolveBase(version) : undefined),
      diff: (base) => git(['diff', '--name-only', '--no-renames', base, head]).split('\n').filter(Boolean),
      target,
      redeployDiffering: values.mode === 'redeploy-differing',
    });
    if (values.json) console.log(JSON.stringify(change, null, 2));
    else {
      if (values.explain)
        for (const [tier, why] of Object.entries(change.reasons)) console.log(`${tier.padEnd(4)} ${why}`);
      console.log(change.tiers.length ? change.tiers.join(' ') : '(no tier changed)');
    }
    setOutputs(change.tiers, change.infrastructure.length > 0);
    // A later stage (production) may lag behind the first: it must not need a tier this run did not build.
    const shipped = values['must-be-in']?.split(',').filter(Boolean);
    const missing = shipped ? notShipped(change, shipped) : [];
    if (missing.length) {
      throw Object.assign(
        new Error(
          `${values.stage} needs ${missing.join(', ')} (${missing.map((t) => change.reasons[t]).join('; ')}), which this run did not build`,
        ),
        { hint: `run the main workflow by hand with tiers: ${[...new Set([...shipped!, ...missing])].join(',')}` },
      );
    }
    return 0;
  }
  let paths: string[];
  let note = '';
  if (values.paths) paths = positionals;
  else if (positionals[0] === '-') paths = (await readStdin()).split('\n');
  else if (values.base !== undefined) {
    const resolved = resolveBase(values.base);
    if (!resolved) {
      // A first push or a base this clone does not have: everything is new, ship both tiers.
      paths = ['(no base commit)'];
      note = `base '${values.base}' is not a known commit: treating every tier as changed`;
    } else paths = git(['diff', '--name-only', '--no-renames', resolved, values.head]).split('\n');
  } else throw Object.assign(new Error('nothing to compare'), { hint: USAGE });

  const change = detectChanges(paths, target);
  if (values.json) console.log(JSON.stringify(change, null, 2));
  else {
    if (note) console.error(`! ${note}`);
    if (values.explain) {
      for (const d of change.decisions) console.log(`${(d.tiers.join('+') || '-').padEnd(8)} ${d.path}  (${d.rule})`);
      console.log('');
    }
    console.log(change.tiers.length ? change.tiers.join(' ') : '(no tier changed)');
  }
  setOutputs(change.tiers, change.infrastructure.length > 0);
  return 0;
});

function setOutputs(tiers: readonly string[], infra: boolean): void {
  setOutput('tiers', tiers.join(','));
  setOutput('tiers_json', JSON.stringify(tiers));
  setOutput('web', String(tiers.includes('web')));
  setOutput('api', String(tiers.includes('api')));
  setOutput('infra', String(infra));
}

function resolveBase(ref: string): string | undefined {
  if (!ref || NO_COMMIT.test(ref)) return undefined;
  try {
    return git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch {
    return undefined;
  }
}

function git(args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
