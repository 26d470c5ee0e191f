// GitHub Actions plumbing for the CI scripts: step outputs and annotations (no-ops outside Actions).
import { appendFileSync } from 'node:fs';

/** Sets a step output (`steps.<id>.outputs.<name>`) when running under GitHub Actions. */
export function setOutput(name: string, value: string): void {
  const file = process.env.GITHUB_OUTPUT;
  if (!file) return;
  if (value.includes('\n')) appendFileSync(file, `${name}<<__EOF__\n${value}\n__EOF__\n`);
  else appendFileSync(file, `${name}=${value}\n`);
}

/** Prints an error the Actions log turns into an annotation; plain text elsewhere. */
export function reportError(message: string, file?: string, line?: number): void {
  if (process.env.GITHUB_ACTIONS) {
    console.log(
      `::error${file ? ` file=${file}${line ? `,line=${line}` : ''}` : ''}::${message.replaceAll('\n', '%0A')}`,
    );
  } else {
    console.error(`✖ ${file ? `${file}${line ? `:${line}` : ''}: ` : ''}${message}`);
  }
}

/** Runs a CLI's main, turning a thrown error into one line and exit code 1 (no stack trace). */
export async function main(run: () => Promise<number | undefined>): Promise<void> {
  try {
    process.exitCode = (await run()) ?? 0;
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    reportError(e.message ?? String(err));
    if (e.hint) console.error(`  next: ${e.hint}`);
    if (process.env.CI_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}
