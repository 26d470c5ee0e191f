// One application tier on Fargate behind its own ALB: task, service, target group, scaling and rollback alarms.
import { Duration, Size } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TierSizing } from '../../config/index.js';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { SERVICE_DEFAULTS } from './defaults.js';

export interface TierServiceProps {
  /** `web` or `api`; names the service, container, alarms and log stream prefix. */
  readonly tier: string;
  /** Prefix of named resources, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly cluster: ecs.ICluster;
  readonly image: ecs.ContainerImage;
  readonly sizing: TierSizing;
  readonly albSecurityGroup: ec2.ISecurityGroup;
  readonly taskSecurityGroup: ec2.ISecurityGroup;
  /** Non-secret settings (conventions.md names); never credentials. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets injected by ECS from Secrets Manager at task start. @default {} */
  readonly secrets?: Readonly<Record<string, ecs.Secret>>;
  readonly logGroup: logs.ILogGroup;
  readonly accessLogBucket: s3.IBucket;
  /** Literal name of `accessLogBucket` (written into the ALB attribute as a plain string). */
  readonly accessLogBucketName: string;
  /**
   * Value CloudFront sends in the origin-verify header: when set, requests without it get 403 from the ALB.
   * @default - the listener forwards every request its security group admits
   */
  readonly originVerifyValue?: string;
  readonly alarmTopic: sns.ITopic;
  /** @default 60 */
  readonly cpuTargetPercent?: number;
  /** @default 1000 */
  readonly requestsPerTarget?: number;
}

