// tier pipeline: build, test, deploy only the changed tiers, smoke-test through the edge, roll back on failure.
import type { Command } from 'commander';
import { TierError } from '../backend.js';
import { type Context, parseTiers } from '../context.js';
import { createLocalPipelineDeps } from '../pipeline/local-deps.js';
import { PIPELINE_CANARY, runPipeline } from '../pipeline/run-pipeline.js';
import { renderSummary } from '../pipeline/summary.js';
import { parseDuration, parsePercent } from './deploy.js';

interface PipelineFlags {
  skipTests: boolean;
  fullTests: boolean;
  tier?: string[];
  rollback: boolean;
  edgeUrl?: string;
  dryRun: boolean;
  /** A share, or false with --no-canary. */
  canary?: number | false;
  bake?: number;
}

export function registerPipeline(program: Command, ctx: Context): void {
  program
    .command('pipeline')
    .description(
      'run the delivery pipeline against the local environment: test, build, deploy what changed, smoke test, roll back on failure',
    )
    .option('--skip-tests', 'skip lint and tests (fastest path to a running change)', false)
    .option('--full-tests', 'run every test (ci:lint + ci:test) instead of the changed tiers’ own', false)
    .option('--tier <tier...>', 'deploy these tiers whatever changed (web and/or api)')
    .option('--no-rollback', 'leave a failed version running, for debugging')
    .option('--edge-url <url>', 'smoke-test this URL instead of the environment’s edge endpoint')
    .option('--dry-run', 'show what would be deployed and why; change nothing', false)
    .option(
      '--canary <percent>',
      `the deploy's canary: one new replica per tier takes this share first and is judged on 5xx rate and p99 (default: ${PIPELINE_CANARY.percent}%)`,
      parsePercent,
    )
    .option(
      '--bake <duration>',
      `how long the canary is judged before the rest rolls (default: ${(PIPELINE_CANARY.bakeMs ?? 0) / 1000}s)`,
      parseDuration,
    )
    .option('--no-canary', 'deploy without a canary (a plain rolling deploy)')
    .action(async (flags: PipelineFlags) => {
      if (ctx.options().target !== 'local') {
        throw new TierError(
          '`tier pipeline` runs against the local environment',
          'for AWS use the GitHub workflow (.github/workflows/main.yml) or `npm run ci:deploy -- --target aws`',
        );
      }
      if (flags.skipTests && flags.fullTests)
        throw new TierError('--skip-tests and --full-tests contradict each other', 'pick one');
      if (flags.edgeUrl && !/^https?:\/\/[^\s/]+/.test(flags.edgeUrl)) {
        throw new TierError(
          `--edge-url '${flags.edgeUrl}' is not an http(s) URL`,
          'e.g. --edge-url http://127.0.0.1:8080',
        );
      }
      if (flags.canary === false && flags.bake !== undefined)
        throw new TierError('--bake is the canary’s and --no-canary has none', 'drop one of them');
      const tiers = flags.tier ? parseTiers(flags.tier) : undefined;
      const backend = await ctx.backend();
      const deps = await createLocalPipelineDeps({ backend, progress: ctx.progress });
      const report = await runPipeline(deps, {
        skipTests: flags.skipTests,
        fullTests: flags.fullTests,
        tiers,
        rollback: flags.rollback,
        edgeUrl: flags.edgeUrl,
        dryRun: flags.dryRun,
        canary:
          flags.canary === false
            ? false
            : {
                percent: flags.canary ?? PIPELINE_CANARY.percent,
                bakeMs: flags.bake ?? PIPELINE_CANARY.bakeMs,
              },
      });
      ctx.print(report, () => `\n${renderSummary(report)}`);
      if (report.failure) throw new TierError(report.failure.message, report.failure.hint);
    });
}
