// The containers of a stage's synthesized ECS task definitions as ECS would start them (image, command, the
// environment it hands the process, user, filesystem, health checks, the target group that decides readiness),
// and the stage's database as RDS would run it. Read by the conformance tests in infra/aws/test and test/e2e.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Json } from './platform.js';
import { makeResolver, type SynthesizedStack } from './templates.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export type AppTier = 'web' | 'api';

/** The final stage's ENV and CMD of apps/<tier>/Dockerfile, with ARG defaults substituted. */
export function imageDefaults(tier: AppTier): { env: Record<string, string>; cmd: string[] } {
  const lines = readFileSync(`${REPO}apps/${tier}/Dockerfile`, 'utf8').replace(/\\\n/g, ' ').split('\n');
  const finalStage = lines.findLastIndex((l) => /^FROM\s/.test(l));
  const args: Record<string, string> = {};
  const env: Record<string, string> = {};
  let cmd: string[] = [];
  for (const line of lines.slice(finalStage)) {
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line.trim()) ?? [];
    const expand = (v: string) => v.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? env[name] ?? '');
    if (instruction === 'ARG') {
      const [name = '', value = ''] = rest.split('=');
      args[name] = value;
    } else if (instruction === 'ENV') {
      for (const pair of rest.split(/\s+/)) {
        const [name = '', value = ''] = pair.split('=');
        env[name] = expand(value);
      }
    } else if (instruction === 'CMD') {
      cmd = JSON.parse(rest) as string[];
    }
  }
  assert.ok(cmd.length > 0, `apps/${tier}/Dockerfile has no exec-form CMD in its final stage`);
  return { env, cmd };
}

/** The password field of the RDS-managed master secret, as a test value of its shape. */
export const TEST_MASTER_PASSWORD = 'Zx9-generated-by-rds-0123456789abcdef';
/** What the restore validation writes for a copy's owner: base64url, as index.mjs generates it. */
export const TEST_RESTORE_CHECK_PASSWORD = 'Qm9ndXMtdGhyb3dhd2F5LXBhc3N3b3Jk_-0123';
/** The password field of the API user's secret (Secrets Manager generated, 30 characters), as a test value. */
export const TEST_API_USER_PASSWORD = 'Yw8-generated-by-secretsmanager';

/** The stage's database instance as RDS would run it: endpoint, port, initial database and master user. */
export interface StageDatabase {
  readonly where: string;
  /** Endpoint.Address, shaped like RDS's (`<id>.<hash>.<region>.rds.amazonaws.com`); known only at deploy time. */
  readonly host: string;
  readonly port: number;
  /** DBName: the database RDS creates, owned by the master user. */
  readonly name: string;
  readonly masterUsername: string;
  /** rds.force_ssl=1 in the instance's parameter group: the server refuses sessions without TLS. */
  readonly forceSsl: boolean;
}

