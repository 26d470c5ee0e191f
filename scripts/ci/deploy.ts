// ci:deploy — roll out a version of the changed tiers: `--target local` or `--target aws --stage <stage>`, via `tier deploy`.
// On AWS it first records what each tier runs (step output `before`): ci:rollback returns exactly there.
import { parseArgs } from 'node:util';
import { createAwsBackend } from '@tier/cli';
import { main, setOutput } from './lib/github.js';
import { stageTarget } from './lib/stage.js';
import { targetArgs, tier, tierList } from './lib/tier.js';

await main(async () => {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'local' },
      stage: { type: 'string' },
      version: { type: 'string' },
      tiers: { type: 'string' },
      tier: { type: 'string', multiple: true },
    },
  });
  const tiers = tierList(values.tiers, values.tier);
  if (tiers.length === 0) {
    console.log('✔ no tier changed: nothing to deploy');
    setOutput('deployed', '');
    setOutput('before', '');
    return 0;
  }
  if (!values.version)
    throw Object.assign(new Error('--version is required'), { hint: 'pass --version <git sha> (the image tag)' });
  const args = targetArgs(values.target!, values.stage);
  if (values.target === 'aws') {
    const stage = stageTarget(values.stage ?? 'dev');
    const before = await createAwsBackend({ stage: stage.stage, region: stage.region }).running(tiers);
    for (const [t, r] of Object.entries(before)) console.log(`${t} runs ${r.version} (${r.taskDefinition})`);
    setOutput('before', JSON.stringify(before));
  }
  await tier([...args, 'deploy', '--version', values.version, '--tier', ...tiers]);
  setOutput('deployed', tiers.join(','));
  return 0;
});
