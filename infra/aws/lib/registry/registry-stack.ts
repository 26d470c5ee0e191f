// Image repositories of one stage: ECR with scan-on-push and immutable tags, fed by the pipeline (kept on teardown).
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { TIERS, type Tier } from '../shared/naming.js';

export interface RegistryStackProps extends StackProps {
  readonly config: StageConfig;
}

/** ECR repository of one tier of one stage; the pipeline role of the stage may push to exactly these. */
export function repositoryName(stage: string, tier: string): string {
  return `tier-${stage}/${tier}`;
}

/** Deployed before the services so the pipeline can push `<sha>` tags that the services then run. */
export class RegistryStack extends Stack {
  readonly repositories: Readonly<Record<Tier, ecr.Repository>>;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const repos = {} as Record<Tier, ecr.Repository>;
    for (const tier of TIERS) {
      repos[tier] = new ecr.Repository(this, `${tier}Repository`, {
        repositoryName: repositoryName(props.config.stage, tier),
        imageScanOnPush: true,
        // Immutable tags: a tag is a git sha and always means the same digest, so rollbacks are exact.
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        encryption: ecr.RepositoryEncryption.KMS,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [
          { description: 'drop untagged layers', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(14) },
        ],
      });
    }
    this.repositories = repos;
  }
}
