// One naming scheme for stacks and named resources: `tier-<stage>-<concern>`.
export const APP_NAME = 'tier';

export function stackName(stage: string, concern: string): string {
  return `${APP_NAME}-${stage}-${concern}`;
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

/** The two application tiers, in the order they sit behind the edge. */
export const TIERS = ['web', 'api'] as const;
export type Tier = (typeof TIERS)[number];
