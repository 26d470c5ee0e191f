// IAM decides as AWS would: every AWS call the main workflow's jobs make (their stage commands run against a fake
// account answered from the synthesized templates) is evaluated with a real policy evaluator against the policies of
// the role the job assumes; every job's OIDC subject, derived from the workflow file, against every role's trust.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createAwsBackend, DEPLOY_ORDER, type Progress, TIERS } from '@tier/cli';
import { runMigration } from '../lib/aws-migrate.js';
import { stageTarget } from '../lib/stage.js';
import { promote } from '../promote.js';
import { FakeAws } from './conformance/fake-aws.js';
import {
  type Decision,
  decide,
  decideWebIdentity,
  dockerPushRequests,
  type IamRequest,
  iamRequestsOf,
  isReadOnly,
  type RolePolicies,
  rolePolicies,
} from './conformance/iam.js';
import { StageResolver } from './conformance/resolve.js';
import { concreteArn, synthesizedStages } from './conformance/stage-templates.js';
import { oidcSubject, targetStages, type WorkflowJob, workflowJobs } from './conformance/workflows.js';

const quiet: Progress = { step() {}, info() {}, done() {}, warn() {} };
const VERSION = '0123456789ab';

interface Stage {
  readonly name: string;
  readonly resolver: StageResolver;
  readonly role: RolePolicies;
  readonly providerArn: string;
}

let stages: Map<string, Stage>;
/** job id -> the IAM requests its steps make, and the stage it acts on. */
let jobRequests: Map<string, { stage: string; requests: IamRequest[]; error?: string }>;
const jobs = workflowJobs();
const awsJobs = jobs.filter((j) => j.workflow.endsWith('main.yml') && j.assumes);

/** The pipeline role of a stage: the role whose trust policy names GitHub's OIDC provider. */
function pipelineRole(resolver: StageResolver): { role: RolePolicies; providerArn: string } {
  for (const stack of resolver.stage.stacks) {
    for (const [id, r] of resolver.resources(stack, 'AWS::IAM::Role')) {
      const trust = resolver.resolve(stack, r.Properties.AssumeRolePolicyDocument);
      const federated = trust.Statement.map((s: { Principal?: { Federated?: string } }) => s.Principal?.Federated).find(
        (f: string | undefined) => f?.endsWith('oidc-provider/token.actions.githubusercontent.com'),
      );
      if (federated) return { role: rolePolicies(resolver, resolver.physical(stack, id).ref), providerArn: federated };
    }
  }
  throw new Error(`stage ${resolver.stage.config.stage} has no role GitHub can assume`);
}

