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
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STACK_ID, type StageResolver } from './resolve.js';
import { concreteArn, type Json } from './stage-templates.js';

export interface RecordedCall {
  /** SDK client name without `Client`, e.g. `ECS`. */
  readonly service: string;
  readonly region: string;
  readonly command: string;
  readonly input: Json;
  readonly output: Json;
  /**
   * What AWS knows about the resources a call touches and authorizes it on, beyond its request and response: their
   * tags, the key a secret is encrypted with, the log groups of a query, the revision a family name stands for.
   */
  readonly facts: Facts;
}

export interface Facts {
  /** Tags of the resource the call acts on (aws:ResourceTag/<key>). */
  readonly tags?: Readonly<Record<string, string>>;
  /** The KMS key the service uses for the caller, and the aliases that point to it (kms:ResourceAliases). */
  readonly key?: { readonly arn: string; readonly aliases: readonly string[]; readonly policy?: Json };
  /** The log groups a Logs Insights query reads. */
  readonly logGroups?: readonly string[];
  /** The task definition revision a family name resolves to. */
  readonly taskDefinitionArn?: string;
  /** An RDS-managed owner secret the call makes RDS create. */
  readonly createdSecretArn?: string;
  /** The option group RDS gives a restored instance (the source's). */
  readonly optionGroup?: string;
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
  desiredCount: number;
  tags: Array<{ key: string; value: string }>;
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
  private readonly imageParameters = new Set<string>();
  private readonly databases = new Map<string, Json>();
  private readonly dbTags = new Map<string, Array<{ Key: string; Value: string }>>();
  private readonly secrets = new Map<
    string,
    { name: string; tags: Record<string, string>; kmsKeyId?: string; value: string; stages: Record<string, string[]> }
  >();
  /** key ARN -> its aliases. */
  private readonly keys = new Map<string, string[]>();
  /** key ARN -> its key policy (KMS authorizes nothing the key policy does not let IAM policies grant). */
  private readonly keyPolicies = new Map<string, Json>();
  private readonly snapshots = new Map<string, { instance: string; tags: Record<string, string>; created: Date }>();
  private readonly backupJobs = new Map<string, { recoveryPoint: string; created: Date; vault: string }>();
  private readonly queries = new Map<string, string[]>();
  private readonly scalableTargets = new Map<string, Json>();
  /** stack name -> what CloudFormation resolved at its last update, and its status. */
  private readonly stackState = new Map<string, { resolved: Map<string, string>; status: string }>();
  private pendingFacts: Facts = {};
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
        desiredCount: 2,
        tags: [],
        deployments: [],
      });
      this.recordDeployment(this.services.get(name)!, p.TaskDefinition);
    }
    this.loadData(config.account);
    this.wire(config.account);
  }

  /** Tags CloudFormation gives a resource it creates: the template's and its own `aws:cloudformation:*` ones. */
  private stackTags(stack: { stackName: string }, logicalId: string, tags: Json): Record<string, string> {
    const given = Array.isArray(tags)
      ? Object.fromEntries(tags.map((t: Json) => [t.Key, t.Value]))
      : ((tags ?? {}) as Record<string, string>);
    return { ...given, 'aws:cloudformation:stack-name': stack.stackName, 'aws:cloudformation:logical-id': logicalId };
  }

  /** The data stack's instance, its secrets and keys, the SSM parameters, scalable targets and stack state. */
  private loadData(account: string) {
    const r = this.resolver;
    for (const stack of r.stage.stacks) {
      for (const [id, k] of r.resources(stack, 'AWS::KMS::Key'))
        this.keyPolicies.set(r.physical(stack, id).attrs.Arn!, r.resolve(stack, k.Properties.KeyPolicy));
      for (const [id, k] of r.resources(stack, 'AWS::KMS::Alias')) {
        const target = r.value(stack, k.Properties.TargetKeyId);
        const arn = target.startsWith('arn:') ? target : `arn:aws:kms:${stack.region}:${account}:key/${target}`;
        this.keys.set(arn, [...(this.keys.get(arn) ?? []), r.value(stack, k.Properties.AliasName)]);
        void id;
      }
      for (const [id, x] of r.resources(stack, 'AWS::SSM::Parameter')) {
        const name = r.value(stack, x.Properties.Name);
        this.parameters.set(name, r.value(stack, x.Properties.Value));
        if (stack.stackName.endsWith('-registry')) this.imageParameters.add(name);
        void id;
      }
      this.stackState.set(stack.stackName, {
        status: 'UPDATE_COMPLETE',
        resolved: new Map(
          Object.values(stack.template.Parameters ?? {})
            .filter((x: Json) => String(x.Type).startsWith('AWS::SSM::Parameter::Value'))
            .map((x: Json) => [x.Default, this.parameters.get(x.Default) ?? '']),
        ),
      });
    }
    const data = r.stackOf('data');
    for (const [id, db] of r.resources(data, 'AWS::RDS::DBInstance')) {
      const p = r.resolve(data, db.Properties);
      const phys = r.physical(data, id);
      this.databases.set(phys.ref, {
        DBInstanceIdentifier: phys.ref,
        DBInstanceArn: phys.attrs.DBInstanceArn,
        DBInstanceStatus: 'available',
        DBInstanceClass: p.DBInstanceClass,
        Engine: p.Engine,
        EngineVersion: p.EngineVersion,
        Endpoint: { Address: phys.attrs['Endpoint.Address'], Port: Number(p.Port ?? 5432) },
        DBSubnetGroup: { DBSubnetGroupName: p.DBSubnetGroupName },
        DBParameterGroups: [{ DBParameterGroupName: p.DBParameterGroupName }],
        OptionGroupMemberships: [{ OptionGroupName: `default:${p.Engine}-${String(p.EngineVersion).split('.')[0]}` }],
        VpcSecurityGroups: (p.VPCSecurityGroups ?? []).map((g: string) => ({ VpcSecurityGroupId: g })),
        MultiAZ: p.MultiAZ,
        StorageType: p.StorageType,
        StorageEncrypted: p.StorageEncrypted,
        KmsKeyId: p.KmsKeyId,
        CopyTagsToSnapshot: p.CopyTagsToSnapshot,
        DeletionProtection: p.DeletionProtection,
        AutoMinorVersionUpgrade: p.AutoMinorVersionUpgrade,
        BackupRetentionPeriod: p.BackupRetentionPeriod,
        PreferredBackupWindow: p.PreferredBackupWindow,
        PreferredMaintenanceWindow: p.PreferredMaintenanceWindow,
        CACertificateIdentifier: p.CACertificateIdentifier,
        IAMDatabaseAuthenticationEnabled: p.EnableIAMDatabaseAuthentication,
        EnabledCloudwatchLogsExports: p.EnableCloudwatchLogsExports,
        MaxAllocatedStorage: p.MaxAllocatedStorage,
        PerformanceInsightsEnabled: p.EnablePerformanceInsights,
        PerformanceInsightsKMSKeyId: p.PerformanceInsightsKMSKeyId,
        PerformanceInsightsRetentionPeriod: p.PerformanceInsightsRetentionPeriod,
        MonitoringInterval: p.MonitoringInterval,
        MonitoringRoleArn: p.MonitoringRoleArn,
        LatestRestorableTime: new Date(this.clock - 300_000),
        ...(p.ManageMasterUserPassword
          ? {
              MasterUserSecret: {
                SecretArn: phys.attrs['MasterUserSecret.SecretArn'],
                SecretStatus: 'active',
                KmsKeyId: p.MasterUserSecret?.KmsKeyId,
              },
            }
          : {}),
      });
      this.dbTags.set(phys.attrs.DBInstanceArn!, p.Tags ?? []);
      if (p.ManageMasterUserPassword) {
        this.ownerSecret(
          phys.attrs['MasterUserSecret.SecretArn']!,
          phys.attrs.DBInstanceArn!,
          p.MasterUserSecret?.KmsKeyId,
        );
      }
    }
    for (const stack of r.stage.stacks) {
      for (const [id, x] of r.resources(stack, 'AWS::SecretsManager::Secret')) {
        const p = r.resolve(stack, x.Properties);
        const template = p.GenerateSecretString?.SecretStringTemplate;
        const value = template
          ? { ...JSON.parse(template), [p.GenerateSecretString.GenerateStringKey]: 'generated-password' }
          : { value: 'generated' };
        this.secrets.set(r.physical(stack, id).ref, {
          name: p.Name ?? id,
          tags: this.stackTags(stack, id, p.Tags),
          kmsKeyId: p.KmsKeyId,
          value: JSON.stringify(value),
          stages: { v1: ['AWSCURRENT'] },
        });
      }
    }
    const services = r.stackOf('services');
    for (const [id, x] of r.resources(services, 'AWS::ApplicationAutoScaling::ScalableTarget')) {
      const p = r.resolve(services, x.Properties);
      this.scalableTargets.set(p.ResourceId, {
        ServiceNamespace: p.ServiceNamespace,
        ResourceId: p.ResourceId,
        ScalableDimension: p.ScalableDimension,
        MinCapacity: p.MinCapacity,
        MaxCapacity: p.MaxCapacity,
        ScalableTargetARN: `arn:aws:application-autoscaling:${services.region}:${account}:scalable-target/0ec${this.id().slice(-29)}`,
      });
      void id;
    }
  }

  /** An owner secret RDS manages for an instance: named rds!db-<uuid>, tagged with its instance. */
  private ownerSecret(arn: string, instanceArn: string, kmsKeyId: string | undefined) {
    this.secrets.set(arn, {
      name: arn.split(':secret:')[1]!.replace(/-\w{6}$/, ''),
      tags: { 'aws:rds:primaryDBInstanceArn': instanceArn, 'aws:secretsmanager:owningService': 'rds' },
      kmsKeyId,
      value: JSON.stringify({ username: 'tier_admin', password: `owner-of-${instanceArn.split(':').pop()}` }),
      stages: { v1: ['AWSCURRENT'] },
    });
  }

  /** A key as IAM sees it: its ARN and the aliases pointing to it (kms:ResourceAliases). */
  private keyFacts(keyId: string | undefined): Facts['key'] {
    if (!keyId) return undefined;
    const arn = [...this.keys.keys()].find((k) => k === keyId || k.endsWith(`/${keyId}`)) ?? keyId;
    return { arn, aliases: this.keys.get(arn) ?? [], policy: this.keyPolicies.get(arn) };
  }

  private fact(f: Facts) {
    this.pendingFacts = { ...this.pendingFacts, ...f };
  }

  private database(id: string): Json {
    const db = this.databases.get(id) ?? [...this.databases.values()].find((d) => d.DBInstanceArn === id);
    if (!db) throw awsError('DBInstanceNotFoundFault', `DBInstance ${id} not found`);
    return db;
  }

  private secret(id: string) {
    const found = this.secrets.get(id) ?? [...this.secrets.entries()].find(([, x]) => x.name === id)?.[1];
    if (!found) throw awsError('ResourceNotFoundException', `secret ${id} not found`);
    const arn = this.secrets.get(id) ? id : [...this.secrets.entries()].find(([, x]) => x === found)![0];
    this.fact({ tags: found.tags, key: this.keyFacts(found.kmsKeyId) });
    return { arn, ...found };
  }

  /** The latest revision of a family, or the revision an ARN names. */
  private taskDefinition(ref: string): Json {
    const td =
      this.taskDefinitions.get(ref) ??
      [...this.taskDefinitions.values()].filter((t) => t.family === ref).sort((a, b) => b.revision - a.revision)[0];
    if (!td) throw awsError('ClientException', `task definition ${ref} not found`);
    return td;
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
    return new Map([...this.parameters].filter(([name]) => this.imageParameters.has(name)));
  }

  /** What an SSM parameter holds now. */
  parameter(name: string): string | undefined {
    return this.parameters.get(name);
  }

  /** A database instance as DescribeDBInstances returns it. */
  describeDatabase(id: string): Json {
    return structuredClone(this.database(id));
  }

  /** Tags of an RDS resource now. */
  tagsOf(arn: string): Record<string, string> {
    return Object.fromEntries((this.dbTags.get(arn) ?? []).map((t) => [t.Key, t.Value]));
  }

  /** A secret's current value, parsed. */
  secretValue(id: string): Json {
    return JSON.parse(this.secret(id).value);
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
      desiredCount: s.desiredCount,
      runningCount: s.desiredCount,
      pendingCount: 0,
      tags: s.tags,
      loadBalancers: s.targetGroups.map((targetGroupArn) => ({ targetGroupArn })),
      // What tier deploy follows: the service deployment UpdateService started (they all succeed here).
      currentServiceDeployment: s.deployments.at(-1)?.arn,
      deployments: [
        {
          id: `ecs-svc/${s.deployments.length}`,
          status: 'PRIMARY',
          taskDefinition: td?.taskDefinitionArn ?? s.taskDefinition,
          rolloutState: 'COMPLETED',
          desiredCount: s.desiredCount,
          runningCount: s.desiredCount,
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
    const describe = (s: (typeof r.stage.stacks)[number]) => {
      const state = this.stackState.get(s.stackName)!;
      return {
        StackName: s.stackName,
        StackId: stackArn(s),
        StackStatus: state.status,
        CreationTime: new Date(0),
        Outputs: r.outputs(s),
        // SSM-typed parameters with the value CloudFormation resolved at the last update.
        Parameters: Object.entries(s.template.Parameters ?? {}).map(([key, x]: [string, Json]) => ({
          ParameterKey: key,
          ParameterValue: x.Default,
          ...(state.resolved.has(x.Default) ? { ResolvedValue: state.resolved.get(x.Default) } : {}),
        })),
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
        ...(s.cfnExecRoleArn ? { RoleARN: concreteArn(s.cfnExecRoleArn, s) } : {}),
      };
    };
    h('DescribeStacksCommand', (i, region) => {
      const all = stacksIn(region);
      if (!i.StackName) return { Stacks: all.map(describe) };
      const s = all.find((x) => x.stackName === i.StackName || stackArn(x) === i.StackName);
      if (!s) throw awsError('ValidationError', `Stack with id ${i.StackName} does not exist`);
      return { Stacks: [describe(s)] };
    });
    h('UpdateStackCommand', (i, region) => {
      const s = stacksIn(region).find((x) => x.stackName === i.StackName);
      if (!s) throw awsError('ValidationError', `Stack with id ${i.StackName} does not exist`);
      if (!i.UsePreviousTemplate) throw new Error('the fake CloudFormation only re-applies the deployed template');
      if (i.RoleARN !== describe(s).RoleARN)
        throw awsError('ValidationError', `RoleARN ${i.RoleARN} is not the stack's`);
      // CloudFormation reads every SSM-typed parameter's current value on an update.
      const state = this.stackState.get(s.stackName)!;
      for (const name of state.resolved.keys()) state.resolved.set(name, this.parameters.get(name) ?? '');
      state.status = 'UPDATE_COMPLETE';
      return { StackId: stackArn(s) };
    });
    // ECS
    h('DescribeServicesCommand', (i) => ({
      services: i.services.map((n: string) => this.describeService(this.service(i.cluster, n))),
    }));
    h('DescribeTaskDefinitionCommand', (i) => {
      const td = this.taskDefinition(i.taskDefinition);
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
      if (i.desiredCount !== undefined) s.desiredCount = i.desiredCount;
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
    h('TagResourceCommand', (i) => {
      const s = [...this.services.values()].find((x) => x.arn === i.resourceArn);
      if (!s) throw awsError('InvalidParameterException', `no service ${i.resourceArn}`);
      s.tags = [...s.tags.filter((t) => !i.tags.some((n: Json) => n.key === t.key)), ...i.tags];
      return {};
    });
    h('UntagResourceCommand', (i) => {
      const s = [...this.services.values()].find((x) => x.arn === i.resourceArn);
      if (!s) throw awsError('InvalidParameterException', `no service ${i.resourceArn}`);
      s.tags = s.tags.filter((t) => !i.tagKeys.includes(t.key));
      return {};
    });
    h('RunTaskCommand', (i, region) => {
      const td = this.taskDefinition(i.taskDefinition);
      this.fact({ taskDefinitionArn: td.taskDefinitionArn });
      const cluster = i.cluster.split('/').pop();
      const taskArn = `arn:aws:ecs:${region}:${account}:task/${cluster}/${this.id()}`;
      const task = {
        taskArn,
        clusterArn: `arn:aws:ecs:${region}:${account}:cluster/${cluster}`,
        taskDefinitionArn: td.taskDefinitionArn,
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
    const balancerOf = this.balancerOfTargetGroup();
    h('DescribeTargetGroupsCommand', (i) => ({
      TargetGroups: i.TargetGroupArns.map((arn: string) => ({
        TargetGroupArn: arn,
        LoadBalancerArns: [balancerOf(arn)],
      })),
    }));
    h('GetMetricDataCommand', (i) => ({
      MetricDataResults: i.MetricDataQueries.map((q: Json) => ({ Id: q.Id, Timestamps: [], Values: [] })),
    }));
    h('DescribeScalableTargetsCommand', (i) => ({
      ScalableTargets: [...this.scalableTargets.values()].filter(
        (t) => t.ServiceNamespace === i.ServiceNamespace && (!i.ResourceIds || i.ResourceIds.includes(t.ResourceId)),
      ),
    }));
    h('RegisterScalableTargetCommand', (i) => {
      const t = this.scalableTargets.get(i.ResourceId);
      if (!t) throw awsError('ValidationException', `no scalable target ${i.ResourceId} in the templates`);
      Object.assign(t, { MinCapacity: i.MinCapacity ?? t.MinCapacity, MaxCapacity: i.MaxCapacity ?? t.MaxCapacity });
      return { ScalableTargetARN: t.ScalableTargetARN };
    });
    // Logs Insights: every query completes at once, with no rows.
    h('StartQueryCommand', (i) => {
      const queryId = this.id();
      this.queries.set(queryId, i.logGroupNames);
      return { queryId };
    });
    h('GetQueryResultsCommand', (i) => {
      const groups = this.queries.get(i.queryId);
      if (!groups) throw awsError('ResourceNotFoundException', `no query ${i.queryId}`);
      this.fact({ logGroups: groups });
      return { status: 'Complete', results: [] };
    });
    // What a one-off task logged: the admin task's data check prints one JSON line (apps/api/src/inspect.ts).
    h('GetLogEventsCommand', (i) => ({
      events: i.logStreamName.includes('/admin/')
        ? [{ timestamp: this.clock, message: JSON.stringify({ msg: 'verify', ok: true, tables: { messages: 1 } }) }]
        : [],
    }));
    this.wireDatabase(account);
    // SSM: the parameters the templates create (image tags, the live database), and those tier creates.
    const parameters = this.parameters;
    h('GetParameterCommand', (i) => {
      if (!parameters.has(i.Name)) throw awsError('ParameterNotFound', `no parameter ${i.Name}`);
      return { Parameter: { Name: i.Name, Value: parameters.get(i.Name), Type: 'String' } };
    });
    h('PutParameterCommand', (i) => {
      if (parameters.has(i.Name) && !i.Overwrite) throw awsError('ParameterAlreadyExists');
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

  /** The load balancer each target group of the services stack is attached to (through listeners and their rules). */
  private balancerOfTargetGroup(): (targetGroupArn: string) => string {
    const r = this.resolver;
    const services = r.stackOf('services');
    const template = services.template.Resources;
    const groupsIn = (actions: Json[]) =>
      (actions ?? []).flatMap((a: Json) => [
        ...(a.TargetGroupArn ? [a.TargetGroupArn] : []),
        ...(a.ForwardConfig?.TargetGroups ?? []).map((g: Json) => g.TargetGroupArn),
      ]);
    const byGroup = new Map<string, string>();
    for (const [id, l] of r.resources(services, 'AWS::ElasticLoadBalancingV2::Listener')) {
      const balancer = r.value(services, l.Properties.LoadBalancerArn);
      const rules = r
        .resources(services, 'AWS::ElasticLoadBalancingV2::ListenerRule')
        .filter(([, rule]) => rule.Properties.ListenerArn?.Ref === id)
        .flatMap(([, rule]) => groupsIn(rule.Properties.Actions));
      for (const g of [...groupsIn(l.Properties.DefaultActions), ...rules]) byGroup.set(r.value(services, g), balancer);
    }
    void template;
    return (arn) => {
      const lb = byGroup.get(arn);
      if (!lb) throw awsError('TargetGroupNotFoundException', `target group ${arn} is on no listener of the templates`);
      return lb;
    };
  }

  /** RDS, Secrets Manager and AWS Backup: the instance of the data stack, its restores, secrets and recovery points. */
  private wireDatabase(account: string) {
    const h = (command: string, fn: Handler) => this.handlers.set(command, fn);
    h('DescribeDBInstancesCommand', (i) => {
      const db = this.database(i.DBInstanceIdentifier);
      return { DBInstances: [db] };
    });
    const restoreInto = (id: string, region: string, source: Json, i: Json) => {
      if (this.databases.has(id)) throw awsError('DBInstanceAlreadyExistsFault', `${id} exists`);
      const arn = `arn:aws:rds:${region}:${account}:db:${id}`;
      const { MasterUserSecret: _owner, ...copied } = source;
      // A restore carries the storage, its key and the engine; what the request names replaces the source's.
      this.databases.set(id, {
        ...copied,
        DBInstanceIdentifier: id,
        DBInstanceArn: arn,
        DBInstanceStatus: 'available',
        Endpoint: { Address: `${id}.abcdefghijkl.${region}.rds.amazonaws.com`, Port: i.Port ?? 5432 },
        DBInstanceClass: i.DBInstanceClass ?? source.DBInstanceClass,
        DBSubnetGroup: { DBSubnetGroupName: i.DBSubnetGroupName },
        DBParameterGroups: [{ DBParameterGroupName: i.DBParameterGroupName }],
        MultiAZ: i.MultiAZ,
        PerformanceInsightsEnabled: false,
        MonitoringInterval: 0,
        MonitoringRoleArn: undefined,
      });
      this.dbTags.set(arn, i.Tags ?? []);
      this.fact({
        key: this.keyFacts(source.KmsKeyId),
        optionGroup: source.OptionGroupMemberships?.[0]?.OptionGroupName,
      });
      return { DBInstance: this.databases.get(id) };
    };
    h('RestoreDBInstanceToPointInTimeCommand', (i, region) =>
      restoreInto(i.TargetDBInstanceIdentifier, region, this.database(i.SourceDBInstanceIdentifier), i),
    );
    h('RestoreDBInstanceFromDBSnapshotCommand', (i, region) => {
      const snapshot = this.snapshots.get(i.DBSnapshotIdentifier);
      if (!snapshot) throw awsError('DBSnapshotNotFound', `no snapshot ${i.DBSnapshotIdentifier}`);
      const out = restoreInto(i.DBInstanceIdentifier, region, this.database(snapshot.instance), i);
      this.fact({ tags: snapshot.tags });
      return out;
    });
    h('ModifyDBInstanceCommand', (i, region) => {
      const db = this.database(i.DBInstanceIdentifier);
      if (i.ManageMasterUserPassword && !db.MasterUserSecret) {
        const arn = `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-${this.id().slice(-8)}-0000-4000-8000-000000000000-AbCdEf`;
        this.ownerSecret(arn, db.DBInstanceArn, i.MasterUserSecretKmsKeyId);
        db.MasterUserSecret = { SecretArn: arn, SecretStatus: 'active', KmsKeyId: i.MasterUserSecretKmsKeyId };
        this.fact({ createdSecretArn: arn, key: this.keyFacts(i.MasterUserSecretKmsKeyId) });
      }
      if (i.EnablePerformanceInsights) {
        Object.assign(db, {
          PerformanceInsightsEnabled: true,
          PerformanceInsightsKMSKeyId: i.PerformanceInsightsKMSKeyId,
          PerformanceInsightsRetentionPeriod: i.PerformanceInsightsRetentionPeriod,
        });
      }
      if (i.MonitoringInterval)
        Object.assign(db, { MonitoringInterval: i.MonitoringInterval, MonitoringRoleArn: i.MonitoringRoleArn });
      if (i.MaxAllocatedStorage) db.MaxAllocatedStorage = i.MaxAllocatedStorage;
      return { DBInstance: db };
    });
    h('StopDBInstanceCommand', (i) => ({
      DBInstance: Object.assign(this.database(i.DBInstanceIdentifier), { DBInstanceStatus: 'stopped' }),
    }));
    h('StartDBInstanceCommand', (i) => ({
      DBInstance: Object.assign(this.database(i.DBInstanceIdentifier), { DBInstanceStatus: 'available' }),
    }));
    const tagsOf = (arn: string) => {
      if (!this.dbTags.has(arn)) throw awsError('DBInstanceNotFoundFault', `no RDS resource ${arn}`);
      return this.dbTags.get(arn)!;
    };
    h('ListTagsForResourceCommand', (i) => ({ TagList: tagsOf(i.ResourceName) }));
    h('AddTagsToResourceCommand', (i) => {
      const kept = tagsOf(i.ResourceName).filter((t) => !i.Tags.some((n: Json) => n.Key === t.Key));
      this.dbTags.set(i.ResourceName, [...kept, ...i.Tags]);
      return {};
    });
    h('RemoveTagsFromResourceCommand', (i) => {
      this.dbTags.set(
        i.ResourceName,
        tagsOf(i.ResourceName).filter((t) => !i.TagKeys.includes(t.Key)),
      );
      return {};
    });
    // Secrets Manager
    h('DescribeSecretCommand', (i) => {
      const x = this.secret(i.SecretId);
      return {
        ARN: x.arn,
        Name: x.name,
        KmsKeyId: x.kmsKeyId,
        VersionIdsToStages: x.stages,
        Tags: Object.entries(x.tags).map(([Key, Value]) => ({ Key, Value })),
      };
    });
    h('GetSecretValueCommand', (i) => {
      const x = this.secret(i.SecretId);
      return { ARN: x.arn, Name: x.name, SecretString: x.value, VersionStages: ['AWSCURRENT'] };
    });
    h('PutSecretValueCommand', (i) => {
      const x = this.secret(i.SecretId);
      this.secrets.get(x.arn)!.value = i.SecretString;
      return { ARN: x.arn, Name: x.name, VersionStages: ['AWSCURRENT'] };
    });
    // AWS Backup: a job completes at once with an RDS snapshot that carries the instance's tags.
    const vaultName = this.resolver.value(this.resolver.stackOf('data'), this.backupVault().Properties.BackupVaultName);
    h('StartBackupJobCommand', (i, region) => {
      if (i.BackupVaultName !== vaultName) throw awsError('ResourceNotFoundException', `no vault ${i.BackupVaultName}`);
      const db = [...this.databases.values()].find((d) => d.DBInstanceArn === i.ResourceArn);
      if (!db) throw awsError('InvalidParameterValueException', `no resource ${i.ResourceArn}`);
      const jobId = this.id();
      const point = `arn:aws:rds:${region}:${account}:snapshot:awsbackup:job-${jobId.slice(-12)}`;
      const created = this.now();
      this.snapshots.set(point, { instance: db.DBInstanceIdentifier, tags: this.tagsOf(db.DBInstanceArn), created });
      this.backupJobs.set(jobId, { recoveryPoint: point, created, vault: i.BackupVaultName });
      return { BackupJobId: jobId, RecoveryPointArn: point, CreationDate: created };
    });
    h('DescribeBackupJobCommand', (i) => {
      const job = this.backupJobs.get(i.BackupJobId);
      if (!job) throw awsError('ResourceNotFoundException', `no backup job ${i.BackupJobId}`);
      return {
        BackupJobId: i.BackupJobId,
        State: 'COMPLETED',
        RecoveryPointArn: job.recoveryPoint,
        CreationDate: job.created,
        CompletionDate: job.created,
      };
    });
    h('ListRecoveryPointsByBackupVaultCommand', (i) => {
      if (i.BackupVaultName !== vaultName) throw awsError('ResourceNotFoundException', `no vault ${i.BackupVaultName}`);
      return {
        RecoveryPoints: [...this.backupJobs.values()]
          .filter((j) => j.vault === i.BackupVaultName)
          .map((j) => ({
            RecoveryPointArn: j.recoveryPoint,
            Status: 'COMPLETED',
            CreationDate: j.created,
            CompletionDate: j.created,
          }))
          .filter(
            (p) =>
              !i.ByResourceArn ||
              this.databases.get(this.snapshots.get(p.RecoveryPointArn)!.instance)?.DBInstanceArn === i.ByResourceArn,
          ),
      };
    });
  }

  private backupVault(): Json {
    const [vault] = this.resolver.resources(this.resolver.stackOf('data'), 'AWS::Backup::BackupVault');
    if (!vault) throw new Error('the data stack has no backup vault');
    return vault[1];
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
        this.pendingFacts = {};
        try {
          const output = handler(input, region);
          this.calls.push({ service, region, command, input, output, facts: this.pendingFacts });
          return { output: { $metadata: {}, ...structuredClone(output) }, response: {} };
        } catch (err) {
          this.calls.push({
            service,
            region,
            command,
            input,
            output: { error: (err as Error).name },
            facts: this.pendingFacts,
          });
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
      secrets: this.client(SecretsManagerClient, region),
    };
  }

  ecr(region: string): ECRClient {
    return this.client(ECRClient, region);
  }
}
