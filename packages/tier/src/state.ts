// Where tier keeps its files in a checkout, all under .tier (gitignored): the delivery records at its
// top (images.json, pipeline/ runs, CI's sbom/ and infra/), and the local environment's own state in
// .tier/local (deploy history, build logs, supervisor, credentials, the log store's container map).
import { join } from 'node:path';

export const stateDir = (root: string) => join(root, '.tier');

/** The local environment's state: compose mounts parts of it (STATE_DIR in infra/local/.env). */
export const localStateDir = (root: string) => join(stateDir(root), 'local');
