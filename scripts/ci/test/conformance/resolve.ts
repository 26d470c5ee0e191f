// Resolves CloudFormation intrinsics in a stage's synthesized templates to the names and ARNs the deployed resources get.
import { createHash } from 'node:crypto';
import type { Json, SynthesizedStack, SynthesizedStage } from './stage-templates.js';

/** A resource as a deployed stack would hold it: its physical id and ARN where CloudFormation knows them. */
interface Physical {
  readonly ref: string;
  readonly attrs: Record<string, string>;
}

/** A stable UUID-shaped id for a generated name (key ids, the uuid in an RDS-managed secret's name). */
export function uuidOf(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The id CloudFormation appends to a stack ARN; any fixed value does for policy matching. */
export const STACK_ID = '00000000-0000-4000-8000-000000000000';

export class StageResolver {
  constructor(readonly stage: SynthesizedStage) {}

  stack(name: string): SynthesizedStack {
    const found = this.stage.stacks.find((s) => s.stackName === name);
    if (!found) throw new Error(`no stack ${name} in stage ${this.stage.config.stage}`);
    return found;
  }

  /** The stack whose name ends with `-<concern>`. */
  stackOf(concern: string): SynthesizedStack {
    return this.stack(`tier-${this.stage.config.stage}-${concern}`);
  }

  resources(stack: SynthesizedStack, type: string): Array<[string, Json]> {
    return Object.entries(stack.template.Resources ?? {}).filter(([, r]) => (r as Json).Type === type) as Array<
      [string, Json]
    >;
  }

  /** Physical ids of resources CloudFormation names (given names where the template sets them). */
  physical(stack: SynthesizedStack, logicalId: string): Physical {
    const known = this.knownPhysical(stack, logicalId);
    const fallback = `${stack.stackName}-${logicalId}`.slice(0, 64);
    // Attributes nothing here names (secret ARNs, DNS names) resolve to a stable placeholder.
    return {
      ref: known.ref,
      attrs: new Proxy(known.attrs, { get: (t, attr) => t[String(attr)] ?? `${fallback}.${String(attr)}` }),
    };
  }

  private knownPhysical(stack: SynthesizedStack, logicalId: string): Physical {
    const resource = stack.template.Resources?.[logicalId];
    if (!resource) throw new Error(`${stack.stackName} has no resource ${logicalId}`);
    const { account, region } = stack;
    const p = resource.Properties ?? {};
    const v = (x: Json) => this.value(stack, x);
    const generated = `${stack.stackName}-${logicalId}`.slice(0, 64);
    switch (resource.Type as string) {
      case 'AWS::IAM::Role': {
        const name = p.RoleName ? v(p.RoleName) : generated;
        return { ref: name, attrs: { Arn: `arn:aws:iam::${account}:role/${name}` } };
      }
      case 'AWS::ECS::Cluster': {
        const name = p.ClusterName ? v(p.ClusterName) : generated;
        return { ref: name, attrs: { Arn: `arn:aws:ecs:${region}:${account}:cluster/${name}` } };
      }
      case 'AWS::ECS::Service': {
        const cluster = v(p.Cluster);
        const name = p.ServiceName ? v(p.ServiceName) : generated;
        const arn = `arn:aws:ecs:${region}:${account}:service/${cluster.split('/').pop()}/${name}`;
        return { ref: arn, attrs: { Name: name, ServiceArn: arn } };
      }
      case 'AWS::ECS::TaskDefinition': {
        const arn = `arn:aws:ecs:${region}:${account}:task-definition/${v(p.Family)}:1`;
        return { ref: arn, attrs: { TaskDefinitionArn: arn } };
      }
      case 'AWS::ECR::Repository': {
        const name = v(p.RepositoryName);
        return {
          ref: name,
          attrs: {
            Arn: `arn:aws:ecr:${region}:${account}:repository/${name}`,
            RepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${name}`,
          },
        };
      }
      case 'AWS::RDS::DBInstance': {
        const id = p.DBInstanceIdentifier ? v(p.DBInstanceIdentifier) : generated.toLowerCase();
        return {
          ref: id,
          attrs: {
            'Endpoint.Address': `${id}.abcdefghijkl.${region}.rds.amazonaws.com`,
            'Endpoint.Port': '5432',
            DBInstanceArn: `arn:aws:rds:${region}:${account}:db:${id}`,
            // RDS names the owner secret it manages `rds!db-<uuid>` (Secrets Manager appends 6 characters).
            'MasterUserSecret.SecretArn': `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-${uuidOf(id)}-AbCdEf`,
          },
        };
      }
      // CloudFormation gives unnamed RDS groups a lowercase generated name.
      case 'AWS::RDS::DBSubnetGroup':
        return { ref: p.DBSubnetGroupName ? v(p.DBSubnetGroupName) : generated.toLowerCase(), attrs: {} };
      case 'AWS::RDS::DBParameterGroup':
        return { ref: p.DBParameterGroupName ? v(p.DBParameterGroupName) : generated.toLowerCase(), attrs: {} };
      case 'AWS::SecretsManager::Secret': {
        // Ref is the ARN; an unnamed secret is named `<logical id>-<suffix>` by CloudFormation.
        const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${p.Name ? v(p.Name) : logicalId}-AbCdEf`;
        return { ref: arn, attrs: { Id: arn } };
      }
      case 'AWS::Logs::LogGroup': {
        const name = p.LogGroupName ? v(p.LogGroupName) : generated;
        return { ref: name, attrs: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` } };
      }
      case 'AWS::Backup::BackupVault': {
        const name = v(p.BackupVaultName);
        return {
          ref: name,
          attrs: { BackupVaultName: name, BackupVaultArn: `arn:aws:backup:${region}:${account}:backup-vault:${name}` },
        };
      }
      case 'AWS::SecretsManager::SecretTargetAttachment':
        // Ref of an attachment is the ARN of the secret it attaches.
        return { ref: v(p.SecretId), attrs: {} };
      case 'AWS::KMS::Key': {
        const id = uuidOf(`${stack.stackName}/${logicalId}`);
        return { ref: id, attrs: { Arn: `arn:aws:kms:${region}:${account}:key/${id}`, KeyId: id } };
      }
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer': {
        const arn = `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/app/${logicalId.slice(0, 32)}/0123456789abcdef`;
        return { ref: arn, attrs: { LoadBalancerArn: arn, LoadBalancerFullName: arn.split(':loadbalancer/')[1]! } };
      }
      case 'AWS::ElasticLoadBalancingV2::TargetGroup': {
        const arn = `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${logicalId.slice(0, 20)}/0123456789abcdef`;
        return { ref: arn, attrs: { TargetGroupArn: arn } };
      }
      case 'AWS::IAM::OIDCProvider': {
        const arn = `arn:aws:iam::${account}:oidc-provider/${v(p.Url).replace(/^https:\/\//, '')}`;
        return { ref: arn, attrs: { Arn: arn } };
      }
      case 'AWS::EC2::SecurityGroup':
        return { ref: `sg-${logicalId}`, attrs: { GroupId: `sg-${logicalId}` } };
      case 'AWS::EC2::Subnet':
        return { ref: `subnet-${logicalId}`, attrs: { SubnetId: `subnet-${logicalId}` } };
      default:
        return {
          ref: generated,
          attrs: new Proxy({} as Record<string, string>, { get: (_t, attr) => `${generated}.${String(attr)}` }),
        };
    }
  }

  /** A template value with every intrinsic CloudFormation would resolve at deploy time resolved. */
  value(stack: SynthesizedStack, x: Json): string {
    const resolved = this.resolve(stack, x);
    if (typeof resolved !== 'string') throw new Error(`${JSON.stringify(x)} does not resolve to a string`);
    return resolved;
  }

  resolve(stack: SynthesizedStack, x: Json): Json {
    if (x === null || typeof x !== 'object') return x;
    if (Array.isArray(x)) return x.map((e) => this.resolve(stack, e));
    const keys = Object.keys(x);
    if (keys.length !== 1) return Object.fromEntries(keys.map((k) => [k, this.resolve(stack, x[k])]));
    const [fn] = keys as [string];
    const arg = x[fn];
    switch (fn) {
      case 'Ref':
        return this.ref(stack, arg);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/);
        return this.physical(stack, id).attrs[attr];
      }
      case 'Fn::Join':
        return (this.resolve(stack, arg[1]) as Json[]).flat().join(arg[0]);
      case 'Fn::Select':
        return (this.resolve(stack, arg[1]) as Json[])[Number(this.resolve(stack, arg[0]))];
      case 'Fn::Split':
        return String(this.resolve(stack, arg[1])).split(arg[0]);
      case 'Fn::ImportValue':
        return this.importValue(String(this.resolve(stack, arg)));
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        return String(text).replace(/\$\{([^}]+)\}/g, (_m, name: string) =>
          name in vars
            ? this.value(stack, vars[name])
            : name.includes('.')
              ? this.value(stack, { 'Fn::GetAtt': name })
              : this.ref(stack, name),
        );
      }
      default:
        return Object.fromEntries(keys.map((k) => [k, this.resolve(stack, x[k])]));
    }
  }

  private ref(stack: SynthesizedStack, name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': stack.region,
      'AWS::AccountId': stack.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack.stackName,
      'AWS::StackId': `arn:aws:cloudformation:${stack.region}:${stack.account}:stack/${stack.stackName}/${STACK_ID}`,
    };
    if (name in pseudo) return pseudo[name]!;
    const parameter = stack.template.Parameters?.[name];
    if (parameter) return String(parameter.Default ?? name);
    return this.physical(stack, name).ref;
  }

  private importValue(exportName: string): string {
    for (const s of this.stage.stacks) {
      for (const o of Object.values(s.template.Outputs ?? {}) as Json[]) {
        if (o.Export && this.value(s, o.Export.Name) === exportName) return this.value(s, o.Value);
      }
    }
    throw new Error(`no stack of stage ${this.stage.config.stage} exports ${exportName}`);
  }

  /** The outputs of a stack as DescribeStacks returns them. */
  outputs(stack: SynthesizedStack): Array<{ OutputKey: string; OutputValue: string }> {
    return Object.entries(stack.template.Outputs ?? {}).map(([key, o]) => ({
      OutputKey: key,
      OutputValue: this.value(stack, (o as Json).Value),
    }));
  }
}
