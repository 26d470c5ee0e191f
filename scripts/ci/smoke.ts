// ci:smoke — smoke test through the edge (local edge cache or CloudFront): page with the time, /api/status, a write read
// back; --read-only (production) reads the guestbook and writes nothing.
import { parseArgs } from 'node:util';
import { type EnvironmentStatus, edgeUrl, smokeTest } from '@tier/cli';
import { main, reportError } from './lib/github.js';
import { targetArgs, tier, tierList } from './lib/tier.js';

await main(async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      target: { type: 'string', default: 'local' },
      stage: { type: 'string' },
      'expect-version': { type: 'string' },
      tiers: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
    },
  });
  let url = values.url;
  const expected = values['expect-version'];
  if (!url || expected) {
    const status = JSON.parse(
      await tier([...targetArgs(values.target!, values.stage), '--json', 'status'], { capture: true }),
    ) as EnvironmentStatus;
    url ??= edgeUrl(status);
    if (expected) {
      // No --tiers: every replica; `--tiers ""` (change detection found none, e.g. an infrastructure-only run): none.
      const tiers = values.tiers === undefined ? undefined : (tierList(values.tiers, undefined) as readonly string[]);
      const stale = status.replicas.filter(
        (r) => (tiers === undefined || tiers.includes(r.tier)) && r.tier !== 'db' && r.version !== expected,
      );
      if (stale.length)
        reportError(`not every replica runs ${expected}: ${stale.map((r) => `${r.name}=${r.version}`).join(', ')}`);
      if (stale.length) return 1;
    }
  }
  const result = await smokeTest({ url, version: expected, attempts: 3, write: !values['read-only'] });
  for (const c of result.checks) console.log(`${c.ok ? '✔' : '✖'} ${c.name}: ${c.detail}`);
  if (!result.ok) {
    reportError(`smoke test failed at ${result.url}`);
    console.error(
      '  next: roll back with `npm run ci:rollback -- <target options> --tier <tier>` and read `npx tier logs --since 10m`',
    );
    return 1;
  }
  console.log(`✔ smoke test passed at ${result.url}`);
  return 0;
});
