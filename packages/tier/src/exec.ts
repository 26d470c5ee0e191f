// The one way the CLI runs another program (engine CLI, compose, git, npm, setup scripts): output
// captured (and streamed to a callback or a log file), an optional time limit, and failures turned
// into TierErrors that quote the command and its last lines instead of a stack trace.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TierError } from './backend.js';

export interface ExecOptions {
  readonly cwd?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Sent on standard input (then closed). @default none: standard input is closed */
  readonly input?: string;
  /** Kill the command (SIGTERM) after this long. @default no limit */
  readonly timeoutMs?: number;
  /** Called with each non-empty output line, stdout and stderr alike (progress detail). */
  readonly onLine?: (line: string) => void;
  /**
   * Append the command line and all its output to this file; a failure then quotes the file's
   * last lines and points at it. @default output kept in memory only
   */
  readonly log?: string;
  /** What to tell the user when the command fails. */
  readonly hint?: string;
  /** What to tell the user when the command is not installed. @default install it, or `tier up` as root */
  readonly missingHint?: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Lines that say nothing about a failure (podman's warnings when it runs without systemd). */
const NOISE = /unable to get systemd connection|systemd connection|level=warning|healthchecks/;

/** Runs a command to its end; resolves with its output, rejects with a TierError quoting it. */
export async function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const log = opts.log;
  if (log) await mkdir(dirname(log), { recursive: true });
  const logStream = log ? createWriteStream(log, { flags: 'a' }) : undefined;
  logStream?.write(`$ ${cmd} ${args.join(' ')}\n`);
  const shown = `\`${cmd} ${args.slice(0, 4).join(' ')}${args.length > 4 ? ' …' : ''}\``;
  const outcome = await new Promise<{ code: number | null; timedOut: boolean; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(cmd, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let partial = '';
      let timedOut = false;
      const timer =
        opts.timeoutMs && opts.timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              child.kill('SIGTERM');
            }, opts.timeoutMs)
          : undefined;
      const feed = (chunk: string) => {
        logStream?.write(chunk);
        if (!opts.onLine) return;
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) opts.onLine(line.trim());
      };
      child.stdout?.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
        feed(c);
      });
      child.stderr?.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
        feed(c);
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        reject(
          err.code === 'ENOENT'
            ? new TierError(`${cmd} is not installed`, opts.missingHint ?? `install ${cmd}, or run \`tier up\` as root`)
            : new TierError(`cannot run ${cmd}: ${err.message}`, opts.hint),
        );
      });
      child.on('close', (code) => {
        if (timer) clearTimeout(timer);
        resolve({ code, timedOut, stdout, stderr });
      });
      if (opts.input !== undefined) {
        // A command that exits without reading its input must not crash the CLI with EPIPE.
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(opts.input);
      }
    },
  ).finally(() => (logStream ? new Promise((r) => logStream.end(r)) : undefined));
  if (outcome.code === 0 && !outcome.timedOut) return { stdout: outcome.stdout, stderr: outcome.stderr };
  if (outcome.timedOut) {
    throw new TierError(
      `${shown} timed out after ${(opts.timeoutMs ?? 0) / 1000}s`,
      opts.hint ?? (log && `see ${log}`),
    );
  }
  // Some tools (pgBackRest) print their errors on stdout: quote both.
  const text = log ? await readFile(log, 'utf8') : `${outcome.stderr}\n${outcome.stdout}`;
  const tail = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !NOISE.test(l))
    .slice(log ? -15 : -6)
    .join(' | ');
  throw new TierError(`${shown} failed (exit ${outcome.code}): ${tail}`, opts.hint ?? (log && `see ${log}`));
}
