// tier: the operations CLI. Parses arguments, picks the target's backend, reports errors plainly.
import { Command, CommanderError, Option } from 'commander';
import { TierError } from './backend.js';
import { registerBackup } from './commands/backup.js';
import { registerDeploy } from './commands/deploy.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerLogs } from './commands/logs.js';
import { registerMetrics } from './commands/metrics.js';
import { registerPipeline } from './commands/pipeline.js';
import { registerReload } from './commands/reload.js';
import { registerScale } from './commands/scale.js';
import { registerStatus } from './commands/status.js';
import { createContext } from './context.js';

const program = new Command('tier')
  .description('Operate the three-tier application: locally (default) or on AWS.')
  .addOption(
    new Option('--target <target>', 'where the environment runs')
      .choices(['local', 'aws'])
      .default(process.env.TIER_TARGET ?? 'local'),
  )
  .option('--stage <stage>', 'AWS stage (dev, prod)', process.env.TIER_STAGE ?? 'dev')
  .option('--region <region>', 'AWS region (default: from the stage config or AWS_REGION)')
  .option('--json', 'machine-readable output', false)
  .showHelpAfterError('(run `tier --help` for usage)')
  .exitOverride();

const ctx = createContext(program);
for (const register of [
  registerLifecycle,
  registerStatus,
  registerDeploy,
  registerScale,
  registerBackup,
  registerLogs,
  registerMetrics,
  registerReload,
  registerPipeline,
]) {
  register(program, ctx);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err);
}

function report(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof TierError) {
    process.stderr.write(`\n✖ ${err.message}\n${err.hint ? `  next: ${err.hint}\n` : ''}`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\n✖ unexpected failure: ${message}\n  next: rerun with TIER_DEBUG=1 for details\n`);
  if (process.env.TIER_DEBUG) console.error(err);
  return 1;
}
