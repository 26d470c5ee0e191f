// What git knows about the working tree: the commit to ship, what changed since a version, dirtiness,
// and the version (image tag) every command gives the tree's images.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../exec.js';

export interface SourceState {
  /** Repository root. */
  readonly root: string;
  /** Full sha of HEAD. */
  readonly sha: string;
  /** Paths changed in the working tree (staged, unstaged and untracked) relative to HEAD. */
  readonly dirtyPaths: string[];
  /**
   * The version (image tag) for this tree: the 12-character sha, plus `-dirty-<hash of the changes>`
   * when the tree has uncommitted changes, so two different dirty trees never share a tag.
   */
  readonly version: string;
}

export interface Git {
  state(): Promise<SourceState>;
  /** The commit a version was built from, or undefined when it is not a commit this clone knows. */
  commitOf(version: string): Promise<string | undefined>;
  /** Paths that differ between two commits' trees (renames listed as both paths). */
  diff(from: string, to: string): Promise<string[]>;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, {
    cwd,
    hint: 'run tier pipeline inside a git clone',
    missingHint: 'install git (apt-get install -y git)',
  });
  return stdout;
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Versions look like `<sha>` or `<sha>-dirty-<hash>` (`<sha>-dirty` from older `tier up`s); the commit is the part before `-dirty`. */
export function commitPart(version: string): string | undefined {
  const m = /^([0-9a-f]{7,40})(?:-dirty(?:-[0-9a-f]+)?)?$/.exec(version.trim());
  return m?.[1];
}

export function createGit(cwd = process.cwd()): Git {
  let root: Promise<string> | undefined;
  const top = () => {
    root ??= git(cwd, ['rev-parse', '--show-toplevel']).then((s) => s.trim());
    return root;
  };
  return {
    async state() {
      const dir = await top();
      const sha = (await git(dir, ['rev-parse', 'HEAD'])).trim();
      // -z: paths with spaces or quotes come through verbatim; -uall lists files inside new folders.
      const status = (await git(dir, ['status', '--porcelain=v1', '-z', '-uall'])).split('\0').filter(Boolean);
      const dirtyPaths: string[] = [];
      for (let i = 0; i < status.length; i++) {
        const entry = status[i]!;
        dirtyPaths.push(entry.slice(3));
        // A rename/copy entry is followed by its source path.
        if (entry[0] === 'R' || entry[0] === 'C') dirtyPaths.push(status[++i]!);
      }
      let version = sha.slice(0, 12);
      if (dirtyPaths.length > 0) {
        const hash = createHash('sha256');
        hash.update(await git(dir, ['diff', 'HEAD', '--binary']));
        for (const path of [...dirtyPaths].sort()) {
          hash.update(path);
          hash.update(await readFile(join(dir, path)).catch(() => Buffer.from('(deleted)')));
        }
        version += `-dirty-${hash.digest('hex').slice(0, 8)}`;
      }
      return { root: dir, sha, dirtyPaths, version };
    },
    async commitOf(version) {
      const commit = commitPart(version);
      if (!commit) return undefined;
      const dir = await top();
      return exec('git', ['rev-parse', '--verify', '--quiet', `${commit}^{commit}`], { cwd: dir }).then(
        (r) => r.stdout.trim(),
        () => undefined,
      );
    },
    async diff(from, to) {
      return lines(await git(await top(), ['diff', '--name-only', '--no-renames', from, to]));
    },
  };
}

/** The version `tier up` and `tier deploy` build the app images of a tree at (SourceState.version); `dev` outside a git clone. */
export async function appVersion(tree: { readonly root: string }): Promise<string> {
  return createGit(tree.root)
    .state()
    .then(
      (s) => s.version,
      () => 'dev',
    );
}
