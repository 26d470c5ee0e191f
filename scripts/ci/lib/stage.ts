// Where a stage lives, read from infra/aws/config: the one place the workflow, the CI scripts and the CDK app agree on.
import { loadStageConfig } from '../../../infra/aws/config/index.js';
import { pipelineRoleName } from '../../../infra/aws/lib/access/pipeline-access-stack.js';
import { repositoryName } from '../../../infra/aws/lib/registry/registry-stack.js';

export interface StageTarget {
  readonly stage: string;
  readonly account: string;
  readonly region: string;
  /** The GitHub environment whose jobs the stage's role trusts. */
  readonly environment: string;
  /** The stage's pipeline role (pipeline-access stack), for aws-actions/configure-aws-credentials. */
  readonly roleArn: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  readonly registry: string;
  /** ECR repository name of a tier in this stage. */
  repository(tier: string): string;
}

export function stageTarget(stage: string): StageTarget {
  const config = loadStageConfig(stage);
  return {
    stage,
    account: config.account,
    region: config.region,
    environment: config.pipeline.githubEnvironment,
    roleArn: `arn:aws:iam::${config.account}:role/${pipelineRoleName(stage)}`,
    registry: `${config.account}.dkr.ecr.${config.region}.amazonaws.com`,
    repository: (tier) => repositoryName(stage, tier),
  };
}
