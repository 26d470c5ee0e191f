// Records why a policy finding is accepted, on the construct it concerns (cdk-nag 3 / CDK Validations API).
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Plugin namespace the CDK uses for findings of @cdklabs/cdk-validator-cfnguard. */
export const CFN_GUARD = 'cdk-validator-cfnguard';

/**
 * Acknowledges findings on `scope` (and everything below it). cdk-nag ids are plain
 * (`AwsSolutions-IAM5[Resource::*]`, `NIST.800.53.R5-RDSMultiAZSupport`); cfn-guard ids are
 * given as `guard('CT_RULE')` and namespaced here.
 */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  if (reason.trim().length < 20) throw new Error(`Acknowledgement of ${ids.join(', ')} needs a specific reason.`);
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/** The namespaced id of a cfn-guard (Control Tower) rule, e.g. guard('CT.S3.PR.1'). */
export function guard(rule: string): string {
  return `${CFN_GUARD}::${rule}`;
}
