// Entry-point helper: a bad setting prints one clear message and exits 2, never a stack trace.
import { ConfigError } from './config.js';

export async function startOrExit(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
