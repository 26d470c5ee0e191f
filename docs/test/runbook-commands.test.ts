// Every `tier ...` command named in docs/ (runbooks, architecture, slides, decisions) exists in the CLI's help:
// the command, its subcommand (e.g. `backup verify`) and every --option.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DOCS_DIR, REPO_DIR } from '../tools/paths.js';
import { markdownFiles, readText } from './support.js';

const TIER_BIN = join(REPO_DIR, 'packages', 'tier', 'bin', 'tier.js');
const helpCache = new Map<string, string>();

/** `tier <args> --help`, straight from the CLI's sources (what `npx tier` runs). */
function help(args: string[]): string {
  const key = args.join(' ');
  let text = helpCache.get(key);
  if (text === undefined) {
    text = execFileSync(process.execPath, [TIER_BIN, ...args, '--help'], {
      cwd: REPO_DIR,
      encoding: 'utf8',
      timeout: 60_000,
    });
    helpCache.set(key, text);
  }
  return text;
}

/** Names listed under "Commands:" in a help text. */
function commandsIn(text: string): Set<string> {
  const section = text.split(/^Commands:$/m)[1] ?? '';
  return new Set([...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help'));
}

const optionsIn = (text: string) => new Set([...text.matchAll(/(?:^|\s|,)(--[a-z][\w-]*)/gm)].map((m) => m[1]!));

/** Every `tier ...` invocation in a markdown text: in code blocks and in inline code, `npx ` optional. */
export function tierInvocations(markdown: string): string[] {
  const found: string[] = [];
  const take = (line: string) => {
    for (const m of line.matchAll(/(?:^|[\s`(])(?:npx )?tier ((?:--?[\w-]+|[\w=.<>:/@|-]+)(?: +(?!#)[^\s`|;&)]+)*)/g)) {
      // Stop at a shell comment or a pipe; drop placeholders' angle brackets.
      found.push(m[1]!.split(/\s+#/)[0]!.trim());
    }
  };
  let inBlock = false;
  for (const line of markdown.split('\n')) {
    if (line.trim().startsWith('```')) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) take(line.replace(/#.*$/, ''));
    else for (const span of line.matchAll(/`([^`]+)`/g)) if (/^(npx )?tier /.test(span[1]!)) take(span[1]!);
  }
  return found;
}

const GLOBAL_WITH_VALUE = new Set(['--target', '--stage', '--region']);

/** Checks one invocation; returns the problem or undefined. */
function problemWith(invocation: string): string | undefined {
  const words = invocation.split(/\s+/).filter(Boolean);
  const top = help([]);
  const globals = optionsIn(top.split(/^Commands:$/m)[0]!);
  const path: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('--')) {
      const name = w.split('=')[0]!;
      options.push(name);
      if (GLOBAL_WITH_VALUE.has(name)) i++;
      continue;
    }
    if (path.length === 0) {
      if (w.startsWith('<')) return undefined; // a placeholder such as `tier <command>`
      if (!commandsIn(top).has(w)) return `"tier ${w}" is not a tier command (tier --help)`;
      path.push(w);
    } else if (path.length === 1 && commandsIn(help(path)).size > 0 && /^[a-z]+$/.test(w)) {
      if (!commandsIn(help(path)).has(w)) return `"tier ${path[0]} ${w}" is not a subcommand (tier ${path[0]} --help)`;
      path.push(w);
    }
  }
  if (path.length === 0) return undefined; // `tier --help` and the like
  const known = new Set([...globals, ...optionsIn(help(path)), ...optionsIn(help(path.slice(0, 1)))]);
  const unknown = options.filter((o) => !known.has(o));
  return unknown.length > 0 ? `"tier ${path.join(' ')}" has no option ${unknown.join(', ')}` : undefined;
}

describe('tier commands named in the docs exist', () => {
  test('the extractor finds commands in code blocks and inline code, with options', () => {
    const md =
      '```sh\nnpx tier deploy --version abc --tier web   # comment\n```\nRun `tier backup verify` or `npx tier scale web=4 api=3`.';
    assert.deepEqual(tierInvocations(md), ['deploy --version abc --tier web', 'backup verify', 'scale web=4 api=3']);
  });

  test('a command that does not exist is reported', () => {
    assert.match(problemWith('frobnicate --now') ?? '', /not a tier command/);
    assert.match(problemWith('backup explode') ?? '', /not a subcommand/);
    assert.match(problemWith('deploy --colour blue') ?? '', /has no option --colour/);
  });

  test('every runbook names at least one tier command, and every named command exists in the help', async () => {
    const problems: string[] = [];
    let count = 0;
    for (const file of await markdownFiles(DOCS_DIR)) {
      const rel = file.slice(DOCS_DIR.length + 1);
      const invocations = tierInvocations(await readText(file));
      if (rel.startsWith('runbooks/') && rel !== 'runbooks/README.md')
        assert.ok(invocations.length > 0, `${rel} names no tier command`);
      for (const inv of invocations) {
        count++;
        const problem = problemWith(inv);
        if (problem) problems.push(`${rel}: tier ${inv}: ${problem}`);
      }
    }
    assert.ok(count > 20, `expected the runbooks to name many tier commands, found ${count}`);
    assert.deepEqual(problems, []);
  });
});