export function stageDatabases(stacks: readonly SynthesizedStack[]): StageDatabase[] {
  const resolve = makeResolver(stacks);
  const found: StageDatabase[] = [];
  for (const stack of stacks) {
    for (const [id, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::RDS::DBInstance') continue;
      const props = resource.Properties ?? {};
      const groupId = props.DBParameterGroupName?.Ref;
      const group = groupId ? stack.template.Resources[groupId] : undefined;
      found.push({
        where: `${stack.stackName} ${id}`,
        host: resolve(stack, { 'Fn::GetAtt': [id, 'Endpoint.Address'] }),
        port: Number(resolve(stack, { 'Fn::GetAtt': [id, 'Endpoint.Port'] })),
        name: props.DBName,
        masterUsername: props.MasterUsername,
        forceSsl: String(group?.Properties?.Parameters?.['rds.force_ssl']) === '1',
      });
    }
  }
  return found;
}

/**
 * Test values shaped like the secrets the tasks read: the RDS-managed master secret (JSON `{"username":
 * <MasterUsername>, "password": <generated>}`) and the API user's secret (`{"username": "tier_api", "password", ...}`),
 * read field by field (`<arn>:<key>::`).
 */
function secretValue(stacks: readonly SynthesizedStack[], valueFrom: Json): string {
  const text = JSON.stringify(valueFrom).replace(/\{"Ref":"(\w+)"\}/g, (ref, id: string) => {
    const held = ssmParameterValue(stacks, id);
    return held === undefined ? ref : JSON.stringify(held);
  });
  const managed = stacks.flatMap((s) =>
    Object.values(s.template.Resources).filter(
      (r: Json) => r.Type === 'AWS::RDS::DBInstance' && r.Properties?.ManageMasterUserPassword === true,
    ),
  );
  if (/MasterUserSecret/.test(text) && managed.length === 1) {
    if (text.includes(':username::')) return managed[0].Properties.MasterUsername;
    if (text.includes(':password::')) return TEST_MASTER_PASSWORD;
  }
  // The API user's secret (rds.DatabaseSecret, attached to the instance): its username is in the template.
  if (/ApiUserSecretAttachment/.test(text)) {
    if (text.includes(':username::')) return apiUsername(stacks);
    if (text.includes(':password::')) return TEST_API_USER_PASSWORD;
  }
  // The restore-check task's owner password: the SecureString the restore validation writes (a bare password).
  if (/:parameter\/tier\/[\w-]+\/restore-test\/owner-password"/.test(text)) return TEST_RESTORE_CHECK_PASSWORD;
  throw new Error(`secret ${text}: no test value of its shape (add one in infra/aws/test/support/task-definitions.ts)`);
}

/**
 * What an SSM-typed template parameter resolves to at deployment: the value of the stage's AWS::SSM::Parameter of
 * that name (the live database's owner secret, written by the data stack), as that stack's template states it.
 */
function ssmParameterValue(stacks: readonly SynthesizedStack[], parameterId: string): Json | undefined {
  for (const stack of stacks) {
    const param = stack.template.Parameters?.[parameterId];
    if (!param || !String(param.Type).startsWith('AWS::SSM::Parameter::Value')) continue;
    for (const s of stacks) {
      for (const r of Object.values(s.template.Resources) as Json[]) {
        if (r.Type === 'AWS::SSM::Parameter' && r.Properties?.Name === param.Default) return r.Properties.Value;
      }
    }
  }
  return undefined;
}

/**
 * The whole SecretString a task reads at run time by ARN (GetSecretValue), as a test value of its shape: the API
 * user's secret as rds.DatabaseSecret stores it (username, password, engine, host, port, dbname).
 */
export function secretStringOf(stacks: readonly SynthesizedStack[], arn: string): string {
  if (!/ApiUserSecret/.test(arn)) {
    throw new Error(
      `secret ${arn}: no test value of its shape (add one in infra/aws/test/support/task-definitions.ts)`,
    );
  }
  const [db] = stageDatabases(stacks);
  return JSON.stringify({
    username: apiUsername(stacks),
    password: TEST_API_USER_PASSWORD,
    engine: 'postgres',
    host: db?.host,
    port: db?.port,
    dbname: db?.name,
  });
}

function apiUsername(stacks: readonly SynthesizedStack[]): string {
  const template = stacks
    .flatMap((s) => Object.entries(s.template.Resources))
    .find(([id, r]: [string, Json]) => r.Type === 'AWS::SecretsManager::Secret' && /ApiUserSecret/.test(id))?.[1];
  const joined = JSON.stringify(template?.Properties?.GenerateSecretString?.SecretStringTemplate ?? '');
  const user = /\\"username\\":\\"([a-z_]+)\\"/.exec(joined)?.[1];
  if (!user) throw new Error('the API user secret has no username in its SecretStringTemplate');
  return user;
}

/** How a target group probes a target (AWS::ElasticLoadBalancingV2::TargetGroup health check settings). */
export interface TargetHealthCheck {
  /** The container port the service registers in the target group: where requests go. */
  readonly trafficPort: number;
  readonly path: string;
  /** The port probed on the target: HealthCheckPort, or the container port the service registers. */
  readonly port: number;
  /** Matcher.HttpCode as written (`200`, `200-299`, `200,302`). */
  readonly httpCodes: string;
  readonly healthyThreshold: number;
  readonly timeoutSeconds: number;
}

export function httpCodeMatches(httpCodes: string, status: number): boolean {
  return httpCodes.split(',').some((part) => {
    const [low = '', high = low] = part.trim().split('-');
    return status >= Number(low) && status <= Number(high);
  });
}

/** The ECS service that runs a container, with what decides when its tasks take traffic. */
export interface ServiceOfContainer {
  readonly serviceName: string;
  /** ECS ignores failing load-balancer health checks this long after a task starts. */
  readonly gracePeriodSeconds: number;
  readonly targetGroups: readonly TargetHealthCheck[];
}

export interface TaskContainer {
  /** `<stack> <task definition id> container <name>`, for messages. */
  readonly where: string;
  readonly stackName: string;
  readonly family: string;
  readonly name: string;
  readonly tier: AppTier;
  /** Image as the template names it (a tag read from SSM shows as `{{ssm:<parameter>}}`). */
  readonly image: string;
  /** What the container runs: the template's Command, else the image's CMD. */
  readonly command: readonly string[];
  /** The script it runs (`apps/api/dist/server.js`); decides which config parser applies. */
  readonly program: string;
  /** What ECS hands the container: the template's Environment, then its Secrets as test values. */
  readonly environment: Readonly<Record<string, string>>;
  /** What the process sees: the image's ENV (from apps/<tier>/Dockerfile) overlaid with `environment`. */
  readonly env: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly readonlyRootFilesystem: boolean;
  readonly initProcessEnabled: boolean;
  /** Hard memory limit: the container's Memory, else the task's. */
  readonly memoryMiB?: number;
  /** The task's CPU units (1024 = one vCPU). */
  readonly cpuUnits?: number;
  /** Mount points onto task volumes; a volume without Host/EFS settings is a Fargate bind mount (ephemeral). */
  readonly mounts: readonly { containerPath: string; readOnly: boolean; ephemeral: boolean }[];
  readonly healthCheck?: {
    readonly command: readonly string[];
    readonly timeoutSeconds: number;
    readonly retries: number;
  };
  /** Set when an ECS service runs this task definition. */
  readonly service?: ServiceOfContainer;
}

function servicesOf(stack: SynthesizedStack, taskId: string, containerName: string, containerPort: number[]) {
  const resources = stack.template.Resources;
  const found: ServiceOfContainer[] = [];
  for (const service of Object.values(resources) as Json[]) {
    if (service.Type !== 'AWS::ECS::Service' || service.Properties.TaskDefinition?.Ref !== taskId) continue;
    const props = service.Properties;
    const targetGroups = (props.LoadBalancers ?? [])
      .filter((lb: Json) => lb.ContainerName === containerName)
      .map((lb: Json): TargetHealthCheck => {
        const tg = resources[lb.TargetGroupArn?.Ref]?.Properties;
        assert.ok(tg, `${stack.stackName}: service ${props.ServiceName} names a target group the template lacks`);
        const port = tg.HealthCheckPort ?? 'traffic-port';
        const trafficPort = Number(lb.ContainerPort ?? containerPort[0]);
        return {
          trafficPort,
          path: tg.HealthCheckPath ?? '/',
          port: port === 'traffic-port' ? trafficPort : Number(port),
          httpCodes: tg.Matcher?.HttpCode ?? '200',
          healthyThreshold: tg.HealthyThresholdCount ?? 5,
          timeoutSeconds: tg.HealthCheckTimeoutSeconds ?? 5,
        };
      });
    // Nothing reaches a task but its balancer: a name in Cloud Map would be a path these tests do not model.
    assert.equal(props.ServiceRegistries, undefined, `${stack.stackName}: ${props.ServiceName} registers in Cloud Map`);
    found.push({
      serviceName: props.ServiceName,
      gracePeriodSeconds: props.HealthCheckGracePeriodSeconds ?? 0,
      targetGroups,
    });
  }
  return found;
}

export function taskContainers(stacks: readonly SynthesizedStack[]): TaskContainer[] {
  const resolve = makeResolver(stacks);
  const found: TaskContainer[] = [];
  for (const stack of stacks) {
    for (const [id, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::ECS::TaskDefinition') continue;
      const task = resource.Properties;
      const volumes = new Map<string, Json>((task.Volumes ?? []).map((v: Json) => [v.Name, v]));
      for (const def of task.ContainerDefinitions as Json[]) {
        const where = `${stack.stackName} ${id} container ${def.Name}`;
        const image = resolve(stack, def.Image);
        // A repository tier-<stage>/<tier>, or the SSM parameter that names the running image of <tier>.
        const tier = /(?:\/tier-[a-z0-9-]+\/|\/image\/)(web|api)\b/.exec(image)?.[1] as AppTier | undefined;
        assert.ok(tier, `${where}: image ${image} is not one of the stage's tier repositories`);
        const defaults = imageDefaults(tier);
        const command: string[] = def.Command ?? defaults.cmd;
        const environment: Record<string, string> = {};
        for (const e of def.Environment ?? []) environment[e.Name] = resolve(stack, e.Value);
        for (const s of def.Secrets ?? []) environment[s.Name] = secretValue(stacks, s.ValueFrom);
        const ports = (def.PortMappings ?? []).map((p: Json) => Number(p.ContainerPort));
        const services = servicesOf(stack, id, def.Name, ports);
        assert.ok(services.length <= 1, `${where}: run by ${services.length} services; expected at most one`);
        const memory = def.Memory ?? task.Memory;
        found.push({
          where,
          stackName: stack.stackName,
          family: task.Family ?? id,
          name: def.Name,
          tier,
          image,
          command,
          program: command.find((part) => part.endsWith('.js')) ?? command.join(' '),
          environment,
          env: { ...defaults.env, ...environment },
          user: def.User,
          readonlyRootFilesystem: def.ReadonlyRootFilesystem === true,
          initProcessEnabled: def.LinuxParameters?.InitProcessEnabled === true,
          memoryMiB: memory === undefined ? undefined : Number(memory),
          cpuUnits: task.Cpu === undefined ? undefined : Number(task.Cpu),
          mounts: (def.MountPoints ?? []).map((m: Json) => {
            const volume = volumes.get(m.SourceVolume);
            assert.ok(volume, `${where}: mounts volume ${m.SourceVolume}, which the task does not declare`);
            const ephemeral = !volume.Host && !volume.EFSVolumeConfiguration && !volume.DockerVolumeConfiguration;
            return { containerPath: m.ContainerPath, readOnly: m.ReadOnly === true, ephemeral };
          }),
          healthCheck: def.HealthCheck && {
            command: def.HealthCheck.Command,
            timeoutSeconds: def.HealthCheck.Timeout ?? 5,
            retries: def.HealthCheck.Retries ?? 3,
          },
          service: services[0],
        });
      }
    }
  }
  return found;
}

/** Where a target group sends traffic: the container (and port) of the ECS service registered with it. */
export interface BalancerTarget {
  readonly family: string;
  readonly containerName: string;
  readonly port: number;
}

/** One listener rule as the balancer evaluates it: every condition must match, then it forwards. */
export interface ListenerRuleModel {
  readonly priority: number;
  /** http-header conditions: header name -> accepted values (one must match). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** path-pattern values (`*` and `?` wildcards); empty: any path. */
  readonly paths: readonly string[];
  /** The targets of the forwarded target groups that carry weight (a weight-0 group takes no requests). */
  readonly forward: readonly BalancerTarget[];
}

export interface ListenerModel {
  readonly port: number;
  /** Rules in the order the balancer tries them (lowest priority number first). */
  readonly rules: readonly ListenerRuleModel[];
  /** Status of the listener's fixed-response default action; undefined when it forwards. */
  readonly defaultStatus?: number;
  readonly defaultForward: readonly BalancerTarget[];
}

/** An application load balancer of the stage, reachable by its DNS name, with its listeners. */
export interface LoadBalancerModel {
  readonly where: string;
  readonly dnsName: string;
  readonly listeners: readonly ListenerModel[];
}

/** Every ALB of the stage with its listeners, rules and the service containers its target groups reach. */
export function loadBalancersOf(stacks: readonly SynthesizedStack[]): LoadBalancerModel[] {
  const resolve = makeResolver(stacks);
  const found: LoadBalancerModel[] = [];
  for (const stack of stacks) {
    const resources = stack.template.Resources;
    const of = (type: string) =>
      Object.entries(resources).filter(([, r]) => (r as Json).Type === type) as [string, Json][];
    const targetsOf = (groupId: string): BalancerTarget[] =>
      of('AWS::ECS::Service').flatMap(([, svc]) =>
        (svc.Properties.LoadBalancers ?? [])
          .filter((lb: Json) => lb.TargetGroupArn?.Ref === groupId)
          .map((lb: Json) => ({
            family: resources[svc.Properties.TaskDefinition.Ref]?.Properties.Family,
            containerName: lb.ContainerName,
            port: Number(lb.ContainerPort),
          })),
      );
    const forwardOf = (actions: Json[]): BalancerTarget[] => {
      const forward = actions.find((a) => a.Type === 'forward');
      if (!forward) return [];
      const groups: Json[] = forward.ForwardConfig?.TargetGroups ?? [{ TargetGroupArn: forward.TargetGroupArn }];
      return groups.filter((g) => (g.Weight ?? 1) > 0).flatMap((g) => targetsOf(g.TargetGroupArn.Ref));
    };
    for (const [albId] of of('AWS::ElasticLoadBalancingV2::LoadBalancer')) {
      const listeners = of('AWS::ElasticLoadBalancingV2::Listener')
        .filter(([, l]) => l.Properties.LoadBalancerArn?.Ref === albId)
        .map(([listenerId, l]): ListenerModel => {
          const fixed = l.Properties.DefaultActions.find((a: Json) => a.Type === 'fixed-response');
          const rules = of('AWS::ElasticLoadBalancingV2::ListenerRule')
            .filter(([, r]) => r.Properties.ListenerArn?.Ref === listenerId)
            .map(([, r]): ListenerRuleModel => {
              const conditions: Json[] = r.Properties.Conditions;
              const known = conditions.filter((c) => c.Field === 'http-header' || c.Field === 'path-pattern');
              assert.equal(known.length, conditions.length, `${stack.stackName}: a rule condition is not modelled`);
              return {
                priority: Number(r.Properties.Priority),
                headers: Object.fromEntries(
                  conditions
                    .filter((c) => c.Field === 'http-header')
                    .map((c) => [
                      c.HttpHeaderConfig.HttpHeaderName,
                      c.HttpHeaderConfig.Values.map((v: Json) => resolve(stack, v)),
                    ]),
                ),
                paths: conditions
                  .filter((c) => c.Field === 'path-pattern')
                  .flatMap((c) => c.PathPatternConfig?.Values ?? c.Values),
                forward: forwardOf(r.Properties.Actions),
              };
            })
            .sort((a, b) => a.priority - b.priority);
          return {
            port: Number(l.Properties.Port),
            rules,
            defaultStatus: fixed ? Number(fixed.FixedResponseConfig.StatusCode) : undefined,
            defaultForward: forwardOf(l.Properties.DefaultActions),
          };
        });
      found.push({
        where: `${stack.stackName} ${albId}`,
        dnsName: resolve(stack, { 'Fn::GetAtt': [albId, 'DNSName'] }),
        listeners,
      });
    }
  }
  return found;
}
