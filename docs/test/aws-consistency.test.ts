// The AWS diagram's model (docs/diagrams/aws.model.ts) against the synthesized templates (infra/aws/cdk.out/<stage>/):
// resource types, tiers, networks (subnet tiers and placement) and security-group links must agree both ways.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  type AwsNode,
  awsNodes,
  awsSecurityGroups,
  awsSgLinks,
  nodesOf,
  type Stage,
  stageAzs,
} from '../diagrams/aws.model.js';
import {
  allResources,
  cdkPath,
  ingressLinks,
  loadStageTemplates,
  placements,
  resourceTypes,
  type StackTemplate,
  subnetKinds,
  tierOfPath,
} from '../tools/cfn.js';
import { REPO_DIR } from '../tools/paths.js';

const INFRA = join(REPO_DIR, 'infra', 'aws');
const STAGES: readonly Stage[] = ['dev', 'prod'];

const templates = new Map<Stage, StackTemplate[]>();

/** Synthesizes once when a stage's templates are missing (a fresh CI clone has no cdk.out). */
function ensureSynth(): void {
  if (STAGES.every((s) => existsSync(join(INFRA, 'cdk.out', s)))) return;
  execFileSync('npm', ['run', 'synth'], { cwd: REPO_DIR, stdio: 'inherit', timeout: 15 * 60_000 });
}

before(async () => {
  ensureSynth();
  for (const stage of STAGES) {
    const dir = join(INFRA, 'cdk.out', stage);
    assert.ok(existsSync(dir), `npm run synth did not produce ${dir}`);
    templates.set(stage, await loadStageTemplates(dir));
  }
});

const nodeById = new Map(awsNodes.map((n) => [n.id, n]));

/** The model box a template security group stands for, by CDK path. */
function sgNode(path: string): string | undefined {
  const matches = awsSecurityGroups.filter((g) => g.pathPattern.test(path));
  assert.ok(
    matches.length <= 1,
    `security group ${path} matches several model entries: ${matches.map((m) => m.id).join(', ')}`,
  );
  return matches[0]?.node;
}

describe('the AWS model is well formed', () => {
  test('every security-group link and mapping names a box of the model', () => {
    for (const l of awsSgLinks) {
      assert.ok(nodeById.has(l.from), `sg link from unknown box ${l.from}`);
      assert.ok(nodeById.has(l.to), `sg link to unknown box ${l.to}`);
    }
    for (const g of awsSecurityGroups)
      assert.ok(nodeById.has(g.node), `security group ${g.id} maps to unknown box ${g.node}`);
  });

  test('every application tier has an edge, a balancer or a service, and the database sits in isolated subnets', () => {
    const tiers = new Set(awsNodes.map((n) => n.tier).filter(Boolean));
    assert.deepEqual([...tiers].sort(), ['api', 'db', 'edge', 'web']);
    for (const n of awsNodes.filter((x) => x.tier === 'db'))
      assert.equal(n.network, 'isolated', `${n.id} must be isolated`);
  });
});

