// What the stage's pipeline role may do to this stage's services: roll them out, run the migration, pass their roles.
import { Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../shared/acknowledge.js';

export interface PipelineGrantsProps {
  /** Name of the pipeline role (created by the pipeline-access stack, deployed first). */
  readonly roleName: string;
  /** Name of the stage's cluster (literal, so the grants name plain ARNs). */
  readonly clusterName: string;
  /** Names of the services `tier deploy`/`tier rollback` update. */
  readonly serviceNames: readonly string[];
  /** Task definitions whose families the pipeline registers revisions of, and whose roles it passes to ECS. */
  readonly taskDefinitions: readonly ecs.FargateTaskDefinition[];
  /** The one task definition the pipeline may run (the migration), only in `cluster`. */
  readonly runnableTask: ecs.FargateTaskDefinition;
}

/** An IAM policy in this stack, attached to the pipeline role by name, so every ARN is an in-stack reference. */
export class PipelineGrants extends Construct {
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: PipelineGrantsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!/^[\w-]+$/.test(props.clusterName) || props.serviceNames.some((n) => !/^[\w-]+$/.test(n))) {
      throw new Error(
        'PipelineGrants: clusterName and serviceNames must be literal names (set clusterName/serviceName).',
      );
    }
    const ecsArn = (resource: string) => `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:${resource}`;
    const { clusterName, serviceNames: names } = props;
    const clusterArn = ecsArn(`cluster/${clusterName}`);
    const serviceArns = names.map((n) => ecsArn(`service/${clusterName}/${n}`));
    const roleArns = props.taskDefinitions.flatMap((td) => [td.taskRole.roleArn, td.obtainExecutionRole().roleArn]);

    this.policy = new iam.Policy(this, 'Policy', {
      roles: [iam.Role.fromRoleName(this, 'PipelineRole', props.roleName)],
      statements: [
        new iam.PolicyStatement({
          sid: 'RollOutOwnServices',
          actions: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:ListServiceDeployments'],
          resources: serviceArns,
        }),
        new iam.PolicyStatement({
          sid: 'ReadOwnServiceHistory',
          actions: ['ecs:DescribeServiceDeployments', 'ecs:DescribeServiceRevisions'],
          resources: [
            ...serviceArns,
            ...names.map((n) => ecsArn(`service-deployment/${clusterName}/${n}/*`)),
            ...names.map((n) => ecsArn(`service-revision/${clusterName}/${n}/*`)),
          ],
        }),
        new iam.PolicyStatement({
          // A new revision per release; tags copied from the old revision need TagResource on create.
          sid: 'RegisterOwnTaskDefinitions',
          actions: ['ecs:RegisterTaskDefinition', 'ecs:TagResource'],
          resources: props.taskDefinitions.map((td) => ecsArn(`task-definition/${td.family}:*`)),
        }),
        new iam.PolicyStatement({
          sid: 'RunMigrationInOwnCluster',
          actions: ['ecs:RunTask'],
          resources: [ecsArn(`task-definition/${props.runnableTask.family}:*`)],
          conditions: { ArnEquals: { 'ecs:cluster': clusterArn } },
        }),
        new iam.PolicyStatement({
          sid: 'WatchOwnTasks',
          actions: ['ecs:DescribeTasks'],
          resources: [ecsArn(`task/${clusterName}/*`)],
        }),
        new iam.PolicyStatement({
          sid: 'ListOwnTasks',
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ecs:cluster': clusterArn } },
        }),
        new iam.PolicyStatement({
          sid: 'PassOwnTaskRolesToEcs',
          actions: ['iam:PassRole'],
          resources: roleArns,
          conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        }),
      ],
    });
    // One acknowledgement per wildcard ARN, so a new wildcard in these grants fails the gates until it is reviewed.
    const wildcards = this.policy.document
      .toJSON()
      .Statement.flatMap((st: { Resource: string | string[] }) =>
        [st.Resource].flat().filter((r) => typeof r === 'string' && r.includes('*')),
      );
    acknowledge(
      this.policy,
      'Revisions, tasks, deployments and service revisions get ids only when created, so their ARNs end in a wildcard under this stage cluster and these task families; ListTasks has no resource type of its own and is bound to this cluster by ecs:cluster.',
      ...[...new Set<string>(wildcards)].map((r) => `AwsSolutions-IAM5[Resource::${r}]`),
    );
    acknowledge(
      this.policy,
      'The pipeline deploy grants of this stage, attached to its one pipeline role; kept beside the services they name so every ARN is an in-stack reference.',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
  }
}
