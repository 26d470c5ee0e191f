// ci:deploy — roll out a version of the changed tiers: `--target local` or `--target aws --stage <stage>`, via `tier deploy`.
import { parseArgs } from 'node:util';
import { main, setOutput } from './lib/github.js';
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
    return 0;
  }
  if (!values.version)
    throw Object.assign(new Error('--version is required'), { hint: 'pass --version <git sha> (the image tag)' });
  await tier([...targetArgs(values.target!, values.stage), 'deploy', '--version', values.version, '--tier', ...tiers]);
  setOutput('deployed', tiers.join(','));
  return 0;
});
