// Runs external commands (engine CLI, compose, setup scripts) and turns failures into TierErrors
// that quote the command's last lines instead of a stack trace.
import { spawn } from 'node:child_process';
import { TierError } from '../backend.js';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each output line (progress detail). */
  readonly onLine?: (line: string) => void;
  readonly hint?: string;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs) : undefined;
    const feed = (chunk: string) => {
      if (!opts.onLine) return;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) opts.onLine(line.trim());
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      feed(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      feed(c);
    });
    child.on('error', (err) =>
      reject(
        new TierError(`cannot run ${cmd}: ${err.message}`, opts.hint ?? `install ${cmd} or run 'tier up' as root`),
      ),
    );
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const tail = `${stderr}\n${stdout}`
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !/systemd connection|level=warning/.test(l))
        .slice(-6)
        .join('\n  ');
      reject(new TierError(`${cmd} ${args.slice(0, 3).join(' ')} failed (exit ${code}):\n  ${tail}`, opts.hint));
    });
  });
}
