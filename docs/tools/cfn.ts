// Reads the synthesized CloudFormation templates of one stage (infra/aws/cdk.out/<stage>/) and derives what the AWS
// diagram claims: resource types, security groups and their ingress links, subnet types, and where each tier runs.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface StackTemplate {
  readonly stack: string;
  readonly resources: Readonly<Record<string, CfnResource>>;
  readonly outputs: Readonly<Record<string, { Value?: unknown; Export?: { Name?: unknown } }>>;
}

/** A resource of one stack, addressed as `<stack>/<logicalId>`. */
export type ResourceKey = string;

export type SubnetKind = 'public' | 'private' | 'isolated';

/** Every `*.template.json` below the stage's folder (CDK stages may nest assemblies). */
export async function loadStageTemplates(stageDir: string): Promise<StackTemplate[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else if (name.endsWith('.template.json')) found.push(path);
    }
  };
  await walk(stageDir);
  return Promise.all(
    found.sort().map(async (file) => {
      const json = JSON.parse(await readFile(file, 'utf8')) as {
        Resources?: StackTemplate['resources'];
        Outputs?: StackTemplate['outputs'];
      };
      return {
        stack: file.slice(stageDir.length + 1).replace(/\.template\.json$/, ''),
        resources: json.Resources ?? {},
        outputs: json.Outputs ?? {},
      };
    }),
  );
}

export function resourceTypes(templates: readonly StackTemplate[]): Set<string> {
  return new Set(templates.flatMap((t) => Object.values(t.resources).map((r) => r.Type)));
}

export function cdkPath(resource: CfnResource): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : '';
}

/** Export name -> the resource its value points at, across stacks (CDK's cross-stack references). */
function exportIndex(templates: readonly StackTemplate[]): Map<string, { stack: string; value: unknown }> {
  const index = new Map<string, { stack: string; value: unknown }>();
  for (const t of templates) {
    for (const o of Object.values(t.outputs)) {
      if (typeof o.Export?.Name === 'string') index.set(o.Export.Name, { stack: t.stack, value: o.Value });
    }
  }
  return index;
}

/** The resource a value refers to (Ref, Fn::GetAtt, Fn::ImportValue of either), or undefined for literals. */
export function makeResolver(templates: readonly StackTemplate[]) {
  const exports = exportIndex(templates);
  const resolve = (stack: string, value: unknown): ResourceKey | undefined => {
    if (!value || typeof value !== 'object') return undefined;
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return `${stack}/${v.Ref}`;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return `${stack}/${getAtt[0]}`;
    const imported = v['Fn::ImportValue'];
    if (typeof imported === 'string') {
      const target = exports.get(imported);
      return target ? resolve(target.stack, target.value) : undefined;
    }
    return undefined;
  };
  return resolve;
}

export function allResources(templates: readonly StackTemplate[]): Map<ResourceKey, CfnResource> {
  const map = new Map<ResourceKey, CfnResource>();
  for (const t of templates) for (const [id, r] of Object.entries(t.resources)) map.set(`${t.stack}/${id}`, r);
  return map;
}

export interface IngressLink {
  /** A security group (`<stack>/<id>`), `prefix-list:<id>` or `cidr:<range>`. */
  readonly source: string;
  readonly target: ResourceKey;
  readonly fromPort: number;
  readonly toPort: number;
}

