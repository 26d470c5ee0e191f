// Pipeline access without long-lived keys: GitHub OIDC and a deploy role that can only assume the CDK bootstrap roles.
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { acknowledge } from '../shared/acknowledge.js';

const GITHUB_ISSUER = 'token.actions.githubusercontent.com';
/** Qualifier of the default CDK bootstrap (`cdk bootstrap` without --qualifier). */
const BOOTSTRAP_QUALIFIER = 'hnb659fds';

export interface PipelineAccessStackProps extends StackProps {
  readonly config: StageConfig;
}

export class PipelineAccessStack extends Stack {
  readonly deployRole: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineAccessStackProps) {
    super(scope, id, props);
    const { pipeline, stage } = props.config;
    const providerArn =
      pipeline.existingOidcProviderArn ??
      new iam.OidcProviderNative(this, 'GitHubOidc', {
        url: `https://${GITHUB_ISSUER}`,
        clientIds: ['sts.amazonaws.com'],
      }).oidcProviderArn;

    this.deployRole = new iam.Role(this, 'DeployRole', {
      roleName: `tier-${stage}-github-deploy`,
      description: `GitHub Actions of ${pipeline.githubRepo} deploying tier-${stage} through the CDK bootstrap roles`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal(providerArn, {
        StringEquals: { [`${GITHUB_ISSUER}:aud`]: 'sts.amazonaws.com' },
        StringLike: {
          [`${GITHUB_ISSUER}:sub`]: pipeline.allowedSubjects.map((s) => `repo:${pipeline.githubRepo}:${s}`),
        },
      }),
    });
    this.deployRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssumeCdkBootstrapRoles',
        actions: ['sts:AssumeRole'],
        resources: [`arn:${this.partition}:iam::${this.account}:role/cdk-${BOOTSTRAP_QUALIFIER}-*`],
      }),
    );
    acknowledge(
      this.deployRole,
      'The wildcard covers exactly the CDK bootstrap roles (deploy, file/image publishing, lookup) of this account; their own policies bound what a deployment can do.',
      `AwsSolutions-IAM5[Resource::arn:${this.partition}:iam::${props.config.account}:role/cdk-${BOOTSTRAP_QUALIFIER}-*]`,
    );
    acknowledge(
      this.deployRole,
      'CDK-generated policy with the single sts:AssumeRole statement of this role; a managed policy could be attached to other principals.',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
    new CfnOutput(this, 'DeployRoleArn', { value: this.deployRole.roleArn });
  }
}
