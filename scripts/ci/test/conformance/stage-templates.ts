// Synthesizes every stage of infra/aws in memory and answers questions about the result as CloudFormation would resolve it.
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { loadStageConfig, type StageConfig, stages } from '../../../../infra/aws/config/index.js';
import { buildPlatform } from '../../../../infra/aws/lib/platform.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Json = any;

export interface SynthesizedStack {
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
  readonly template: Json;
  /** The role CDK deploys this stack through (from the cloud assembly manifest). */
  readonly deployRoleArn?: string;
  /** The role CloudFormation deploys this stack's resources with (the stack's RoleARN). */
  readonly cfnExecRoleArn?: string;
  /** Roles CDK assumes to publish the stack's assets and look up context. */
  readonly publishingRoleArns: readonly string[];
}

export interface SynthesizedStage {
  readonly config: StageConfig;
  readonly stacks: readonly SynthesizedStack[];
}

const cdkJson = JSON.parse(readFileSync(new URL('../../../../infra/aws/cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

let cache: Map<string, SynthesizedStage> | undefined;

/** Every stage of infra/aws/config, synthesized once per test process (no policy gates: infra/aws tests those). */
export function synthesizedStages(): Map<string, SynthesizedStage> {
  if (cache) return cache;
  cache = new Map();
  for (const name of Object.keys(stages)) {
    const config = loadStageConfig(name);
    const app = new App({ context: { ...cdkJson.context } });
    buildPlatform(app, config);
    const assembly = app.synth();
    const assets = new Map<string, string[]>();
    for (const artifact of assembly.artifacts) {
      // biome-ignore lint/suspicious/noExplicitAny: the asset manifest artifact's file is read as JSON.
      const file = (artifact as any).file as string | undefined;
      if (!artifact.id.endsWith('.assets') || !file) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Json;
      const roles = [manifest.files, manifest.dockerImages]
        .flatMap((group: Json) => Object.values(group ?? {}))
        .flatMap((asset: Json) => Object.values(asset.destinations ?? {}))
        .map((d: Json) => d.assumeRoleArn as string)
        .filter(Boolean);
      assets.set(artifact.id.replace(/\.assets$/, ''), roles);
    }
    const stacksOut = assembly.stacks.map((s: CloudFormationStackArtifact) => ({
      stackName: s.stackName,
      region: s.environment.region,
      account: s.environment.account,
      template: s.template,
      deployRoleArn: s.assumeRoleArn,
      cfnExecRoleArn: s.cloudFormationExecutionRoleArn,
      publishingRoleArns: [...(assets.get(s.id) ?? []), ...(s.lookupRole?.arn ? [s.lookupRole.arn] : [])],
    }));
    cache.set(name, { config, stacks: stacksOut });
  }
  return cache;
}

/** Replaces CDK's `${AWS::Partition}` / account / region placeholders in an assembly ARN. */
export function concreteArn(arn: string, stack: SynthesizedStack): string {
  return arn
    .replace(/\$\{AWS::Partition\}/g, 'aws')
    .replace(/\$\{AWS::AccountId\}/g, stack.account)
    .replace(/\$\{AWS::Region\}/g, stack.region);
}
