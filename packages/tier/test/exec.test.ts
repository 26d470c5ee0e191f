// The CLI's one command runner: output captured and streamed, standard input, a time limit, a log
// file, and failures that quote the command and its last lines.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TierError } from '../src/backend.js';
import { exec } from '../src/exec.js';

const sh = (script: string) => ['-c', script];

/** The TierError a run rejects with (fails the test when it resolves or rejects with something else). */
async function failure(run: Promise<unknown>): Promise<TierError> {
  const err = await run.then(
    () => assert.fail('the command succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TierError, String(err));
  return err;
}

describe('exec', () => {
  it('resolves with stdout and stderr apart', async () => {
    assert.deepEqual(await exec('sh', sh('echo out; echo err >&2')), { stdout: 'out\n', stderr: 'err\n' });
  });

  it('sends `input` on standard input', async () => {
    assert.equal((await exec('cat', [], { input: 'show stat\n' })).stdout, 'show stat\n');
  });

  it('passes each non-empty output line to onLine, from both streams', async () => {
    const lines: string[] = [];
    await exec('sh', sh('echo one; echo; echo two >&2'), { onLine: (l) => lines.push(l) });
    assert.deepEqual(lines.sort(), ['one', 'two']);
  });

  it('a failure quotes the command, its exit code and its last lines (podman noise left out), with the hint', async () => {
    const err = await failure(
      exec('sh', sh('echo "level=warning msg=x" >&2; echo "no such image" >&2; exit 3'), { hint: 'build it first' }),
    );
    assert.equal(
      err.message,
      '`sh -c echo "level=warning msg=x" >&2; echo "no such image" >&2; exit 3` failed (exit 3): no such image',
    );
    assert.equal(err.hint, 'build it first');
  });

  it('a command that is not installed says so', async () => {
    await assert.rejects(
      exec('tier-no-such-command', [], { missingHint: 'install it' }),
      (err: TierError) => err.message === 'tier-no-such-command is not installed' && err.hint === 'install it',
    );
  });

  it('stops a command at its time limit and says so', async () => {
    const started = Date.now();
    await assert.rejects(exec('sleep', ['5'], { timeoutMs: 200 }), /^TierError: `sleep 5` timed out after 0.2s$/);
    assert.ok(Date.now() - started < 3000, 'it did not wait for the command');
  });

  it('with a log file: the command line and all output go there, and a failure quotes the log and points at it', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'tier-exec-')), 'sub/build.log');
    await exec('sh', sh('echo first'), { log });
    const err = await failure(exec('sh', sh('echo second; exit 1'), { log }));
    assert.equal(readFileSync(log, 'utf8'), '$ sh -c echo first\nfirst\n$ sh -c echo second; exit 1\nsecond\n');
    assert.match(err.message, /failed \(exit 1\): .*second$/);
    assert.equal(err.hint, `see ${log}`);
  });
});