/** Runs what a job's steps run, against a fake account of its stage, and returns the IAM requests made. */
async function requestsOfJob(job: WorkflowJob, stage: Stage): Promise<IamRequest[]> {
  const fake = new FakeAws(stage.resolver);
  const { config } = stage.resolver.stage;
  const region = config.region;
  const requests: IamRequest[] = [];
  const has = (script: string) => job.commands.some((c) => c.includes(`npm run ${script}`));
  if (job.commands.some((c) => c.includes('ci:images') && c.includes('--push'))) {
    // amazon-ecr-login, then docker push of each tier to the repositories the --push template names.
    requests.push({
      action: 'ecr:GetAuthorizationToken',
      resource: '*',
      context: { 'aws:RequestedRegion': region },
      origin: 'amazon-ecr-login',
    });
    const template = job.commands.find((c) => c.includes('--push'))!.match(/--push\s+"?([^"\s]+)"?/)![1]!;
    for (const tier of TIERS) {
      const repo = template.replace(/^\$REGISTRY\//, '').replace('{tier}', tier);
      // ci:images first looks for the tag (a re-run reuses a pushed release), then pushes.
      for (const action of ['ecr:DescribeImages', 'ecr:BatchGetImage'])
        requests.push({
          action,
          resource: `arn:aws:ecr:${region}:${config.account}:repository/${repo}`,
          context: { 'aws:RequestedRegion': region },
          origin: `ci:images ${repo}`,
        });
      requests.push(
        ...dockerPushRequests(
          `arn:aws:ecr:${region}:${config.account}:repository/${repo}`,
          region,
          `docker push ${repo}`,
        ),
      );
      // ci:sbom: syft reads the pushed digest back, its manifest and every layer.
      if (has('ci:sbom'))
        for (const action of ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'])
          requests.push({
            action,
            resource: `arn:aws:ecr:${region}:${config.account}:repository/${repo}`,
            context: { 'aws:RequestedRegion': region },
            origin: `ci:sbom syft registry:${repo}@<digest>`,
          });
    }
  }
  const clients = fake.tierClients(region);
  if (has('ci:promote')) {
    const from = stageTarget(config.pipeline.promoteFrom!);
    const digests: Array<[string, string]> = [];
    for (const tier of TIERS) {
      const layer = `sha256:${'a'.repeat(63)}${tier === 'web' ? '1' : '2'}`;
      const cfg = `sha256:${'c'.repeat(63)}${tier === 'web' ? '1' : '2'}`;
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { digest: cfg, mediaType: 'application/vnd.oci.image.config.v1+json', size: 2 },
        layers: [{ digest: layer, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 3 }],
      };
      const repoArn = `arn:aws:ecr:${from.region}:${from.account}:repository/${from.repository(tier)}`;
      digests.push([tier, fake.pushImage(repoArn, VERSION, manifest, [layer, cfg])]);
    }
    await promote({
      from: from.stage,
      to: config.stage,
      version: VERSION,
      digests,
      ecrFor: (r) => fake.ecr(r),
      log: () => {},
      download: async () => new Uint8Array([1, 2, 3]),
    });
  }
  if (has('ci:migrate')) {
    await runMigration({
      ecs: clients.ecs,
      cfn: clients.cloudformation,
      stage: config.stage,
      version: VERSION,
      pollMs: 0,
      log: () => {},
    });
  }
  const backend = createAwsBackend({ stage: config.stage, region, clients, pollIntervalMs: 0 });
  // Change detection reads what each tier's service runs.
  if (has('ci:changes') && job.commands.some((c) => c.includes('--stage'))) await backend.running();
  // ci:deploy records what runs before it rolls out; ci:rollback --before returns there.
  const before = has('ci:deploy') ? await backend.running([...DEPLOY_ORDER]) : {};
  if (has('ci:deploy')) {
    const records = await backend.deploy(quiet, { version: VERSION, tiers: [...DEPLOY_ORDER] });
    assert.deepEqual(
      records.map((r) => r.outcome),
      ['succeeded', 'succeeded'],
      'the fake rollout completes',
    );
    // What the next `cdk deploy` resolves is what was rolled out: the tag parameters hold the release.
    for (const [name, value] of fake.parameterValues()) assert.equal(value, VERSION, `${name} after tier deploy`);
    assert.ok(
      fake.calls.some((c) => c.command === 'RunTaskCommand'),
      'tier deploy ran the migration task',
    );
  }
  if (has('ci:smoke')) await backend.status();
  if (has('ci:rollback')) {
    if (job.commands.some((c) => c.includes('ci:rollback') && c.includes('--before'))) {
      const records = await backend.rollbackTo(quiet, before);
      assert.ok(
        records.every((r) => r.outcome === 'succeeded'),
        'the fake rollback to the recorded revisions completes',
      );
    } else await backend.rollback(quiet, { tiers: [...DEPLOY_ORDER] });
  }
  for (const call of fake.calls) requests.push(...iamRequestsOf(call, config.account, (td) => fake.rolesOf(td)));
  return requests;
}

const show = (r: IamRequest) =>
  `${r.origin}: ${r.action} ${r.resource}${r.context['iam:PassedToService'] ? ` to ${r.context['iam:PassedToService']}` : ''}`;

before(async () => {
  stages = new Map();
  for (const [name, stage] of synthesizedStages()) {
    const resolver = new StageResolver(stage);
    stages.set(name, { name, resolver, ...pipelineRole(resolver) });
  }
  jobRequests = new Map();
  for (const job of awsJobs) {
    const [target] = targetStages(job);
    const stage = stages.get(target ?? '');
    if (!stage) continue;
    try {
      jobRequests.set(job.id, { stage: stage.name, requests: await requestsOfJob(job, stage) });
    } catch (err) {
      jobRequests.set(job.id, { stage: stage.name, requests: [], error: (err as Error).message });
    }
  }
});

