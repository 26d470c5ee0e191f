// A stage's synthesized templates as CloudFormation would receive them, and a resolver that turns their
// intrinsic functions into the values CloudFormation would substitute (shaped like the real ones).
import type { Stack } from 'aws-cdk-lib';
import { type Json, platform, template } from './platform.js';

export const STAGES = ['dev', 'prod'] as const;
export type StageName = (typeof STAGES)[number];

export interface SynthesizedStack {
  /** CDK stack id, e.g. `Data`. */
  readonly id: string;
  /** CloudFormation stack name, e.g. `tier-dev-data`. */
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: {
    Resources: Record<string, Json>;
    Outputs?: Record<string, Json>;
    Parameters?: Record<string, Json>;
  };
}

/** Every stack of the stage, synthesized in memory (the same app `npm run synth` builds, without the gates). */
export function stageStacks(stage: StageName): SynthesizedStack[] {
  return Object.values(platform(stage)).map((stack: Stack) => ({
    id: stack.node.id,
    stackName: stack.stackName,
    account: stack.account,
    region: stack.region,
    template: template(stack).toJSON() as SynthesizedStack['template'],
  }));
}

/** Types whose Ref is a name the template sets (DBInstanceIdentifier, ClusterName, ...). */
const REF_RETURNS_PROPERTY: Record<string, string> = {
  'AWS::RDS::DBInstance': 'DBInstanceIdentifier',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::Backup::BackupVault': 'BackupVaultName',
  'AWS::ECR::Repository': 'RepositoryName',
  'AWS::IAM::Role': 'RoleName',
};

/** Types whose Ref is an ARN. */
const REF_RETURNS_ARN: Record<string, { service: string; resource: (props: Json, id: string) => string }> = {
  'AWS::SNS::Topic': { service: 'sns', resource: (p, id) => p.TopicName ?? id },
  'AWS::ECS::TaskDefinition': { service: 'ecs', resource: (p, id) => `task-definition/${p.Family ?? id}:1` },
  'AWS::ECS::Service': { service: 'ecs', resource: (p, id) => `service/${p.ServiceName ?? id}` },
  // A secret's ARN ends in its name and six random characters; an attachment's Ref is its secret's ARN.
  'AWS::SecretsManager::Secret': { service: 'secretsmanager', resource: (p, id) => `secret:${p.Name ?? id}-AbCdEf` },
  'AWS::SecretsManager::SecretTargetAttachment': {
    service: 'secretsmanager',
    resource: (_p, id) => `secret:${id}-AbCdEf`,
  },
};

/** A value the resolver cannot turn into what CloudFormation would deliver: the caller must fail, not guess. */
export class UnresolvedValue extends Error {}

/**
 * Resolves literals, pseudo parameters, Ref, Fn::GetAtt, Fn::Join, Fn::Select and Fn::ImportValue (through the
 * stage's own exports). Resource attributes get values of the documented shape (an RDS endpoint address is a host
 * name, its port a number as text); anything else throws UnresolvedValue.
 */
