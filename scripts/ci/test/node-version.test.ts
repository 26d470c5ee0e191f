// One Node version: the major package.json `engines` names is the one every image is built on (the apps'
// NODE_IMAGE default, the local base image builder, the workflows' TIER_NODE_IMAGE) and every setup-node installs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
const major = /^>=\s*(\d+)$/.exec(engines)?.[1];

/** Every Node major a file pins, with the text that pins it. */
const pins = (path: string, patterns: RegExp[]) =>
  patterns.flatMap((p) => [...read(path).matchAll(p)].map((m) => ({ path, text: m[0], major: m[1] })));

describe('one Node version', () => {
  it('engines names one major (>=N)', () => assert.ok(major, `engines.node is ${engines}`));

  const found = [
    ...['apps/api/Dockerfile', 'apps/web/Dockerfile'].flatMap((p) => pins(p, [/ARG NODE_IMAGE=\S*?:(\d+)/g])),
    ...pins('infra/local/images/base/build.sh', [/^NODE_MAJOR=(\d+)$/gm, /^LOCAL_NODE=\S*?:(\d+)$/gm]),
    ...['.github/workflows/main.yml', '.github/workflows/pr.yml'].flatMap((p) =>
      pins(p, [/TIER_NODE_IMAGE: node:(\d+)/g, /node-version: (\d+)/g]),
    ),
  ];

  it('finds the pins it checks (a moved pin must not pass unseen)', () => {
    for (const path of ['apps/api/Dockerfile', 'apps/web/Dockerfile', 'infra/local/images/base/build.sh'])
      assert.ok(
        found.some((f) => f.path === path),
        `no Node pin found in ${path}`,
      );
    assert.ok(found.filter((f) => f.path.startsWith('.github/')).length >= 4, 'the workflows pin Node');
  });

  it('every image and every CI job runs the engines major', () => {
    const other = found.filter((f) => f.major !== major);
    assert.deepEqual(other, [], `engines is ${engines}`);
  });
});
