#!/usr/bin/env bash
# ci:synth — synthesize every AWS stage offline with the policy gates (cdk-nag, cfn-guard), then the infra tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
echo "━━ synth"
if npm pkg get scripts.synth | grep -q '"'; then npm run synth; else npm run synth -w infra/aws; fi
echo "━━ infra tests"
npm test -w infra/aws
echo "✔ synth and infra tests passed"
