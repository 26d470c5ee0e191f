// A stage's AWS account at the SDK boundary: real SDK clients whose requests stop before signing, answered from the
// synthesized templates, and recorded (service, region, command, input, output) for the IAM evaluation.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { BackupClient } from '@aws-sdk/client-backup';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STACK_ID, type StageResolver } from './resolve.js';
import type { Json } from './stage-templates.js';

export interface RecordedCall {
  /** SDK client name without `Client`, e.g. `ECS`. */
  readonly service: string;
  readonly region: string;
  readonly command: string;
  readonly input: Json;
  readonly output: Json;
}

type Handler = (input: Json, region: string) => Json;

/** PascalCase CloudFormation properties to the camelCase shapes the ECS API returns. */
function camel(x: Json): Json {
  if (Array.isArray(x)) return x.map(camel);
  if (x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), camel(v)]));
}

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name, $fault: 'client' });

interface EcsService {
  arn: string;
  name: string;
  cluster: string;
  taskDefinition: string;
  targetGroups: string[];
  deployments: Array<{ arn: string; revision: string; taskDefinition: string; startedAt: Date }>;
}

/** The fake account of one stage (plus read access to other stages' registries, for promotion). */
export class FakeAws {
  readonly calls: RecordedCall[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly taskDefinitions = new Map<string, Json>();
  private readonly services = new Map<string, EcsService>();
  private readonly tasks = new Map<string, Json>();
  private readonly parameters = new Map<string, string>();
  /** repository ARN -> manifests by digest, tags, blobs. */
  private readonly registry = new Map<
    string,
    { manifests: Map<string, { body: string; mediaType: string }>; tags: Map<string, string>; blobs: Set<string> }
  >();
  private clock = Date.parse('2026-03-01T12:00:00Z');
  private seq = 0;

  constructor(readonly resolver: StageResolver) {
    const { config } = resolver.stage;
    const services = resolver.stackOf('services');
    for (const [id, r] of resolver.resources(services, 'AWS::ECS::TaskDefinition')) {
      const p = resolver.resolve(services, r.Properties);
      const arn = resolver.physical(services, id).ref;
      this.taskDefinitions.set(arn, { ...camel(p), taskDefinitionArn: arn, revision: 1, status: 'ACTIVE' });
    }
    for (const [id, r] of resolver.resources(services, 'AWS::ECS::Service')) {
      const p = resolver.resolve(services, r.Properties);
      const phys = resolver.physical(services, id);
      const name = phys.attrs.Name!;
      this.services.set(name, {
        arn: phys.ref,
        name,
        cluster: p.Cluster,
        taskDefinition: p.TaskDefinition,
        targetGroups: (p.LoadBalancers ?? []).map((lb: Json) => lb.TargetGroupArn),
        deployments: [],
      });
      this.recordDeployment(this.services.get(name)!, p.TaskDefinition);
    }
    this.wire(config.account);
  }

  private now(): Date {
    this.clock += 1000;
    return new Date(this.clock);
  }

  private id(): string {
    this.seq += 1;
    return `${this.seq}`.padStart(32, '0');
  }

  private recordDeployment(s: EcsService, taskDefinition: string) {
    const region = s.arn.split(':')[3];
    const account = s.arn.split(':')[4];
    const cluster = s.cluster.split('/').pop();
    const id = this.id();
    s.deployments.push({
      arn: `arn:aws:ecs:${region}:${account}:service-deployment/${cluster}/${s.name}/${id}`,
      revision: `arn:aws:ecs:${region}:${account}:service-revision/${cluster}/${s.name}/${id}`,
      taskDefinition,
      startedAt: this.now(),
    });
  }

  /** The task and execution roles a registered task definition carries (what RunTask passes to ECS). */
  rolesOf(taskDefinitionArn: string): string[] {
    const td = this.taskDefinitions.get(taskDefinitionArn);
    return td ? [td.taskRoleArn, td.executionRoleArn].filter(Boolean) : [];
  }

  /** What the image tag parameters hold now (what the next cdk deploy resolves). */
  parameterValues(): Map<string, string> {
    return this.parameters;
  }

  /** An image the build job pushed to a stage's repository (what promotion copies). */
  pushImage(repositoryArn: string, tag: string, manifest: Json, blobs: string[]): string {
    const body = JSON.stringify(manifest);
    const digest = `sha256:${Buffer.from(body).toString('hex').slice(0, 64).padEnd(64, '0')}`;
    const repo = this.repo(repositoryArn);
    repo.manifests.set(digest, { body, mediaType: manifest.mediaType });
    repo.tags.set(tag, digest);
    for (const b of blobs) repo.blobs.add(b);
    return digest;
  }

  private repo(arn: string) {
    const r = this.registry.get(arn) ?? { manifests: new Map(), tags: new Map(), blobs: new Set<string>() };
    this.registry.set(arn, r);
    return r;
  }

  /** `repositoryArn(input, region)`: the repository an ECR request names. */
  private repositoryArn(input: Json, region: string): string {
    return `arn:aws:ecr:${region}:${input.registryId ?? this.resolver.stage.config.account}:repository/${input.repositoryName}`;
  }

  private service(cluster: string, name: string): EcsService {
    const s = this.services.get(name.split('/').pop()!);
    if (!s?.cluster.endsWith(cluster.split('/').pop()!)) throw awsError('ServiceNotFoundException');
    return s;
  }

  private describeService(s: EcsService) {
    const td = this.taskDefinitions.get(s.taskDefinition);
    return {
      serviceName: s.name,
      serviceArn: s.arn,
      clusterArn: s.cluster,
      status: 'ACTIVE',
      taskDefinition: s.taskDefinition,
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      loadBalancers: s.targetGroups.map((targetGroupArn) => ({ targetGroupArn })),
      // What tier deploy follows: the service deployment UpdateService started (they all succeed here).
      currentServiceDeployment: s.deployments.at(-1)?.arn,
      deployments: [
        {
          id: `ecs-svc/${s.deployments.length}`,
          status: 'PRIMARY',
          taskDefinition: td?.taskDefinitionArn ?? s.taskDefinition,
          rolloutState: 'COMPLETED',
          desiredCount: 2,
          runningCount: 2,
          failedTasks: 0,
        },
      ],
    };
  }

  private wire(account: string) {
    const r = this.resolver;
    const h = (command: string, fn: Handler) => this.handlers.set(command, fn);
    // CloudFormation: every stack of the stage, in its region, with its outputs resolved.
    const stacksIn = (region: string) => r.stage.stacks.filter((s) => s.region === region);
    const stackArn = (s: { stackName: string; region: string }) =>
      `arn:aws:cloudformation:${s.region}:${account}:stack/${s.stackName}/${STACK_ID}`;
    const describe = (s: (typeof r.stage.stacks)[number]) => ({
      StackName: s.stackName,
      StackId: stackArn(s),
      StackStatus: 'UPDATE_COMPLETE',
      CreationTime: new Date(0),
      Outputs: r.outputs(s),
    });
    h('DescribeStacksCommand', (i, region) => {
      const all = stacksIn(region);
      if (!i.StackName) return { Stacks: all.map(describe) };
      const s = all.find((x) => x.stackName === i.StackName || stackArn(x) === i.StackName);
      if (!s) throw awsError('ValidationError', `Stack with id ${i.StackName} does not exist`);
      return { Stacks: [describe(s)] };
    });
    // ECS
    h('DescribeServicesCommand', (i) => ({
      services: i.services.map((n: string) => this.describeService(this.service(i.cluster, n))),
    }));
    h('DescribeTaskDefinitionCommand', (i) => {
      const td = this.taskDefinitions.get(i.taskDefinition);
      if (!td) throw awsError('ClientException', `task definition ${i.taskDefinition} not found`);
      return {
        taskDefinition: td,
        tags: [
          { key: 'app', value: 'tier' },
          { key: 'aws:cloudformation:stack-name', value: 'x' },
        ],
      };
    });
    h('RegisterTaskDefinitionCommand', (i, region) => {
      const revision = [...this.taskDefinitions.values()].filter((t) => t.family === i.family).length + 1;
      const arn = `arn:aws:ecs:${region}:${account}:task-definition/${i.family}:${revision}`;
      const td = { ...i, tags: undefined, taskDefinitionArn: arn, revision, status: 'ACTIVE' };
      this.taskDefinitions.set(arn, td);
      return { taskDefinition: td, tags: i.tags };
    });
    h('UpdateServiceCommand', (i) => {
      const s = this.service(i.cluster, i.service);
      if (i.taskDefinition) {
        if (!this.taskDefinitions.has(i.taskDefinition)) throw awsError('ClientException', 'unknown task definition');
        s.taskDefinition = i.taskDefinition;
        this.recordDeployment(s, i.taskDefinition);
      }
      return { service: this.describeService(s) };
    });
    h('ListServiceDeploymentsCommand', (i) => ({
      serviceDeployments: this.service(i.cluster, i.service).deployments.map((d) => ({
        serviceDeploymentArn: d.arn,
        targetServiceRevisionArn: d.revision,
        status: 'SUCCESSFUL',
        startedAt: d.startedAt,
      })),
    }));
    const deployments = () => [...this.services.values()].flatMap((s) => s.deployments);
    h('DescribeServiceDeploymentsCommand', (i) => ({
      serviceDeployments: deployments()
        .filter((d) => i.serviceDeploymentArns.includes(d.arn))
        .map((d, n, all) => ({
          serviceDeploymentArn: d.arn,
          status: 'SUCCESSFUL',
          startedAt: d.startedAt,
          finishedAt: d.startedAt,
          targetServiceRevision: { arn: d.revision },
          sourceServiceRevisions: n > 0 ? [{ arn: all[n - 1]!.revision }] : [],
        })),
    }));
    h('DescribeServiceRevisionsCommand', (i) => ({
      serviceRevisions: deployments()
        .filter((d) => i.serviceRevisionArns.includes(d.revision))
        .map((d) => ({
          serviceRevisionArn: d.revision,
          taskDefinition: d.taskDefinition,
          containerImages: (this.taskDefinitions.get(d.taskDefinition)?.containerDefinitions ?? []).map((c: Json) => ({
            containerName: c.name,
            image: c.image,
          })),
        })),
    }));
    h('RunTaskCommand', (i, region) => {
      const td = this.taskDefinitions.get(i.taskDefinition);
      if (!td) throw awsError('ClientException', 'unknown task definition');
      const cluster = i.cluster.split('/').pop();
      const taskArn = `arn:aws:ecs:${region}:${account}:task/${cluster}/${this.id()}`;
      const task = {
        taskArn,
        clusterArn: `arn:aws:ecs:${region}:${account}:cluster/${cluster}`,
        taskDefinitionArn: i.taskDefinition,
        lastStatus: 'STOPPED',
        containers: td.containerDefinitions.map((c: Json) => ({ name: c.name, exitCode: 0 })),
      };
      this.tasks.set(taskArn, task);
      return { tasks: [task], failures: [] };
    });
    h('ListTasksCommand', (i, region) => {
      const s = this.service(i.cluster, i.serviceName);
      const cluster = i.cluster.split('/').pop();
      const taskArns = [1, 2].map((n) => `arn:aws:ecs:${region}:${account}:task/${cluster}/${s.name}-${n}`);
      for (const taskArn of taskArns) {
        this.tasks.set(taskArn, {
          taskArn,
          taskDefinitionArn: s.taskDefinition,
          lastStatus: 'RUNNING',
          healthStatus: 'HEALTHY',
          containers: [],
        });
      }
      return { taskArns };
    });
    h('DescribeTasksCommand', (i) => ({
      tasks: i.tasks.map((t: string) => this.tasks.get(t)).filter(Boolean),
      failures: [],
    }));
    // Load balancing, autoscaling, RDS: the state `tier status` reads.
    h('DescribeTargetHealthCommand', () => ({ TargetHealthDescriptions: [] }));
    h('DescribeScalableTargetsCommand', () => ({ ScalableTargets: [] }));
    h('DescribeDBInstancesCommand', (i) => ({
      DBInstances: [
        {
          DBInstanceIdentifier: i.DBInstanceIdentifier,
          DBInstanceStatus: 'available',
          Engine: 'postgres',
          EngineVersion: '17',
          MultiAZ: false,
        },
      ],
    }));
    // SSM: the image tag parameters the registry stack creates.
    const parameters = this.parameters;
    for (const [id, p] of r.resources(r.stackOf('registry'), 'AWS::SSM::Parameter')) {
      parameters.set(
        r.value(r.stackOf('registry'), p.Properties.Name),
        r.value(r.stackOf('registry'), p.Properties.Value),
      );
      void id;
    }
    h('PutParameterCommand', (i) => {
      if (!parameters.has(i.Name)) throw awsError('ParameterNotFound', `no parameter ${i.Name} in the templates`);
      if (!i.Overwrite) throw awsError('ParameterAlreadyExists');
      parameters.set(i.Name, i.Value);
      return { Version: 2 };
    });
    // ECR, by repository ARN.
    h('GetAuthorizationTokenCommand', () => ({ authorizationData: [{ authorizationToken: 'QVdTOng=' }] }));
    h('DescribeImagesCommand', (i, region) => {
      const repo = this.repo(this.repositoryArn(i, region));
      const digest = repo.tags.get(i.imageIds[0].imageTag);
      if (!digest) throw awsError('ImageNotFoundException');
      return { imageDetails: [{ imageDigest: digest, imageTags: [i.imageIds[0].imageTag] }] };
    });
    h('BatchGetImageCommand', (i, region) => {
      const repo = this.repo(this.repositoryArn(i, region));
      const m = repo.manifests.get(i.imageIds[0].imageDigest);
      return m
        ? {
            images: [{ imageManifest: m.body, imageManifestMediaType: m.mediaType, imageId: i.imageIds[0] }],
            failures: [],
          }
        : { images: [], failures: [{ failureCode: 'ImageNotFound' }] };
    });
    h('BatchCheckLayerAvailabilityCommand', (i, region) => {
      const repo = this.repo(this.repositoryArn(i, region));
      return {
        layers: i.layerDigests.map((d: string) => ({
          layerDigest: d,
          layerAvailability: repo.blobs.has(d) ? 'AVAILABLE' : 'UNAVAILABLE',
        })),
      };
    });
    h('GetDownloadUrlForLayerCommand', (i) => ({
      downloadUrl: `https://layers.invalid/${i.layerDigest}`,
      layerDigest: i.layerDigest,
    }));
    h('InitiateLayerUploadCommand', () => ({ uploadId: this.id(), partSize: 20 * 1024 * 1024 }));
    h('UploadLayerPartCommand', (i) => ({ uploadId: i.uploadId, lastByteReceived: i.partLastByte }));
    h('CompleteLayerUploadCommand', (i, region) => {
      for (const d of i.layerDigests) this.repo(this.repositoryArn(i, region)).blobs.add(d);
      return { layerDigest: i.layerDigests[0], uploadId: i.uploadId };
    });
    h('PutImageCommand', (i, region) => {
      const repo = this.repo(this.repositoryArn(i, region));
      repo.manifests.set(i.imageDigest, { body: i.imageManifest, mediaType: i.imageManifestMediaType });
      if (i.imageTag) {
        if (repo.tags.has(i.imageTag)) throw awsError('ImageTagAlreadyExistsException');
        repo.tags.set(i.imageTag, i.imageDigest);
      }
      return { image: { imageId: { imageDigest: i.imageDigest, imageTag: i.imageTag } } };
    });
  }

  /** A real SDK client of `Client` for `region` whose requests this account answers (and records). */
  client<C extends { middlewareStack: Json; config: Json }>(Client: new (config: Json) => C, region: string): C {
    const client = new Client({
      region,
      credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake' },
      maxAttempts: 1,
    });
    const service = Client.name.replace(/Client$/, '');
    client.middlewareStack.add(
      (_next: Json, context: Json) => async (args: Json) => {
        const command = context.commandName as string;
        const handler = this.handlers.get(command);
        if (!handler) throw new Error(`the fake ${service} API has no ${command}: add it to fake-aws.ts`);
        const input = structuredClone(args.input);
        try {
          const output = handler(input, region);
          this.calls.push({ service, region, command, input, output });
          return { output: { $metadata: {}, ...output }, response: {} };
        } catch (err) {
          this.calls.push({ service, region, command, input, output: { error: (err as Error).name } });
          throw err;
        }
      },
      { step: 'initialize', name: 'conformanceFakeAws', priority: 'high' },
    );
    return client;
  }

  /** Every client `tier --target aws` uses, for the stage region. */
  tierClients(region: string) {
    return {
      cloudformation: this.client(CloudFormationClient, region),
      ecs: this.client(ECSClient, region),
      elb: this.client(ElasticLoadBalancingV2Client, region),
      rds: this.client(RDSClient, region),
      backup: this.client(BackupClient, region),
      logs: this.client(CloudWatchLogsClient, region),
      cloudwatch: this.client(CloudWatchClient, region),
      autoscaling: this.client(ApplicationAutoScalingClient, region),
      ssm: this.client(SSMClient, region),
    };
  }

  ecr(region: string): ECRClient {
    return this.client(ECRClient, region);
  }
}
