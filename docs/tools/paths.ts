// Where the docs tools read and write: one place, so the tests can redirect output to a scratch folder.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(DOCS_DIR, '..');
export const BENCH_RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? join(REPO_DIR, 'bench', 'results');

/** docs/rendered, or DOCS_OUT when set (tests render into a temporary folder). */
export function outputDir(): string {
  return process.env.DOCS_OUT ? resolve(process.env.DOCS_OUT) : join(DOCS_DIR, 'rendered');
}