describe('the OIDC subjects of the workflow jobs against the trust policies', () => {
  test('every job that assumes an AWS role acts on exactly one stage', () => {
    assert.ok(awsJobs.length > 0, 'main.yml has jobs that assume a role');
    for (const job of awsJobs)
      assert.equal(targetStages(job).length, 1, `${job.id} acts on ${targetStages(job).join(', ') || 'no stage'}`);
  });

  test("each job's token is accepted by its stage's pipeline role and refused by every other stage's", async () => {
    for (const job of awsJobs) {
      assert.ok(job.idToken, `${job.id} requests an OIDC token (id-token: write)`);
      const [target] = targetStages(job);
      const sub = oidcSubject(stages.get(target!)!.resolver.stage.config.pipeline.githubRepo, job, { branch: 'main' });
      for (const stage of stages.values()) {
        const decision = await decideWebIdentity(stage.role, stage.providerArn, { sub, aud: 'sts.amazonaws.com' });
        assert.equal(
          decision === 'Allowed',
          stage.name === target,
          `${job.id} (${sub}) on the ${stage.name} role: ${decision}`,
        );
      }
    }
  });

  test('pull requests, branch runs, forks, other audiences and unknown environments are refused by every role', async () => {
    for (const stage of stages.values()) {
      const repo = stage.resolver.stage.config.pipeline.githubRepo;
      const env = stage.resolver.stage.config.pipeline.githubEnvironment;
      const prJobs = jobs.filter((j) => 'pull_request' in j.triggers || 'pull_request_target' in j.triggers);
      assert.ok(prJobs.length > 0, 'pr.yml has jobs');
      const refused = [
        ...prJobs.map((j) => oidcSubject(repo, j, { pullRequest: true, branch: 'feature' })),
        `repo:${repo}:ref:refs/heads/main`,
        `repo:${repo}:ref:refs/heads/feature`,
        `repo:${repo}:environment:${env}-preview`,
        `repo:someone-else/${repo.split('/')[1]}:environment:${env}`,
      ];
      for (const sub of refused) {
        assert.notEqual(
          await decideWebIdentity(stage.role, stage.providerArn, { sub, aud: 'sts.amazonaws.com' }),
          'Allowed',
          `${stage.name} refuses ${sub}`,
        );
      }
      const own = `repo:${repo}:environment:${env}`;
      assert.notEqual(
        await decideWebIdentity(stage.role, stage.providerArn, { sub: own, aud: 'https://github.com/x' }),
        'Allowed',
        'another audience',
      );
    }
  });

  test("the role and region a job assumes come from the stage config (ci:stage), the role is the template's", () => {
    for (const job of awsJobs) {
      const [target] = targetStages(job);
      const step = /steps\.([\w-]+)\.outputs\.role/.exec(job.assumes!.role)?.[1];
      assert.ok(step, `${job.id}: role-to-assume is a ci:stage output, not ${job.assumes!.role}`);
      assert.match(
        job.stepCommands[step]!,
        new RegExp(`ci:stage -- --stage "?${target}"?`),
        `${job.id}: ci:stage of ${target}`,
      );
      assert.match(
        job.assumes!.region,
        new RegExp(`steps\\.${step}\\.outputs\\.region`),
        `${job.id}: region from ci:stage`,
      );
      const t = stageTarget(target!);
      assert.equal(t.roleArn, stages.get(target!)!.role.roleArn, 'ci:stage names the synthesized pipeline role');
      assert.equal(t.region, stages.get(target!)!.resolver.stage.config.region);
    }
  });
});

