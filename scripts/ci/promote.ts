// ci:promote — copy the exact images tested in one stage to the next stage's repositories, by digest (never rebuilt).
//   npm run ci:promote -- --registry <acct>.dkr.ecr.<region>.amazonaws.com --from dev --to prod --version <sha> \
//     --digest web=sha256:... --digest api=sha256:...
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { main, setOutput } from './lib/github.js';

const exec = promisify(execFile);

/** ECR repositories are named tier-<stage>/<tier> (infra/aws/lib/registry). */
export const repository = (registry: string, stage: string, tier: string) =>
  `${registry.replace(/\/+$/, '')}/tier-${stage}/${tier}`;

async function digestOf(ref: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec('docker', ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Manifest}}']);
    return (JSON.parse(stdout) as { digest?: string }).digest;
  } catch {
    return undefined;
  }
}

await main(async () => {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      version: { type: 'string' },
      digest: { type: 'string', multiple: true },
    },
  });
  const { registry, from, to, version } = values;
  if (!registry || !from || !to || !version || !values.digest?.length) {
    throw Object.assign(new Error('missing arguments'), {
      hint: 'pass --registry, --from, --to, --version and one --digest <tier>=sha256:... per tier to promote',
    });
  }
  for (const pair of values.digest) {
    const [tier, digest] = pair.split('=');
    if (digest === '' && (tier === 'web' || tier === 'api')) {
      console.log(`- ${tier}: not built in this run (unchanged), nothing to promote`);
      continue;
    }
    if (!tier || !['web', 'api'].includes(tier) || !/^sha256:[0-9a-f]{64}$/.test(digest ?? '')) {
      throw Object.assign(new Error(`--digest '${pair}' is not <web|api>=sha256:<64 hex>`), {
        hint: 'use the build job outputs',
      });
    }
    const source = `${repository(registry, from, tier)}@${digest}`;
    const target = `${repository(registry, to, tier)}:${version}`;
    // Tags are immutable in ECR: an existing tag must already hold exactly this digest.
    const existing = await digestOf(target);
    if (existing && existing !== digest) {
      throw Object.assign(new Error(`${target} already holds ${existing}, not the tested ${digest}`), {
        hint: 'never overwrite a released tag: investigate how a different image got this tag',
      });
    }
    if (!existing) await exec('docker', ['buildx', 'imagetools', 'create', '--tag', target, source]);
    const promoted = await digestOf(target);
    if (promoted !== digest)
      throw new Error(`${target} resolves to ${promoted ?? 'nothing'} after the copy, expected ${digest}`);
    console.log(`✔ ${tier}: ${source} -> ${target}`);
    setOutput(`${tier}_digest`, digest!);
  }
  return 0;
});
