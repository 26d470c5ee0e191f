// Image repositories of one stage: ECR with scan-on-push and immutable tags, fed by the pipeline (kept on teardown).
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ssm from 'aws-cdk-lib/aws-ssm';
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

/**
 * SSM parameter holding the image tag a tier of a stage runs: the one source of truth. The services stack resolves it
 * at every deployment (a template parameter), `tier deploy`/`tier rollback` write it after a rollout.
 */
export function imageTagParameterName(stage: string, tier: string): string {
  return `/tier/${stage}/image/${tier}`;
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
    if (props.config.services.image.kind === 'ecr') {
      // Created with the configured tag; CloudFormation touches the value again only when that tag changes
      // (-c imageTag=<sha>), so what `tier deploy` wrote survives every other deployment.
      for (const tier of TIERS) {
        new ssm.StringParameter(this, `${tier}ImageTag`, {
          parameterName: imageTagParameterName(props.config.stage, tier),
          description: `Image tag tier-${props.config.stage}/${tier} runs (written by tier deploy)`,
          stringValue: props.config.services.image.tag,
        });
      }
    }
  }
}
