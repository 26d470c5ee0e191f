#!/usr/bin/env bash
# The test command (README, .ci/run, pipeline): every check, in order from cheapest to most expensive.
# Each stage's node test counts are summed into one closing line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

STAGES="${TEST_STAGES:-static unit infra docs e2e}"
LOG_DIR="${TMPDIR:-/tmp}/tier-test-logs"
mkdir -p "$LOG_DIR"
passed=0 failed=0
declare -a summary=() failed_logs=()

run_stage() { # name, command...
  local name=$1; shift
  local log="$LOG_DIR/${name//[^A-Za-z0-9_-]/_}.log" start=$SECONDS
  echo "━━ $name: $*"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # node's test runner prints "# pass N" / "# fail N" per run; a stage without tests counts as one check.
  local p f
  p=$(grep -E '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  f=$(grep -E '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  if ((p + f == 0)); then
    if ((rc == 0)); then p=1; else f=1; fi
  elif ((rc != 0 && f == 0)); then
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
  ((rc == 0)) || failed_logs+=("$name|$log")
  summary+=("$(printf '%-28s %-6s %5ss  %s passed, %s failed' "$name" "$([[ $rc == 0 ]] && echo ok || echo FAIL)" $((SECONDS - start)) "$p" "$f")")
}

bash scripts/install-deps.sh || exit 1

for stage in $STAGES; do
  case $stage in
    static)
      run_stage build npm run build
      run_stage "typecheck coverage" npx tsx scripts/ci/tsconfig-coverage.ts
      run_stage lint npx biome check .
      ;;
    # No stage is guarded by a file test: a missing test folder or script fails its stage, never skips it.
    unit)
      for ws in packages/runtime apps/api apps/web packages/tier; do
        run_stage "test $ws" npm test -w "$ws"
      done
      ;;
    infra)
      run_stage "test infra/aws" npm test -w infra/aws
      run_stage "lint workflows" npx tsx scripts/ci/lint-workflows.ts
      run_stage "test scripts/ci" node --import tsx --test scripts/ci/test/*.test.ts
      ;;
    docs)
      run_stage "docs" npm run docs:test
      ;;
    e2e)
      run_stage "e2e (local environment)" npm run test:e2e
      ;;
    *) echo "unknown stage '$stage' (stages: static unit infra docs e2e)" >&2; exit 2 ;;
  esac
done

# The first failure's own words, right above the summary (the end of the output is what a CI page
# shows): the first TAP "not ok" block not merely cancelled with its parent (its head and its end,
# where a command's own error is), else the log's tail.
first_failure() { # log
  local blk
  blk=$(awk '/^ *not ok / { blk = $0; inblk = 1; next }
             inblk { blk = blk "\n" $0; if ($0 ~ /^ *\.\.\.$/) { if (blk !~ /cancelledByParent/) { print blk; exit } inblk = 0 } }' "$1")
  [[ -n $blk ]] || blk=$(tail -n 14 "$1")
  if (($(wc -l <<<"$blk") > 26)); then
    head -n 6 <<<"$blk"; echo "    […]"; tail -n 18 <<<"$blk"
  else
    printf '%s\n' "$blk"
  fi | cut -c1-300
}
if ((${#failed_logs[@]})); then
  echo
  echo "━━ first failures"
  for entry in "${failed_logs[@]}"; do
    echo "── ${entry%%|*} (${entry#*|})"
    first_failure "${entry#*|}"
  done
fi

echo
echo "━━ summary"
printf '%s\n' "${summary[@]}"
echo
echo "$passed passed, $failed failed"
((failed == 0))