export class TierService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly listener: elbv2.ApplicationListener;
  readonly rollbackAlarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: TierServiceProps) {
    super(scope, id);
    const { sizing, tier } = props;
    if (sizing.minTasks < 2)
      throw new Error(`${tier}: sizing.minTasks must be >= 2 so a deployment or AZ loss never drops to zero.`);
    if (sizing.maxTasks < sizing.minTasks)
      throw new Error(`${tier}: sizing.maxTasks (${sizing.maxTasks}) must be >= minTasks.`);
    for (const name of Object.keys(props.environment ?? {})) {
      if (/PASS|SECRET|TOKEN|KEY/i.test(name)) {
        throw new Error(
          `${tier}: environment variable ${name} looks secret; pass it in props.secrets (Secrets Manager).`,
        );
      }
    }
    const name = `${props.namePrefix}-${tier}`;

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: name,
      cpu: sizing.cpu,
      memoryLimitMiB: sizing.memoryMiB,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
      },
      // The root filesystem is read-only; /tmp is a task-local scratch volume.
      volumes: [{ name: 'tmp' }],
    });
    const container = this.taskDefinition.addContainer('app', {
      containerName: tier,
      image: props.image,
      essential: true,
      memoryLimitMiB: sizing.memoryMiB,
      readonlyRootFilesystem: true,
      user: '1000:1000',
      linuxParameters: new ecs.LinuxParameters(this, 'Linux', { initProcessEnabled: true }),
      portMappings: [
        { name: 'http', containerPort: SERVICE_DEFAULTS.appPort },
        { name: 'admin', containerPort: SERVICE_DEFAULTS.adminPort },
      ],
      environment: {
        PORT: String(SERVICE_DEFAULTS.appPort),
        ADMIN_PORT: String(SERVICE_DEFAULTS.adminPort),
        HOST: '0.0.0.0',
        LOG_LEVEL: SERVICE_DEFAULTS.logLevel,
        SHUTDOWN_DRAIN_MS: String(SERVICE_DEFAULTS.shutdownDrainMs),
        KEEP_ALIVE_TIMEOUT_MS: String(SERVICE_DEFAULTS.keepAliveTimeoutMs),
        ...props.environment,
      },
      secrets: { ...props.secrets },
      logging: ecs.LogDrivers.awsLogs({
        logGroup: props.logGroup,
        streamPrefix: tier,
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      stopTimeout: SERVICE_DEFAULTS.stopTimeout,
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${SERVICE_DEFAULTS.adminPort}${SERVICE_DEFAULTS.livenessPath}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
    });
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    acknowledge(
      this.taskDefinition,
      'The environment holds only non-secret settings from docs/conventions.md (ports, log level, hosts); DBUSER/DBPASS come from Secrets Manager as ECS secrets.',
      'AwsSolutions-ECS2',
    );

    // Internal: no address on the internet. CloudFront reaches it through a VPC origin (edge stack), which needs
    // only the VPC's internet gateway, not a public balancer
    // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html).
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: props.cluster.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: props.albSecurityGroup,
      dropInvalidHeaderFields: true,
      idleTimeout: SERVICE_DEFAULTS.albIdleTimeout,
      // Turn off (console or CLI) before tearing a stage down; see README.
      deletionProtection: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, `alb/${tier}`);
    this.loadBalancer.setAttribute('access_logs.s3.bucket', props.accessLogBucketName);
    acknowledge(
      this.loadBalancer,
      'Internal ALB reached only inside the VPC, by the CloudFront VPC origin (and, for the api, the web tasks), as its security group says; the WAF web ACL is attached to the distribution in front of it.',
      'NIST.800.53.R5-ALBWAFEnabled',
    );

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.cluster.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: SERVICE_DEFAULTS.appPort,
      deregistrationDelay: SERVICE_DEFAULTS.deregistrationDelay,
      healthCheck: {
        path: SERVICE_DEFAULTS.readinessPath,
        port: String(SERVICE_DEFAULTS.adminPort),
        protocol: elbv2.Protocol.HTTP,
        healthyHttpCodes: '200',
        interval: SERVICE_DEFAULTS.healthCheckInterval,
        timeout: SERVICE_DEFAULTS.healthCheckTimeout,
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });

    // With a header value only CloudFront knows, anything else reaching the listener gets 403.
    this.listener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' }),
    });
    acknowledge(
      this.listener,
      'No domain or certificate is configured, so the CloudFront VPC origin (and, for the api, the web tasks) connect to this internal ALB over HTTP inside the VPC; its security group admits only those, viewers always use HTTPS at the edge.',
      'NIST.800.53.R5-ALBHttpToHttpsRedirection',
      'NIST.800.53.R5-ELBv2ACMCertificateRequired',
      guard('alb_http_to_https_redirection_check'),
    );
    this.listener.addAction('Forward', {
      priority: 10,
      conditions: [
        props.originVerifyValue
          ? elbv2.ListenerCondition.httpHeader(SERVICE_DEFAULTS.originVerifyHeader, [props.originVerifyValue])
          : elbv2.ListenerCondition.pathPatterns(['/*']),
      ],
      action: elbv2.ListenerAction.forward([this.targetGroup]),
    });

    this.rollbackAlarms = this.createRollbackAlarms(name, props.alarmTopic);
    const roles = [this.taskDefinition.taskRole, this.taskDefinition.obtainExecutionRole()];
    acknowledge(
      this.taskDefinition.obtainExecutionRole(),
      'ecr:GetAuthorizationToken has no resource-level permissions; image pulls themselves are limited to the tier repository.',
      'AwsSolutions-IAM5[Resource::*]',
    );
    for (const role of roles) {
      acknowledge(
        role,
        'CDK-generated least-privilege policy that belongs to this one role (grants for its log group, secrets, key); a managed policy could be attached elsewhere.',
        'NIST.800.53.R5-IAMNoInlinePolicy',
      );
    }

    this.service = new ecs.FargateService(this, 'Service', {
      serviceName: name,
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      // No DesiredCount in the template: CloudFormation then leaves the count that autoscaling or `tier scale` set
      // on every update (ECS starts one task at creation; autoscaling raises it to minTasks at once).
      // Fargate spreads the tasks of a service over the subnets (one per AZ) it is given.
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.taskSecurityGroup],
      assignPublicIp: false,
      minHealthyPercent: SERVICE_DEFAULTS.minHealthyPercent,
      maxHealthyPercent: SERVICE_DEFAULTS.maxHealthyPercent,
      circuitBreaker: { enable: true, rollback: true },
      deploymentAlarms: {
        alarmNames: this.rollbackAlarms.map((a) => a.alarmName),
        behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
      },
      healthCheckGracePeriod: SERVICE_DEFAULTS.healthCheckGracePeriod,
      // No ECS Exec: AWS documents it as unsupported with a read-only root filesystem (the SSM agent writes to the
      // container's filesystem), and the images carry no shell. Operators use the one-off admin task instead
      // (services stack; https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html, Considerations).
      enableExecuteCommand: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
    });
    this.service.node.addDependency(...this.rollbackAlarms);
    this.service.attachToApplicationTargetGroup(this.targetGroup);
    // The listener rule must exist before ECS registers the service with the target group.
    this.service.node.addDependency(this.listener);

    const scaling = this.service.autoScaleTaskCount({ minCapacity: sizing.minTasks, maxCapacity: sizing.maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.cpuTargetPercent ?? 60,
      scaleInCooldown: SERVICE_DEFAULTS.scaleCooldown,
      scaleOutCooldown: SERVICE_DEFAULTS.scaleCooldown,
    });
    scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: props.requestsPerTarget ?? 1000,
      targetGroup: this.targetGroup,
      scaleInCooldown: SERVICE_DEFAULTS.scaleCooldown,
      scaleOutCooldown: SERVICE_DEFAULTS.scaleCooldown,
    });
  }

  /** Alarms ECS watches during a deployment; either one rolls the deployment back. */
  private createRollbackAlarms(name: string, topic: sns.ITopic): cloudwatch.Alarm[] {
    const period = Duration.minutes(1);
    const errorRate = new cloudwatch.MathExpression({
      label: '5xx rate (%)',
      expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
      usingMetrics: {
        errors: this.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
          period,
          statistic: 'Sum',
        }),
        requests: this.targetGroup.metrics.requestCount({ period, statistic: 'Sum' }),
      },
      period,
    });
    const alarms = [
      new cloudwatch.Alarm(this, 'ErrorRateAlarm', {
        alarmName: `${name}-5xx-rate`,
        alarmDescription: `More than ${SERVICE_DEFAULTS.max5xxRatePercent}% of ${name} responses are 5xx; rolls back a running deployment.`,
        metric: errorRate,
        threshold: SERVICE_DEFAULTS.max5xxRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'UnhealthyTargetsAlarm', {
        alarmName: `${name}-unhealthy-targets`,
        alarmDescription: `${name} has targets failing the readiness check; rolls back a running deployment.`,
        metric: this.targetGroup.metrics.unhealthyHostCount({ period, statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(new actions.SnsAction(topic));
      alarm.addOkAction(new actions.SnsAction(topic));
    }
    return alarms;
  }
}
