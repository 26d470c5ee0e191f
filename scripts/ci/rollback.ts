// ci:rollback — return tiers to the version they ran before this run. On AWS with `--before <ci:deploy's output>`:
// exactly the revisions ci:deploy recorded, only for tiers that no longer run them; otherwise `tier rollback`.
// Exits 1 when any tier did not go back.
import { parseArgs } from 'node:util';
import { createAwsBackend, type Progress, type RunningRevision, type TierName } from '@tier/cli';
import { main } from './lib/github.js';
import { stageTarget } from './lib/stage.js';
import { targetArgs, tier, tierList } from './lib/tier.js';

const log: Progress = {
  step: (m) => console.log(`━━ ${m}`),
  info: (m) => console.log(`   ${m}`),
  done: (m) => m && console.log(`✔ ${m}`),
  warn: (m) => console.log(`! ${m}`),
};

await main(async () => {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'local' },
      stage: { type: 'string' },
      tiers: { type: 'string' },
      tier: { type: 'string', multiple: true },
      before: { type: 'string' },
    },
  });
  if (values.before !== undefined) {
    if (values.target !== 'aws')
      throw Object.assign(new Error('--before needs --target aws'), { hint: 'drop --before' });
    if (!values.before.trim()) {
      console.log('✔ nothing was deployed: nothing to roll back');
      return 0;
    }
    const before = JSON.parse(values.before) as Partial<Record<TierName, RunningRevision>>;
    const stage = stageTarget(values.stage ?? 'dev');
    const records = await createAwsBackend({ stage: stage.stage, region: stage.region }).rollbackTo(log, before);
    const failed = records.filter((r) => r.outcome !== 'succeeded');
    for (const r of records)
      console.log(`${r.tier} ${r.previousVersion} -> ${r.version}: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`);
    if (failed.length) {
      throw Object.assign(new Error(`rollback of ${failed.map((r) => r.tier).join(', ')} did not succeed`), {
        hint: `see \`npx tier history --target aws --stage ${stage.stage}\` and \`tier status\``,
      });
    }
    return 0;
  }
  const tiers = tierList(values.tiers, values.tier);
  if (tiers.length === 0) {
    console.log('✔ nothing was deployed: nothing to roll back');
    return 0;
  }
  await tier([...targetArgs(values.target!, values.stage), 'rollback', '--tier', ...tiers]);
  return 0;
});
