// CDK entry point: synthesizes one stage (-c stage=dev|prod) with the policy gates on.
import { App } from 'aws-cdk-lib';
import { loadStageConfig } from '../config/index.js';
import { buildPlatform } from '../lib/platform.js';
import { addPolicyGates } from '../lib/policy-gates.js';

const app = new App();
try {
  const config = loadStageConfig(app.node.tryGetContext('stage'), { imageTag: app.node.tryGetContext('imageTag') });
  buildPlatform(app, config);
} catch (error) {
  // A configuration mistake is a message naming the fix, not a stack trace.
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
addPolicyGates(app);
app.synth();
