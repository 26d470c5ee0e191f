// ci:images — one immutable image per tier, tagged with the git sha; ids/digests to .tier/images.json (and job outputs).
//   npm run ci:images                         every tier, version = this tree (sha, or sha-dirty-<hash>)
//   npm run ci:images -- --tier web --version <sha> --push <registry>/tier-dev/{tier}
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildImages, createGit, recordImages, repositoryFor, stateDir } from '@tier/cli';
import { pushedRelease } from './lib/ecr-release.js';
import { main, setOutput } from './lib/github.js';
import { tierList } from './lib/tier.js';

await main(async () => {
  const { values } = parseArgs({
    options: {
      tier: { type: 'string', multiple: true },
      tiers: { type: 'string' },
      version: { type: 'string' },
      push: { type: 'string' },
      'node-image': { type: 'string' },
    },
  });
  const tiers = tierList(values.tiers, values.tier);
  if (tiers.length === 0) {
    console.log('✔ no tier changed: no image to build');
    return 0;
  }
  const source = await createGit().state();
  const version = values.version ?? source.version;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) {
    throw Object.assign(new Error(`'${version}' is not a valid image tag`), { hint: 'pass --version <git sha>' });
  }
  if (values.push && source.dirtyPaths.length > 0) {
    // What is pushed must be exactly a commit: a dirty tree would publish an image no commit describes.
    throw Object.assign(
      new Error(`refusing to push images of a dirty tree (${source.dirtyPaths.length} changed paths)`),
      {
        hint: 'commit first; CI pushes from a clean checkout',
      },
    );
  }
  const started = Date.now();
  // A re-run for a commit already pushed reuses the release: the tag is immutable, its digest is what ships.
  const reused: Array<{ tier: string; pushed: string }> = [];
  if (values.push) {
    for (const t of tiers) {
      const repository = repositoryFor(values.push, t);
      const digest = await pushedRelease(repository, version);
      if (digest) {
        reused.push({ tier: t, pushed: `${repository}@${digest}` });
        console.log(`✔ ${t}: ${repository}:${version} already pushed as ${digest}: reused, not rebuilt`);
      }
    }
  }
  const toBuild = tiers.filter((t) => !reused.some((r) => r.tier === t));
  for (const r of reused) {
    setOutput(`${r.tier}_image`, r.pushed);
    setOutput(`${r.tier}_digest`, r.pushed.replace(/^.*@/, ''));
  }
  const records = !toBuild.length
    ? []
    : await buildImages({
        root: source.root,
        version,
        tiers: toBuild,
        pushTo: values.push,
        nodeImage: values['node-image'],
        logDir: join(stateDir(source.root), 'logs'),
        onImage: (r) => console.log(`✔ ${r.tier}: ${r.pushed ?? r.image}  id ${r.id}`),
      });
  // Reused releases are recorded like built ones: later stages ship the digest either way.
  const reusedRecords = reused.map((r) => ({
    tier: r.tier as (typeof tiers)[number],
    image: `${r.pushed.slice(0, r.pushed.indexOf('@'))}:${version}`,
    version,
    id: r.pushed.slice(r.pushed.indexOf('@') + 1),
    pushed: r.pushed,
    builtAt: 'reused',
  }));
  await recordImages(join(stateDir(source.root), 'images.json'), [...records, ...reusedRecords]);
  for (const r of records) {
    setOutput(`${r.tier}_image`, r.pushed ?? r.image);
    setOutput(`${r.tier}_digest`, (r.pushed ?? r.id).replace(/^.*@/, ''));
  }
  setOutput('version', version);
  console.log(
    `✔ ${records.length} image(s) built, ${reused.length} reused at ${version} in ${((Date.now() - started) / 1000).toFixed(1)}s; recorded in .tier/images.json`,
  );
  return 0;
});
