// Access to one stage without long-lived keys: its GitHub OIDC pipeline role and its operator role, each scoped to that stage's work.
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { type StageConfig, stages } from '../../config/index.js';
import { imageTagParameterName, repositoryName } from '../registry/registry-stack.js';
import { acknowledge } from '../shared/acknowledge.js';
import { emitOutputs, TIERS } from '../shared/naming.js';
import { OperatorAccess } from './operator-access.js';

const GITHUB_ISSUER = 'token.actions.githubusercontent.com';

/** The bootstrap roles `cdk bootstrap --qualifier <q>` creates in each account and region. */
const BOOTSTRAP_ROLE_KINDS = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;

/** Name of a stage's pipeline (deploy) role; the services stack attaches its deploy grants to it by this name. */
export function pipelineRoleName(stage: string): string {
  return `tier-${stage}-github-deploy`;
}

/** The subject GitHub puts in the OIDC token of a job that declares `environment: <name>`. */
export function environmentSubject(githubRepo: string, environment: string): string {
  return `repo:${githubRepo}:environment:${environment}`;
}

/**
 * Push (and re-read) one repository: what `docker push` needs (Amazon ECR user guide, image-push-iam), and the layer
 * downloads with which ci:sbom reads the pushed digest back for its SBOM (a pull needs BatchGetImage and
 * GetDownloadUrlForLayer: Amazon ECR user guide, "Using Amazon ECR images with Amazon ECS").
 */
const ECR_PUSH = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:DescribeImages',
];
/** Read one repository: pull a manifest and its layers by digest. */
const ECR_PULL = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:DescribeImages',
];

export interface PipelineAccessStackProps extends StackProps {
  readonly config: StageConfig;
  /** Every region a stack of this stage is deployed to (the stage region, us-east-1 for the WAF). */
  readonly deployRegions: readonly string[];
}

export class PipelineAccessStack extends Stack {
  readonly pipelineRole: iam.Role;
  readonly operatorRole: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineAccessStackProps) {
    super(scope, id, props);
    const { pipeline, stage, account, region } = props.config;
    const providerArn =
      pipeline.existingOidcProviderArn ??
      new iam.OidcProviderNative(this, 'GitHubOidc', {
        url: `https://${GITHUB_ISSUER}`,
        clientIds: ['sts.amazonaws.com'],
      }).oidcProviderArn;

    // Only jobs of this stage's GitHub environment: not pull requests, not branch jobs, not the other stage's jobs.
    this.pipelineRole = new iam.Role(this, 'DeployRole', {
      roleName: pipelineRoleName(stage),
      description: `GitHub Actions of ${pipeline.githubRepo} (environment ${pipeline.githubEnvironment}) delivering tier-${stage}`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal(providerArn, {
        StringEquals: {
          [`${GITHUB_ISSUER}:aud`]: 'sts.amazonaws.com',
          [`${GITHUB_ISSUER}:sub`]: environmentSubject(pipeline.githubRepo, pipeline.githubEnvironment),
        },
      }),
    });

    const p = this.partition;
    const repositoryArn = (repoRegion: string, repoStage: string, tier: string) =>
      `arn:${p}:ecr:${repoRegion}:${account}:repository/${repositoryName(repoStage, tier)}`;
    const statements = [
      new iam.PolicyStatement({
        sid: 'ReadOwnStacks',
        actions: ['cloudformation:DescribeStacks'],
        resources: [`arn:${p}:cloudformation:${region}:${account}:stack/tier-${stage}-*/*`],
      }),
      new iam.PolicyStatement({
        // These actions have no resource-level permissions; the region condition keeps them to the stage region.
        sid: 'ReadWithoutResourceScope',
        actions: [
          'ecr:GetAuthorizationToken',
          'ecs:DescribeTaskDefinition',
          'elasticloadbalancing:DescribeTargetHealth',
          'application-autoscaling:DescribeScalableTargets',
        ],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': region } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadOwnDatabaseState',
        actions: ['rds:DescribeDBInstances'],
        resources: [`arn:${p}:rds:${region}:${account}:db:tier-${stage}-db`],
      }),
      new iam.PolicyStatement({
        sid: 'PushOwnImages',
        actions: ECR_PUSH,
        resources: TIERS.map((t) => repositoryArn(region, stage, t)),
      }),
      new iam.PolicyStatement({
        // `tier deploy`/`tier rollback` record what each tier runs; the services stack resolves it at every deploy.
        sid: 'RecordRunningImages',
        actions: ['ssm:PutParameter'],
        resources: TIERS.map((t) => `arn:${p}:ssm:${region}:${account}:parameter${imageTagParameterName(stage, t)}`),
      }),
      new iam.PolicyStatement({
        // Infrastructure changes go through this stage's own bootstrap roles (its qualifier), in its regions only.
        sid: 'DeployThroughOwnBootstrapRoles',
        actions: ['sts:AssumeRole'],
        resources: props.deployRegions.flatMap((r) =>
          BOOTSTRAP_ROLE_KINDS.map(
            (kind) => `arn:${p}:iam::${account}:role/cdk-${pipeline.bootstrapQualifier}-${kind}-role-${account}-${r}`,
          ),
        ),
      }),
    ];
    if (pipeline.promoteFrom) {
      // Promotion copies the tested image by digest from the source stage's registry (possibly another region): read only.
      const source = stages[pipeline.promoteFrom]!;
      statements.push(
        new iam.PolicyStatement({
          sid: 'PullPromotionSource',
          actions: ECR_PULL,
          resources: TIERS.map((t) => repositoryArn(source.region, source.stage, t)),
        }),
      );
    }
    for (const s of statements) this.pipelineRole.addToPolicy(s);

    acknowledge(
      this.pipelineRole,
      'GetAuthorizationToken, DescribeTaskDefinition, DescribeTargetHealth and DescribeScalableTargets have no resource-level permissions (read-only, limited to the stage region); DescribeStacks is limited to the tier-<stage>-* stacks whose ids CloudFormation appends.',
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::arn:${p}:cloudformation:${region}:${account}:stack/tier-${stage}-*/*]`,
    );
    acknowledge(
      this.pipelineRole,
      'CDK-generated policy that belongs to this one role (the pipeline of one stage); a managed policy could be attached to other principals.',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
    this.operatorRole = new OperatorAccess(this, 'Operator', { config: props.config }).role;
    emitOutputs(this, stage, 'pipeline-access', { DeployRoleArn: this.pipelineRole.roleArn });
  }
}
