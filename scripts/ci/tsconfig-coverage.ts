// Fails when a TypeScript file in the repository is in no project of the build graph (tsconfig.json and its
// references), so `tsc -b` could not type-check it. Files are git's: tracked, and untracked but not ignored.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uncoveredFiles } from './lib/tsconfig-coverage.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\0')
  .filter((f) => f && existsSync(join(root, f))); // a file deleted but not yet committed is not there to check
const missing = uncoveredFiles(root, files);
if (missing.length > 0) {
  console.error(`✖ ${missing.length} TypeScript file(s) that no tsconfig of the build graph includes:`);
  for (const f of missing) console.error(`  ${f}`);
  console.error('  next: add the folder to the "include" of a tsconfig that tsconfig.json references');
  process.exit(1);
}
console.log('✔ every TypeScript file is in a tsconfig that tsc -b checks');
