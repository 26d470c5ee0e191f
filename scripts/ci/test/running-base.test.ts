// Change detection on main diffs each tier against the version its stage runs: a failed run's changes are not
// stranded by the next push, and a manual run redeploys every tier that does not run the commit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { detectChanges } from '@tier/cli';
import { changesAgainstRunning, notShipped, type RunningChangeInputs } from '../lib/running-base.js';

let dir: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
/** Commits the files and returns the commit's sha. */
function commit(files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git('add', '.');
  git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
}

let deployed: string;
let failedApi: string;
let head: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'running-base-'));
  git('init', '-q');
  deployed = commit({ 'apps/api/src/a.ts': '1', 'apps/web/src/w.ts': '1' }, 'both tiers, deployed');
  failedApi = commit({ 'apps/api/src/a.ts': '2' }, 'an api change whose run failed in staging');
  head = commit({ 'docs/notes.md': 'x' }, 'a docs change, the next push');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const inputs = (running: RunningChangeInputs['running'], extra: Partial<RunningChangeInputs> = {}) => ({
  running,
  head,
  resolve: (v: string) => {
    try {
      return git('rev-parse', '--verify', '--quiet', `${v}^{commit}`);
    } catch {
      return undefined;
    }
  },
  diff: (base: string) => git('diff', '--name-only', base, head).split('\n').filter(Boolean),
  target: 'aws' as const,
  ...extra,
});

describe('change detection against what runs', () => {
  it('GIVEN the api change failed in staging WHEN the next push diffs the previous push THEN it strands the api', () => {
    // What main.yml did: --base github.event.before.
    const previousPush = detectChanges(git('diff', '--name-only', failedApi, head).split('\n').filter(Boolean), 'aws');
    assert.deepEqual(previousPush.tiers, []);
  });

  it('GIVEN the api change failed in staging WHEN the base is what staging runs THEN the api ships', () => {
    const change = changesAgainstRunning(inputs({ web: deployed, api: deployed }));
    assert.deepEqual(change.tiers, ['api']);
    assert.match(change.reasons.api!, /changed since: apps\/api\/src\/a.ts/);
    assert.match(change.reasons.web!, /nothing it is built from changed/);
  });

  it('GIVEN each tier runs another version THEN each is diffed from its own', () => {
    const change = changesAgainstRunning(inputs({ web: deployed, api: failedApi }));
    assert.deepEqual(change.tiers, [], 'api runs the change already, web never changed');
  });

  it('GIVEN a tier runs a tag that is no commit of this repository THEN it ships', () => {
    const change = changesAgainstRunning(inputs({ web: 'bootstrap', api: head }));
    assert.deepEqual(change.tiers, ['web']);
  });

  it('GIVEN a manual run THEN every tier not running the commit redeploys, whatever the diff says', () => {
    const change = changesAgainstRunning(inputs({ web: failedApi, api: head }, { redeployDiffering: true }));
    assert.deepEqual(change.tiers, ['web']);
    assert.match(change.reasons.web!, /a manual run redeploys it/);
  });

  it('GIVEN production still runs the commit before a refused approval THEN it needs the api this run did not build', () => {
    // staging ran the api change; this run ships web only, production never got the api change
    const production = changesAgainstRunning(inputs({ web: deployed, api: deployed }));
    assert.deepEqual(notShipped(production, ['web']), ['api']);
    assert.deepEqual(notShipped(production, ['api', 'web']), []);
  });
});
