// tier: the operations CLI. Parses arguments, picks the target's backend, reports errors plainly.
import { CommanderError } from 'commander';
import { TierError } from './backend.js';
import { createProgram } from './program.js';

const program = createProgram();

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
