#!/usr/bin/env bash
# Synthesizes every stage, offline, into cdk.out/<stage>/ with the policy gates on (fails on any open finding).
set -euo pipefail
cd "$(dirname "$0")/.."
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
stages=("${@:-dev prod}")
for stage in ${stages[@]}; do
  echo "synth: ${stage}"
  npx cdk synth --quiet --no-notices --no-version-reporting -c "stage=${stage}" -o "cdk.out/${stage}"
done