/** Ingress rules, from AWS::EC2::SecurityGroupIngress resources and inline SecurityGroupIngress properties. */
export function ingressLinks(templates: readonly StackTemplate[]): IngressLink[] {
  const resolve = makeResolver(templates);
  const links: IngressLink[] = [];
  const fromRule = (stack: string, rule: Record<string, unknown>, target: ResourceKey | undefined) => {
    if (!target) return;
    const sg = resolve(stack, rule.SourceSecurityGroupId);
    const source = sg
      ? sg
      : typeof rule.SourcePrefixListId === 'string'
        ? `prefix-list:${rule.SourcePrefixListId}`
        : typeof rule.CidrIp === 'string'
          ? `cidr:${rule.CidrIp}`
          : typeof rule.CidrIpv6 === 'string'
            ? `cidr:${rule.CidrIpv6}`
            : 'unknown';
    links.push({ source, target, fromPort: Number(rule.FromPort ?? -1), toPort: Number(rule.ToPort ?? -1) });
  };
  for (const t of templates) {
    for (const [id, r] of Object.entries(t.resources)) {
      if (r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties)
        fromRule(t.stack, r.Properties, resolve(t.stack, r.Properties.GroupId));
      if (r.Type === 'AWS::EC2::SecurityGroup') {
        for (const rule of (r.Properties?.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? []) {
          fromRule(t.stack, rule, `${t.stack}/${id}`);
        }
      }
    }
  }
  return links;
}

/** Subnet -> public/private/isolated, from the aws-cdk:subnet-type tag CDK puts on every subnet. */
export function subnetKinds(templates: readonly StackTemplate[]): Map<ResourceKey, SubnetKind> {
  const kinds = new Map<ResourceKey, SubnetKind>();
  for (const [key, r] of allResources(templates)) {
    if (r.Type !== 'AWS::EC2::Subnet') continue;
    const tags = (r.Properties?.Tags as { Key: string; Value: string }[] | undefined) ?? [];
    const type = tags.find((t) => t.Key === 'aws-cdk:subnet-type')?.Value;
    if (type === 'Public') kinds.set(key, 'public');
    else if (type === 'Private') kinds.set(key, 'private');
    else if (type === 'Isolated') kinds.set(key, 'isolated');
  }
  return kinds;
}

export interface Placement {
  readonly key: ResourceKey;
  readonly type: string;
  readonly path: string;
  readonly subnets: readonly SubnetKind[];
  readonly securityGroups: readonly ResourceKey[];
}

/** Where load balancers, ECS services and DB instances run: their subnets' kinds and their security groups. */
export function placements(templates: readonly StackTemplate[]): Placement[] {
  const resolve = makeResolver(templates);
  const resources = allResources(templates);
  const kinds = subnetKinds(templates);
  const out: Placement[] = [];
  const stackOf = (key: string) => key.slice(0, key.lastIndexOf('/'));
  const refs = (stack: string, list: unknown) =>
    ((Array.isArray(list) ? list : []) as unknown[]).map((v) => resolve(stack, v)).filter((k): k is string => !!k);
  for (const [key, r] of resources) {
    const stack = stackOf(key);
    const p = r.Properties ?? {};
    let subnets: string[] = [];
    let groups: string[] = [];
    if (r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer') {
      subnets = refs(stack, p.Subnets);
      groups = refs(stack, p.SecurityGroups);
    } else if (r.Type === 'AWS::ECS::Service') {
      const vpc =
        (p.NetworkConfiguration as { AwsvpcConfiguration?: Record<string, unknown> } | undefined)
          ?.AwsvpcConfiguration ?? {};
      subnets = refs(stack, vpc.Subnets);
      groups = refs(stack, vpc.SecurityGroups);
    } else if (r.Type === 'AWS::RDS::DBInstance') {
      const group = resolve(stack, p.DBSubnetGroupName);
      const groupRes = group ? resources.get(group) : undefined;
      subnets = groupRes ? refs(stackOf(group!), groupRes.Properties?.SubnetIds) : [];
      groups = refs(stack, p.VPCSecurityGroups);
    } else {
      continue;
    }
    const subnetKindsOf = [...new Set(subnets.map((s) => kinds.get(s)).filter((k): k is SubnetKind => !!k))].sort();
    out.push({ key, type: r.Type, path: cdkPath(r), subnets: subnetKindsOf, securityGroups: groups });
  }
  return out;
}

/** web or api from a CDK construct path such as `Services/Api/Service/Service`; undefined when neither. */
export function tierOfPath(path: string): 'web' | 'api' | undefined {
  const segments = path.split('/').map((s) => s.toLowerCase());
  if (segments.some((s) => s.startsWith('web'))) return 'web';
  if (segments.some((s) => s.startsWith('api'))) return 'api';
  return undefined;
}