describe('the AWS calls of the workflow jobs against the pipeline roles', () => {
  test('every call of every job is allowed to the pipeline role of its stage', async () => {
    assert.ok(jobRequests.size === awsJobs.length, 'every AWS job was run');
    const denied: string[] = [];
    for (const [job, { stage, requests, error }] of jobRequests) {
      assert.equal(error, undefined, `${job} ran its stage commands`);
      assert.ok(requests.length > 0, `${job} makes AWS calls`);
      for (const r of requests) {
        const d: Decision = await decide(stages.get(stage)!.role, r);
        if (d !== 'Allowed') denied.push(`${job} (${stage}) ${show(r)}: ${d}`);
      }
    }
    assert.deepEqual(denied, []);
  });

  test("the other stage's role may do none of it, except read the images it promotes from", async () => {
    const allowed: string[] = [];
    for (const [job, { stage, requests }] of jobRequests) {
      for (const other of stages.values()) {
        if (other.name === stage) continue;
        const promotesFrom = (a: string, b: string) => stages.get(a)!.resolver.stage.config.pipeline.promoteFrom === b;
        for (const r of requests) {
          if ((await decide(other.role, r)) !== 'Allowed') continue;
          // Promotion reads the source stage's images: the target's role may read them, and so may the source's own.
          const repoStage = /:repository\/tier-([a-z0-9-]+)\//.exec(r.resource)?.[1];
          const promotionRead =
            (await isReadOnly(r.action)) &&
            ((repoStage === stage && promotesFrom(other.name, stage)) ||
              (repoStage === other.name && promotesFrom(stage, other.name)));
          if (!promotionRead) allowed.push(`${other.name} role may ${show(r)} of ${job} (${stage})`);
        }
      }
    }
    assert.deepEqual(allowed, []);
  });

  test('the cross-stage check is not vacuous: a role granted ecs:UpdateService on every service would be caught', async () => {
    const [prod, dev] = [stages.get('prod')!, stages.get('dev')!];
    const update = jobRequests.get('staging')!.requests.find((r) => r.action === 'ecs:UpdateService')!;
    assert.notEqual(await decide(prod.role, update), 'Allowed', 'prod may not roll out dev');
    const widened = {
      ...prod.role,
      identityPolicies: [
        ...prod.role.identityPolicies,
        {
          name: 'too-wide',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'ecs:UpdateService', Resource: '*' }],
          },
        },
      ],
    };
    assert.equal(
      await decide(widened, update),
      'Allowed',
      `a wildcard grant on the prod role reaches ${update.resource}`,
    );
    assert.equal(dev.name, 'dev');
  });

  test('each stack deploys only through the bootstrap roles of its own stage', async () => {
    for (const stage of stages.values()) {
      for (const stack of stage.resolver.stage.stacks) {
        const roles = [stack.deployRoleArn!, ...stack.publishingRoleArns].map((a) => concreteArn(a, stack));
        for (const roleArn of roles) {
          const r = {
            action: 'sts:AssumeRole',
            resource: roleArn,
            context: { 'aws:RequestedRegion': stack.region },
            origin: `cdk deploy ${stack.stackName}`,
          };
          for (const other of stages.values()) {
            assert.equal(
              (await decide(other.role, r)) === 'Allowed',
              other.name === stage.name,
              `${other.name} role assumes ${roleArn}`,
            );
          }
        }
        // The default bootstrap (qualifier hnb659fds) serves any stage of the account: no pipeline role may use it.
        const shared = roles[0]!.replace(/cdk-[a-z0-9]+-/, 'cdk-hnb659fds-');
        for (const other of stages.values()) {
          assert.notEqual(
            await decide(other.role, {
              action: 'sts:AssumeRole',
              resource: shared,
              context: {},
              origin: 'default bootstrap',
            }),
            'Allowed',
          );
        }
      }
    }
  });

  test("the pipeline role passes exactly its stage's task and execution roles, and only to ECS tasks", async () => {
    const allRoles = [...stages.values()].flatMap((s) =>
      s.resolver.stage.stacks.flatMap((stack) =>
        s.resolver.resources(stack, 'AWS::IAM::Role').map(([id]) => s.resolver.physical(stack, id).attrs.Arn!),
      ),
    );
    for (const stage of stages.values()) {
      const services = stage.resolver.stackOf('services');
      // The operator's admin task and the restore tests' data check are not the pipeline's to run: their roles must
      // be refused like any other.
      const taskRoles = new Set(
        stage.resolver
          .resources(services, 'AWS::ECS::TaskDefinition')
          .filter(([, td]) => !/-(admin|restore-check)$/.test(String(td.Properties.Family)))
          .flatMap(([, td]) =>
            [td.Properties.TaskRoleArn, td.Properties.ExecutionRoleArn].map((v) => stage.resolver.value(services, v)),
          ),
      );
      assert.equal(taskRoles.size, 6, 'web, api and migration: a task role and an execution role each');
      for (const roleArn of allRoles) {
        const pass = (service: string) => ({
          action: 'iam:PassRole',
          resource: roleArn,
          context: { 'iam:PassedToService': service },
          origin: 'pass',
        });
        assert.equal(
          (await decide(stage.role, pass('ecs-tasks.amazonaws.com'))) === 'Allowed',
          taskRoles.has(roleArn),
          `${stage.name} passes ${roleArn}`,
        );
        assert.notEqual(
          await decide(stage.role, pass('lambda.amazonaws.com')),
          'Allowed',
          `${stage.name} passes ${roleArn} to Lambda`,
        );
      }
    }
  });
});
