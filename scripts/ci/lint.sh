#!/usr/bin/env bash
# ci:lint — Biome (format and lint rules) over the tree, the TypeScript typecheck of every project, and of scripts/ci.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "━━ biome"; npx biome check .
echo "━━ tsc -b"; npx tsc -b
echo "━━ tsc scripts/ci"; npx tsc -p scripts/ci/tsconfig.json
echo "✔ lint and typecheck passed"
