// One naming scheme for stacks, named resources and outputs: `tier-<stage>-<concern>`, from the shared contract.
import { CfnOutput, type Stack } from 'aws-cdk-lib';
import {
  APP_NAME,
  exportName,
  type OutputKeyOf,
  type OutputStack,
  stackName,
} from '../../../../packages/contract/src/index.js';

export { APP_NAME, stackName };

/**
 * Emits a stack's outputs exactly as packages/contract lists them (every key, top-level ids, so the CLI
 * finds them by id) and exports each as `tier-<stage>-<key>`.
 */
export function emitOutputs<S extends OutputStack>(
  stack: Stack,
  stage: string,
  concern: S,
  values: Readonly<Record<OutputKeyOf<S>, string>>,
): void {
  if (stack.stackName !== stackName(stage, concern)) {
    throw new Error(
      `outputs of '${concern}' belong to stack ${stackName(stage, concern)}, not ${stack.stackName} (packages/contract)`,
    );
  }
  for (const [key, value] of Object.entries(values) as Array<[OutputKeyOf<S>, string]>) {
    new CfnOutput(stack, key, { value, exportName: exportName(stage, key) });
  }
}

/** Literal log bucket names, so other stacks and policy checks see a plain string, not a cross-stack import. */
export function logBucketName(
  stage: string,
  purpose: 'alb' | 'cloudfront' | 'access',
  account: string,
  region: string,
): string {
  return `${APP_NAME}-${stage}-${purpose}-logs-${account}-${region}`;
}

export { TIERS, type TierName as Tier } from '../../../../packages/contract/src/index.js';
