// ci:promote — copy the exact images tested in one stage into the next stage's repositories, by digest (never rebuilt),
// through the ECR API, across regions: the source stage's registry is read, the target stage's is written.
//   npm run ci:promote -- --from dev --to prod --version <sha> --digest web=sha256:... --digest api=sha256:...
import { parseArgs } from 'node:util';
import { ECRClient } from '@aws-sdk/client-ecr';
import { TIERS } from '@tier/cli';
import { copyImageByDigest } from './lib/ecr-copy.js';
import { main, setOutput } from './lib/github.js';
import { stageTarget } from './lib/stage.js';

export interface PromoteOptions {
  readonly from: string;
  readonly to: string;
  readonly version: string;
  /** tier -> digest; an empty digest means the tier was not built in this run. */
  readonly digests: ReadonlyArray<readonly [string, string]>;
  /** ECR client per region (tests pass fakes). @default a new ECRClient for the region */
  readonly ecrFor?: (region: string) => ECRClient;
  readonly log?: (line: string) => void;
  /** Layer download from ECR's pre-signed URL (tests). @default fetch */
  readonly download?: (url: string) => Promise<Uint8Array>;
}

/** Parses `--digest <tier>=sha256:<64 hex>` (an empty digest: that tier was not built, nothing to promote). */
export function parseDigests(pairs: readonly string[]): Array<[string, string]> {
  return pairs.map((pair) => {
    const [tier = '', digest = ''] = pair.split('=');
    if (!(TIERS as readonly string[]).includes(tier) || (digest !== '' && !/^sha256:[0-9a-f]{64}$/.test(digest))) {
      throw Object.assign(new Error(`--digest '${pair}' is not <web|api>=sha256:<64 hex>`), {
        hint: 'use the build job outputs',
      });
    }
    return [tier, digest];
  });
}

export async function promote(opts: PromoteOptions): Promise<Record<string, string>> {
  const log = opts.log ?? console.log;
  const from = stageTarget(opts.from);
  const to = stageTarget(opts.to);
  const clients = new Map<string, ECRClient>();
  const ecrFor = (region: string) => {
    const client = clients.get(region) ?? opts.ecrFor?.(region) ?? new ECRClient({ region });
    clients.set(region, client);
    return client;
  };
  const promoted: Record<string, string> = {};
  for (const [tier, digest] of opts.digests) {
    if (digest === '') {
      log(`- ${tier}: not built in this run (unchanged), nothing to promote`);
      continue;
    }
    const source = { ecr: ecrFor(from.region), registryId: from.account, repositoryName: from.repository(tier) };
    const target = { ecr: ecrFor(to.region), registryId: to.account, repositoryName: to.repository(tier) };
    const result = await copyImageByDigest({ source, target, digest, tag: opts.version, download: opts.download });
    log(
      `✔ ${tier}: ${from.registry}/${source.repositoryName}@${digest} -> ${to.registry}/${target.repositoryName}:${opts.version} (${result})`,
    );
    promoted[tier] = digest;
  }
  return promoted;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main(async () => {
    const { values } = parseArgs({
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        version: { type: 'string' },
        digest: { type: 'string', multiple: true },
      },
    });
    const { from, to, version } = values;
    if (!from || !to || !version || !values.digest?.length) {
      throw Object.assign(new Error('missing arguments'), {
        hint: 'pass --from, --to, --version and one --digest <tier>=sha256:... per tier to promote',
      });
    }
    const promoted = await promote({ from, to, version, digests: parseDigests(values.digest) });
    for (const [tier, digest] of Object.entries(promoted)) setOutput(`${tier}_digest`, digest);
    return 0;
  });
}
