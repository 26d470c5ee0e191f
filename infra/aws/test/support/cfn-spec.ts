// The CloudFormation resource specification the CDK itself is generated from (@aws-cdk/aws-service-spec, bundled
// by the aws-cdk CLI as db.json.gz), and a checker that holds a template resource to it: known type, required
// properties, no unknown property at any depth, literal values of the declared kind, Fn::GetAtt of real attributes.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Json } from './platform.js';

interface SpecType {
  readonly type: string;
  readonly element?: SpecType;
  readonly types?: readonly SpecType[];
  readonly reference?: { readonly $ref: string };
}
interface SpecProperty {
  readonly type: SpecType;
  readonly required?: boolean;
  readonly previousTypes?: readonly SpecType[];
}
export interface SpecResource {
  readonly cloudFormationType: string;
  readonly properties: Readonly<Record<string, SpecProperty>>;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly isStateful?: boolean;
}
interface SpecTypeDefinition {
  readonly name: string;
  readonly properties: Readonly<Record<string, SpecProperty>>;
}

/** db.json.gz of the installed aws-cdk CLI (the same package infra/aws deploys with). */
function specFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', 'aws-cdk', 'db.json.gz');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('node_modules/aws-cdk/db.json.gz not found: npm ci installs the aws-cdk CLI');
    dir = parent;
  }
}

let loaded: { resources: Map<string, SpecResource>; types: Map<string, SpecTypeDefinition> } | undefined;
export function cfnSpec() {
  if (!loaded) {
    const db = JSON.parse(gunzipSync(readFileSync(specFile())).toString('utf8')) as {
      schema: { resource: { entities: Record<string, Json> }; typeDefinition: { entities: Record<string, Json> } };
    };
    const resources = new Map<string, SpecResource>();
    for (const r of Object.values(db.schema.resource.entities)) resources.set(r.cloudFormationType, r);
    const types = new Map<string, SpecTypeDefinition>();
    for (const t of Object.values(db.schema.typeDefinition.entities)) types.set(t.$id, t);
    loaded = { resources, types };
  }
  return loaded;
}

const isIntrinsic = (v: Json) =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  /^(Ref|Fn::\w+|Condition)$/.test(Object.keys(v)[0] as string);

/** Adds to `problems` every way a value departs from a spec type. */
function check(value: Json, type: SpecType, path: string, problems: string[]): void {
  if (isIntrinsic(value)) return;
  const { types } = cfnSpec();
  const fail = (what: string) => problems.push(`${path}: ${what}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string') fail('expected a string');
      return;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' && !(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)))
        fail(`expected ${type.type}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') fail('expected a boolean');
      return;
    case 'json':
    case 'date-time':
      return;
    case 'tag':
      if (typeof value !== 'object' || typeof value.Key !== 'string') fail('expected a {Key, Value} tag');
      return;
    case 'array':
      if (!Array.isArray(value)) {
        fail('expected an array');
        return;
      }
      value.forEach((v, i) => {
        check(v, type.element as SpecType, `${path}[${i}]`, problems);
      });
      return;
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) {
        fail('expected a map');
        return;
      }
      for (const [k, v] of Object.entries(value)) check(v, type.element as SpecType, `${path}.${k}`, problems);
      return;
    case 'union': {
      const options = type.types ?? [];
      const fits = options.some((t) => {
        const sub: string[] = [];
        check(value, t, path, sub);
        return sub.length === 0;
      });
      if (!fits) fail(`matches none of ${options.map((t) => t.type).join(' | ')}`);
      return;
    }
    case 'ref': {
      const def = types.get(type.reference?.$ref ?? '');
      if (!def) {
        fail(`unknown type reference ${type.reference?.$ref}`);
        return;
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        fail(`expected a ${def.name} object`);
        return;
      }
      checkProperties(value, def.properties, path, problems);
      return;
    }
  }
  fail(`spec type ${type.type} is not modelled`);
}

function checkProperties(
  value: Record<string, Json>,
  properties: Readonly<Record<string, SpecProperty>>,
  path: string,
  problems: string[],
): void {
  for (const [name, prop] of Object.entries(properties)) {
    if (prop.required && value[name] === undefined) problems.push(`${path}.${name}: required, missing`);
  }
  for (const [name, v] of Object.entries(value)) {
    const prop = properties[name];
    if (!prop) {
      problems.push(`${path}.${name}: not a property of this type`);
      continue;
    }
    // A value of a type the property had before is still accepted by CloudFormation.
    const attempts = [prop.type, ...(prop.previousTypes ?? [])];
    const results = attempts.map((t) => {
      const sub: string[] = [];
      check(v, t, `${path}.${name}`, sub);
      return sub;
    });
    if (!results.some((r) => r.length === 0)) problems.push(...(results[0] ?? []));
  }
}

/** Every way the template resource `id` departs from the specification of its type. */
export function specProblems(resources: Readonly<Record<string, Json>>, id: string): string[] {
  const resource = resources[id];
  const type: string = resource.Type;
  if (type.startsWith('Custom::') || type === 'AWS::CDK::Metadata' || type === 'AWS::CloudFormation::CustomResource')
    return [];
  const spec = cfnSpec().resources.get(type);
  if (!spec) return [`${id}: ${type} is not a CloudFormation resource type`];
  const problems: string[] = [];
  checkProperties(resource.Properties ?? {}, spec.properties, id, problems);
  // Fn::GetAtt anywhere in the resource must name an attribute the target's type has.
  const visit = (v: Json): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const [target, attr] = getAtt as [string, string];
      const targetType = resources[target]?.Type as string | undefined;
      const targetSpec = targetType ? cfnSpec().resources.get(targetType) : undefined;
      if (targetSpec && !(attr in targetSpec.attributes) && !attr.includes('.'))
        problems.push(`${id}: Fn::GetAtt ${target}.${attr}: ${targetType} has no attribute ${attr}`);
    }
    for (const child of Object.values(v)) visit(child);
  };
  visit(resource.Properties ?? {});
  return problems;
}
