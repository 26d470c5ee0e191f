#!/usr/bin/env bash
# ci:lint — Biome (format and lint rules) over the tree, the TypeScript typecheck of every project (tests, tools and docs included), and proof that no file is left out.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "━━ biome"; npx biome check .
echo "━━ tsc -b"; npx tsc -b
echo "━━ tsconfig coverage"; npx tsx scripts/ci/tsconfig-coverage.ts
echo "✔ lint and typecheck passed"
