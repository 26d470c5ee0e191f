#!/usr/bin/env bash
# ci:test — unit and integration tests (real PostgreSQL) of every workspace, then the CI scripts' own tests.
#   npm run ci:test                 everything
#   npm run ci:test -- apps/web     only these workspaces
set -uo pipefail
cd "$(dirname "$0")/../.."
workspaces=("$@")
((${#workspaces[@]} == 0)) && workspaces=(packages/runtime apps/api apps/web packages/tier)
failed=()
for ws in "${workspaces[@]}"; do
  echo "━━ npm test -w $ws"
  npm test -w "$ws" || failed+=("$ws")
done
if (($# == 0)); then
  echo "━━ scripts/ci tests"
  node --import tsx --test scripts/ci/test/*.test.ts || failed+=(scripts/ci)
fi
if ((${#failed[@]})); then
  echo "✖ tests failed in: ${failed[*]}"
  echo "  next: rerun one with 'npm test -w <workspace>' and fix it"
  exit 1
fi
echo "✔ tests passed"
