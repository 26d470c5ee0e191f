// ci:rollback — return tiers to the version they ran before the last deploy (`tier rollback`), local or AWS.
import { parseArgs } from 'node:util';
import { main } from './lib/github.js';
import { targetArgs, tier, tierList } from './lib/tier.js';

await main(async () => {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'local' },
      stage: { type: 'string' },
      tiers: { type: 'string' },
      tier: { type: 'string', multiple: true },
    },
  });
  const tiers = tierList(values.tiers, values.tier);
  if (tiers.length === 0) {
    console.log('✔ nothing was deployed: nothing to roll back');
    return 0;
  }
  await tier([...targetArgs(values.target!, values.stage), 'rollback', '--tier', ...tiers]);
  return 0;
});