for (const stage of STAGES) {
  describe(`AWS diagram vs synthesized templates (${stage})`, () => {
    const tpl = () => templates.get(stage)!;
    const model = () => nodesOf(stage);

    test('every resource type the picture names exists in the templates', () => {
      const present = resourceTypes(tpl());
      const missing = model().flatMap((n) => n.cfnTypes.filter((t) => !present.has(t)).map((t) => `${n.id}: ${t}`));
      assert.deepEqual(missing, [], `the diagram names resource types the ${stage} templates do not have`);
    });

    test('the tiers in the picture are the tiers in the templates', () => {
      const types = resourceTypes(tpl());
      const fromTemplates = new Set<string>();
      if (types.has('AWS::CloudFront::Distribution')) fromTemplates.add('edge');
      if (types.has('AWS::RDS::DBInstance')) fromTemplates.add('db');
      for (const p of placements(tpl())) {
        const tier = tierOfPath(p.path);
        if (tier && p.type !== 'AWS::RDS::DBInstance') fromTemplates.add(tier);
      }
      const fromModel = new Set(
        model()
          .map((n) => n.tier)
          .filter((t): t is NonNullable<AwsNode['tier']> => !!t),
      );
      assert.deepEqual([...fromModel].sort(), [...fromTemplates].sort());
      // Per kind: one balancer and one service per application tier, in both.
      for (const type of ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ECS::Service']) {
        const inTemplates = placements(tpl())
          .filter((p) => p.type === type)
          .map((p) => tierOfPath(p.path) ?? `unmapped ${p.path}`)
          .sort();
        const inModel = model()
          .filter((n) => n.cfnTypes[0] === type)
          .map((n) => n.tier ?? `untiered ${n.id}`)
          .sort();
        assert.deepEqual(inModel, inTemplates, `${type}: tiers in the picture vs the templates`);
      }
    });

    test('the subnet tiers (networks) and AZ count are the same, and each box runs in the subnets the picture shows', () => {
      const kinds = subnetKinds(tpl());
      const templateNetworks = [...new Set(kinds.values())].sort();
      const modelNetworks = [...new Set(model().map((n) => n.network))]
        .filter((n) => ['public', 'private', 'isolated'].includes(n))
        .sort();
      assert.deepEqual(modelNetworks, templateNetworks, 'networks (subnet tiers) in the picture vs the templates');
      const { azs } = stageAzs(stage);
      for (const kind of templateNetworks) {
        const count = [...kinds.values()].filter((k) => k === kind).length;
        assert.equal(count, azs, `${kind} subnets: the picture says one per AZ (${azs}), the templates have ${count}`);
      }
      const resources = allResources(tpl());
      for (const p of placements(tpl())) {
        let node: AwsNode | undefined;
        if (p.type === 'AWS::RDS::DBInstance') {
          const replica = resources.get(p.key)?.Properties?.SourceDBInstanceIdentifier !== undefined;
          node = nodeById.get(replica ? 'rds-replica' : 'rds-primary');
        } else {
          const tier = tierOfPath(p.path);
          node = model().find((n) => n.cfnTypes[0] === p.type && n.tier === tier);
        }
        assert.ok(node, `${p.path} (${p.type}) has no box in the picture`);
        assert.deepEqual(
          p.subnets,
          [node.network],
          `${p.path} runs in ${p.subnets.join('+')} subnets; the picture puts ${node.id} in ${node.network}`,
        );
        for (const sg of p.securityGroups) {
          const sgPath = cdkPath(resources.get(sg) ?? { Type: '' });
          const owner = sgNode(sgPath);
          const expected: string = node.id === 'rds-replica' ? 'rds-primary' : node.id;
          assert.equal(
            owner,
            expected,
            `${p.path} uses security group ${sgPath}, which the picture gives to ${owner ?? 'no box'}`,
          );
        }
      }
    });

    test('the Multi-AZ standby and the read replica are drawn exactly when the templates have them', () => {
      const dbs = [...allResources(tpl()).values()].filter((r) => r.Type === 'AWS::RDS::DBInstance');
      const primary = dbs.find((r) => r.Properties?.SourceDBInstanceIdentifier === undefined);
      assert.ok(primary, 'no primary DB instance in the templates');
      const multiAz = primary.Properties?.MultiAZ === true || primary.Properties?.MultiAZ === 'true';
      const hasReplica = dbs.some((r) => r.Properties?.SourceDBInstanceIdentifier !== undefined);
      assert.equal(
        model().some((n) => n.id === 'rds-standby'),
        multiAz,
        `standby drawn vs MultiAZ=${multiAz}`,
      );
      assert.equal(
        model().some((n) => n.id === 'rds-replica'),
        hasReplica,
        `read replica drawn vs templates (${hasReplica})`,
      );
    });

    test('every security group is in the picture and the security-group links agree both ways', () => {
      const resources = allResources(tpl());
      const groups = [...resources].filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroup');
      const unmapped = groups.map(([, r]) => cdkPath(r)).filter((path) => !sgNode(path));
      assert.deepEqual(
        unmapped,
        [],
        'security groups with no box: add them to awsSecurityGroups in docs/diagrams/aws.model.ts',
      );
      const nodeOfKey = (key: string) => sgNode(cdkPath(resources.get(key) ?? { Type: '' }));
      const fromTemplates = new Set<string>();
      for (const l of ingressLinks(tpl())) {
        const to = nodeOfKey(l.target);
        const from = l.source.startsWith('prefix-list:')
          ? 'cloudfront(prefix-list)'
          : l.source.startsWith('cidr:')
            ? l.source
            : nodeOfKey(l.source);
        for (let port = l.fromPort; port <= l.toPort && port - l.fromPort < 5; port++)
          fromTemplates.add(`${from} -> ${to}:${port}`);
      }
      const present = new Set(model().map((n) => n.id));
      const fromModel = new Set(
        awsSgLinks
          .filter((l) => present.has(l.from) && present.has(l.to))
          .flatMap((l) =>
            l.ports.map((p) => `${l.source === 'prefix-list' ? `${l.from}(prefix-list)` : l.from} -> ${l.to}:${p}`),
          ),
      );
      const onlyInTemplates = [...fromTemplates].filter((x) => !fromModel.has(x)).sort();
      const onlyInPicture = [...fromModel].filter((x) => !fromTemplates.has(x)).sort();
      assert.deepEqual({ onlyInTemplates, onlyInPicture }, { onlyInTemplates: [], onlyInPicture: [] });
    });
  });
}
