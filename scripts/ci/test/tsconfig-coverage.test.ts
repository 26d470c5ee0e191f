// The coverage check on a throwaway tree: a file a referenced project includes passes, any other is named.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { projectsOf, uncoveredFiles } from '../lib/tsconfig-coverage.js';

const root = mkdtempSync(join(tmpdir(), 'tsconfig-coverage-'));
after(() => rmSync(root, { recursive: true, force: true }));
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};
write('tsconfig.json', JSON.stringify({ files: [], references: [{ path: 'app' }] }));
write('app/tsconfig.json', JSON.stringify({ include: ['src'], references: [{ path: 'test' }] }));
write('app/test/tsconfig.json', JSON.stringify({ include: ['**/*.ts'] }));
const files = ['app/src/main.ts', 'app/test/main.test.ts', 'app/scripts/tool.ts', 'bench/run.mts', 'README.md'];
for (const f of files) write(f, 'export {};\n');

describe('tsconfig coverage', () => {
  it('follows references from the root tsconfig, transitively', () => {
    assert.deepEqual(
      [...projectsOf(join(root, 'tsconfig.json')).keys()],
      ['tsconfig.json', 'app/tsconfig.json', 'app/test/tsconfig.json'].map((p) => join(root, p)),
    );
  });

  it('names every TypeScript file no referenced project includes, and only those', () => {
    assert.deepEqual(uncoveredFiles(root, files), ['app/scripts/tool.ts', 'bench/run.mts']);
  });

  it('passes when every TypeScript file is included', () => {
    assert.deepEqual(uncoveredFiles(root, ['app/src/main.ts', 'app/test/main.test.ts', 'README.md']), []);
  });
});