export function makeResolver(stacks: readonly SynthesizedStack[]) {
  const exports = new Map<string, { stack: SynthesizedStack; value: Json }>();
  for (const stack of stacks) {
    for (const output of Object.values(stack.template.Outputs ?? {}) as Json[]) {
      if (typeof output.Export?.Name === 'string') exports.set(output.Export.Name, { stack, value: output.Value });
    }
  }

  const attribute = (stack: SynthesizedStack, logicalId: string, attr: string): string => {
    const resource = stack.template.Resources[logicalId];
    if (!resource) throw new UnresolvedValue(`${stack.stackName}: no resource ${logicalId}`);
    const props = resource.Properties ?? {};
    const literal = (name: string): string | undefined =>
      props[name] === undefined ? undefined : resolve(stack, props[name]);
    switch (`${resource.Type}.${attr}`) {
      case 'AWS::RDS::DBInstance.Endpoint.Address':
        return `${literal('DBInstanceIdentifier') ?? logicalId.toLowerCase()}.c0abcdefghij.${stack.region}.rds.amazonaws.com`;
      case 'AWS::RDS::DBInstance.Endpoint.Port':
        // PostgreSQL's default port when the template leaves Port out (RDS CreateDBInstance: Port, default 5432).
        return literal('Port') ?? '5432';
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer.DNSName':
        return `${literal('Name') ?? logicalId.toLowerCase()}-1234567890.${stack.region}.elb.amazonaws.com`;
      case 'AWS::CloudFront::Distribution.DomainName':
        return 'd1234567890abc.cloudfront.net';
      case 'AWS::ECS::Service.Name':
        return literal('ServiceName') ?? `${logicalId}-service`;
    }
    // An attribute that repeats a property the template sets (BackupVaultName, Name) is that property.
    if (props[attr] !== undefined) return resolve(stack, props[attr]);
    if (/(Id|GroupId|VersionId)$/.test(attr)) return `${logicalId.toLowerCase()}-id`;
    if (attr.endsWith('Arn'))
      return `arn:aws:${resource.Type.split('::')[1]?.toLowerCase()}:${stack.region}:${stack.account}:${logicalId}`;
    throw new UnresolvedValue(`${stack.stackName}: cannot resolve ${logicalId}.${attr} (${resource.Type})`);
  };

  const ref = (stack: SynthesizedStack, name: string): string => {
    const pseudo: Record<string, string> = {
      'AWS::Region': stack.region,
      'AWS::AccountId': stack.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::Partition': 'aws',
      'AWS::StackName': stack.stackName,
    };
    if (pseudo[name] !== undefined) return pseudo[name];
    const parameter = stack.template.Parameters?.[name];
    // An SSM-backed parameter is read at deploy time: its value is whatever the parameter holds then.
    if (parameter && String(parameter.Type).startsWith('AWS::SSM::Parameter::Value'))
      return `{{ssm:${parameter.Default ?? name}}}`;
    if (parameter?.Default !== undefined) return String(parameter.Default);
    const resource = stack.template.Resources[name];
    if (!resource) throw new UnresolvedValue(`${stack.stackName}: Ref to unknown ${name}`);
    // What Ref returns depends on the type (CloudFormation resource reference, "Return values" of each type).
    const props = resource.Properties ?? {};
    const named = REF_RETURNS_PROPERTY[resource.Type];
    if (named && typeof props[named] === 'string') return props[named];
    const arn = REF_RETURNS_ARN[resource.Type];
    if (arn) return `arn:aws:${arn.service}:${stack.region}:${stack.account}:${arn.resource(props, name)}`;
    return `${name.toLowerCase()}-physical-id`;
  };

  const resolve = (stack: SynthesizedStack, value: Json): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (value && typeof value === 'object') {
      if (typeof value.Ref === 'string') return ref(stack, value.Ref);
      const getAtt = value['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return attribute(stack, getAtt[0], getAtt.slice(1).join('.'));
      const join = value['Fn::Join'];
      if (Array.isArray(join)) return (join[1] as Json[]).map((part) => resolve(stack, part)).join(join[0]);
      const select = value['Fn::Select'];
      if (Array.isArray(select)) {
        const list = select[1];
        const items = Array.isArray(list) ? list : resolve(stack, list).split(',');
        return resolve(stack, items[Number(select[0])]);
      }
      const split = value['Fn::Split'];
      if (Array.isArray(split)) return resolve(stack, split[1]).split(split[0]).join(',');
      const imported = value['Fn::ImportValue'];
      if (typeof imported === 'string') {
        const target = exports.get(imported);
        if (!target)
          throw new UnresolvedValue(`${stack.stackName}: imports ${imported}, which no stack of the stage exports`);
        return resolve(target.stack, target.value);
      }
    }
    throw new UnresolvedValue(`${stack.stackName}: cannot resolve ${JSON.stringify(value)}`);
  };
  return resolve;
}
