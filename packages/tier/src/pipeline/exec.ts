// Runs the pipeline's external commands with their output in a log file, so the display stays one line per stage.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TierError } from '../backend.js';

/** Runs a command with its output appended to a log file; rejects with the log's tail. */
export async function runLogged(
  cmd: string,
  args: string[],
  opts: { cwd: string; log: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  await mkdir(dirname(opts.log), { recursive: true });
  const out = createWriteStream(opts.log, { flags: 'a' });
  out.write(`$ ${cmd} ${args.join(' ')}\n`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', (err) => reject(new TierError(`cannot run ${cmd}: ${err.message}`, `install ${cmd}`)));
    child.on('close', resolve);
  });
  await new Promise((resolve) => out.end(resolve));
  if (code === 0) return;
  const tail = (await readFile(opts.log, 'utf8')).trimEnd().split('\n').slice(-15).join('\n    ');
  throw new TierError(
    `\`${cmd} ${args.slice(0, 3).join(' ')}…\` exited ${code}; last lines:\n    ${tail}`,
    `see ${opts.log}`,
  );
}
