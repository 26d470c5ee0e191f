// The public entry of @tier/cli: what CI scripts, the e2e suite and the benches use. The `tier` command is bin/tier.js;
// anything not exported here is internal and may change without notice.

export { createAwsContext } from './aws/context.js';
// The AWS target, and the pieces of it CI runs on its own (the migration task before a deploy).
export { type AwsBackend, type AwsBackendOptions, createAwsBackend, type RunningRevision } from './aws/index.js';
export { runMigration } from './aws/migrate.js';
// The backend interface both targets implement.
export type { Backend, EnvironmentStatus, Progress, TierName } from './backend.js';
export { DEPLOY_ORDER, TIERS, TierError } from './backend.js';
// The app images and their versions, as every command builds them.
export { buildImages, imageName as appImageRef, recordImages, repositoryFor } from './images/build.js';
export { appVersion, createGit } from './images/git.js';
export { type Container, listContainers } from './local/containers.js';
export type { Engine } from './local/engine.js';
// The local target, and what the e2e suite and the benches observe of it.
export { LocalBackend } from './local/index.js';
export { localPaths, PROJECT } from './local/paths.js';
export { FIRST_REQUESTS } from './local/served.js';
export { readSettings, type Settings } from './local/settings.js';
// The delivery pipeline's steps, for CI to run one at a time.
export { type DeployTarget, detectChanges } from './pipeline/changed-tiers.js';
export { edgeUrl } from './pipeline/run-pipeline.js';
export { smokeTest } from './pipeline/smoke.js';
// The `tier` command tree, unparsed: documentation tests check command lines against it.
export { createProgram } from './program.js';
// Where tier keeps its files in a checkout (.tier).
export { stateDir } from './state.js';
