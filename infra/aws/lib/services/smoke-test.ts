// The pre-traffic smoke test of both tiers: one function in the VPC that ECS runs as a lifecycle hook once a new
// version's tasks take the test listener's traffic, before any production request; a failure rolls the deployment
// back. GitHub's runners cannot reach the internal ALBs, so the check runs where they are, allowed to the test
// listeners only (its security group), and it only reads.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { SERVICE_DEFAULTS } from './defaults.js';
import type { SmokeTarget } from './smoke-test/index.mjs';
import type { TierService } from './tier-service.js';

const CODE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'smoke-test');

/** What each tier must answer through its test listener: read-only requests, so nothing is written to production. */
export const SMOKE_CHECKS: Readonly<Record<string, SmokeTarget['checks']>> = {
  // The page renders through the live API: the new web version against what it will call.
  web: [{ path: '/', contains: '3tier App' }],
  api: [{ path: '/api/status', contains: '"request_uuid"' }],
};

export interface SmokeTestProps {
  /** Prefix of the function name, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly vpc: ec2.IVpc;
  /** Admits the function to the ALBs' test listeners and nowhere else. */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logGroup: logs.ILogGroup;
  /** Tier name -> its service; each gets the hook. */
  readonly tiers: Readonly<Record<string, TierService>>;
}

export class SmokeTest extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: SmokeTestProps) {
    super(scope, id);
    const targets: Record<string, SmokeTarget> = {};
    for (const [tier, svc] of Object.entries(props.tiers)) {
      const checks = SMOKE_CHECKS[tier];
      if (!checks) throw new Error(`SmokeTest: no checks for tier ${tier}; add them to SMOKE_CHECKS.`);
      targets[`${props.namePrefix}-${tier}`] = {
        url: `http://${svc.loadBalancer.loadBalancerDnsName}:${SERVICE_DEFAULTS.testListenerPort}`,
        checks,
      };
    }
    this.function = new lambda.Function(this, 'Function', {
      functionName: `${props.namePrefix}-smoke-test`,
      description: 'Pre-traffic smoke test of a new web or api version (ECS deployment lifecycle hook)',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(CODE),
      // Three tries of each check, 5 s each, 2 s apart: well inside the limit.
      timeout: Duration.seconds(60),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      allowPublicSubnet: false,
      environment: { SMOKE_TARGETS: JSON.stringify(targets) },
      logGroup: props.logGroup,
    });
    // One role for ECS to invoke the function, whichever service deploys.
    const hookRole = new iam.Role(this, 'HookRole', {
      assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
      description: 'ECS invokes the pre-traffic smoke test during web and api deployments',
    });
    this.function.grantInvoke(hookRole);
    for (const svc of Object.values(props.tiers)) {
      svc.service.addLifecycleHook(
        new ecs.DeploymentLifecycleLambdaTarget(this.function, 'SmokeTestHook', {
          role: hookRole,
          // Test traffic reaches the new tasks; production still goes to the old ones.
          lifecycleStages: [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
        }),
      );
    }
    acknowledge(
      hookRole,
      'lambda:InvokeFunction on this one function and its versions (the :* of grantInvoke), nothing else.',
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
    acknowledge(
      this.function.role as iam.Role,
      'AWS-maintained policies that let the function write its own log group and attach its network interfaces in the VPC; it calls no AWS API itself.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    );
    acknowledge(
      this.function,
      'The function runs in the private subnets with its own security group (VpcConfig above); the rule cannot read subnet and group ids imported from the network stack.',
      guard('lambda_inside_vpc_check'),
    );
    // Lambda refuses a reservation that leaves less than 100 unreserved ("You can reserve up to the Unreserved account
    // concurrency value that is shown, minus 100", docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html)
    // and new accounts start with a reduced concurrency quota (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
    acknowledge(
      this.function,
      'No reserved concurrency: Lambda keeps at least 100 of the account concurrency unreserved and new accounts get a reduced quota, so a reservation fails the first deploy there (Lambda Developer Guide, configuring reserved concurrency; Lambda quotas). ECS runs one deployment per service at a time, so the hook is invoked at most once per tier at once.',
      'NIST.800.53.R5-LambdaConcurrency',
    );
    acknowledge(
      this.function,
      'ECS invokes the hook synchronously and rolls the deployment back on an error or a FAILED answer; there is no asynchronous event a dead-letter queue could keep.',
      'NIST.800.53.R5-LambdaDLQ',
      guard('lambda_dlq_check'),
    );
  }
}
