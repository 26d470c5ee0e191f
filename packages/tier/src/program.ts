// The `tier` command tree (global options and every subcommand), built without parsing: bin/tier.js runs it, and
// tests parse documented command lines with it, so a command a README names is checked against the real parser.
import { Command, Option } from 'commander';
import { registerBackup } from './commands/backup.js';
import { registerDeploy } from './commands/deploy.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerLogs } from './commands/logs.js';
import { registerMetrics } from './commands/metrics.js';
import { registerPipeline } from './commands/pipeline.js';
import { registerReload } from './commands/reload.js';
import { registerRotate } from './commands/rotate.js';
import { registerScale } from './commands/scale.js';
import { registerStatus } from './commands/status.js';
import { createContext } from './context.js';

export function createProgram(): Command {
  const program = new Command('tier')
    .description('Operate the three-tier application: locally (default) or on AWS.')
    .addOption(
      new Option('--target <target>', 'where the environment runs')
        .choices(['local', 'aws'])
        .default(process.env.TIER_TARGET ?? 'local'),
    )
    .option('--stage <stage>', 'AWS stage (dev, prod)', process.env.TIER_STAGE ?? 'dev')
    .option('--region <region>', 'AWS region (default: AWS_REGION, else the region of the AWS profile)')
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
    registerRotate,
    registerPipeline,
  ]) {
    register(program, ctx);
  }
  return program;
}
