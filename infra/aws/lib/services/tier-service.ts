// One application tier on Fargate behind its own ALB: task, canary-deployed service, blue/green target groups, test
// listener, scaling and rollback alarms.
import { Duration, Size } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
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
import { ALARM_DEFAULTS } from '../monitoring/defaults.js';
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
  /** The target groups ECS swaps at each deployment: either one may be the live one (the other is empty). */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly alternateTargetGroup: elbv2.ApplicationTargetGroup;
  readonly listener: elbv2.ApplicationListener;
  /** Forwards to the new version's tasks before production does (the pre-traffic smoke test). */
  readonly testListener: elbv2.ApplicationListener;
  readonly productionRule: elbv2.ApplicationListenerRule;
  readonly testRule: elbv2.ApplicationListenerRule;
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

    // Two target groups for ECS blue/green: at each deployment the new version's tasks register in the group the
    // old version does not use, and ECS moves the listener rules' weights to it. Either group may be the live one.
    const targetGroup = (id: string) =>
      new elbv2.ApplicationTargetGroup(this, id, {
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
    this.targetGroup = targetGroup('Targets');
    this.alternateTargetGroup = targetGroup('AlternateTargets');
    // The weights ECS starts from and then owns: a template change to these rules writes them back (see README).
    const bothGroups = () =>
      elbv2.ListenerAction.weightedForward([
        { targetGroup: this.targetGroup, weight: 100 },
        { targetGroup: this.alternateTargetGroup, weight: 0 },
      ]);
    const unmatched = () =>
      elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' });

    // With a header value only CloudFront knows, anything else reaching the listener gets 403.
    this.listener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: unmatched(),
    });
    // The test listener: ECS points its rule at the new version's tasks before any production request reaches them;
    // only the smoke test's security group may connect to it.
    this.testListener = this.loadBalancer.addListener('Test', {
      port: SERVICE_DEFAULTS.testListenerPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: unmatched(),
    });
    for (const listener of [this.listener, this.testListener]) {
      acknowledge(
        listener,
        'No domain or certificate is configured, so the CloudFront VPC origin (and, for the api, the web tasks; on the test listener the smoke test) connect to this internal ALB over HTTP inside the VPC; its security group admits only those, viewers always use HTTPS at the edge.',
        'NIST.800.53.R5-ALBHttpToHttpsRedirection',
        'NIST.800.53.R5-ELBv2ACMCertificateRequired',
        guard('alb_http_to_https_redirection_check'),
      );
    }
    // Scoped under the listener with the id addAction gave it, so the production rule keeps its logical id.
    this.productionRule = new elbv2.ApplicationListenerRule(this.listener, 'ForwardRule', {
      listener: this.listener,
      priority: 10,
      conditions: [
        props.originVerifyValue
          ? elbv2.ListenerCondition.httpHeader(SERVICE_DEFAULTS.originVerifyHeader, [props.originVerifyValue])
          : elbv2.ListenerCondition.pathPatterns(['/*']),
      ],
      action: bothGroups(),
    });
    this.testRule = new elbv2.ApplicationListenerRule(this.testListener, 'ForwardRule', {
      listener: this.testListener,
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
      action: bothGroups(),
    });

    this.rollbackAlarms = this.createRollbackAlarms(name, tier, props.alarmTopic);
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
      // ECS native canary: test traffic first (the smoke test hook, services stack), then canaryPercent of production
      // for canaryBakeTime, then all of it; the old tasks stay for bakeTime. The rollback alarms watch throughout.
      deploymentStrategy: ecs.DeploymentStrategy.CANARY,
      canaryConfiguration: {
        stepPercent: SERVICE_DEFAULTS.canaryPercent,
        stepBakeTime: SERVICE_DEFAULTS.canaryBakeTime,
      },
      bakeTime: SERVICE_DEFAULTS.bakeTime,
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
    this.service
      .loadBalancerTarget({
        containerName: tier,
        containerPort: SERVICE_DEFAULTS.appPort,
        alternateTarget: new ecs.AlternateTarget('AlternateTarget', {
          alternateTargetGroup: this.alternateTargetGroup,
          productionListener: ecs.ListenerRuleConfiguration.applicationListenerRule(this.productionRule),
          testListener: ecs.ListenerRuleConfiguration.applicationListenerRule(this.testRule),
        }),
      })
      .attachToApplicationTargetGroup(this.targetGroup);
    acknowledge(
      this.service.node.findChild('AlternateTargetRole'),
      'The AWS-managed policy ECS documents for the infrastructure role of blue/green load balancing: it moves the listener rules between the two target groups and registers the tasks; it is attached to this one role.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
    );
    // The listener rules must exist before ECS registers the service with the target groups.
    this.service.node.addDependency(this.productionRule, this.testRule);

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
    this.trackRequestsOfBothGroups();
  }

  /**
   * The predefined ALBRequestCountPerTarget reads one target group, and after a deployment the live one may be the
   * other: the policy tracks the sum of both groups' requests per target instead (metric math, which the CloudFormation
   * resource takes and the CDK's target tracking does not). Outside a deployment one group has no requests; during a
   * canary both hold the full task count, so the sum is the tier's requests per task.
   */
  private trackRequestsOfBothGroups(): void {
    const policy = this.node
      .findAll()
      .find(
        (c): c is appscaling.CfnScalingPolicy =>
          c instanceof appscaling.CfnScalingPolicy && c.node.path.endsWith('/Requests/Resource'),
      );
    if (!policy) throw new Error(`${this.node.path}: the request-count scaling policy was not created`);
    const perTarget = (id: string, tg: elbv2.ApplicationTargetGroup) => {
      const stat = tg.metrics.requestCountPerTarget({ period: Duration.minutes(1) }).toMetricConfig().metricStat;
      if (!stat) throw new Error('RequestCountPerTarget is a plain metric');
      return {
        Id: id,
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: stat.namespace,
            MetricName: stat.metricName,
            Dimensions: (stat.dimensions ?? []).map((d) => ({ Name: d.name, Value: d.value })),
          },
          Stat: 'Sum',
        },
      };
    };
    policy.addPropertyDeletionOverride('TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification');
    policy.addPropertyOverride('TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification', {
      Metrics: [
        perTarget('primary', this.targetGroup),
        perTarget('alternate', this.alternateTargetGroup),
        {
          Id: 'perTarget',
          Label: 'requests per target, both target groups',
          Expression: 'FILL(primary, 0) + FILL(alternate, 0)',
          ReturnData: true,
        },
      ],
    });
  }

  /**
   * Alarms ECS watches during a deployment; any one rolls it back. Each judges the new version against the one it
   * replaces without knowing which target group holds which: during the canary the new version is the group with
   * fewer requests; once it has all of them, the old group has none and the new one is judged on its own figures. A
   * group below the volume guard is not judged (1 failure in 3 requests is noise).
   */
  private createRollbackAlarms(name: string, tier: string, topic: sns.ITopic): cloudwatch.Alarm[] {
    const d = SERVICE_DEFAULTS;
    const period = ALARM_DEFAULTS.period;
    const minRequests = ALARM_DEFAULTS.tier.minRequestsPerMinute;
    const p99Limit = ALARM_DEFAULTS.tier.p99LatencySeconds[tier] ?? 1;
    const groups = { a: this.targetGroup.metrics, b: this.alternateTargetGroup.metrics };
    const requests = (m: elbv2.IApplicationTargetGroupMetrics) => m.requestCount({ period, statistic: 'Sum' });
    // Per group x: enough requests to judge, and its 5xx rate in percent (0 when not judged).
    const judged = (x: string) => `(FILL(req${x}, 0) >= ${minRequests})`;
    const rate = (x: string) => `IF(${judged(x)}, 100 * FILL(err${x}, 0) / FILL(req${x}, 1), 0)`;
    const both = `(${judged('A')} AND ${judged('B')})`;
    const aIsNew = '(FILL(reqA, 0) <= FILL(reqB, 0))';
    const errorRegression = `IF(${both}, IF(${aIsNew}, ${rate('A')} - ${rate('B')}, ${rate('B')} - ${rate('A')}), IF(${rate('A')} > ${rate('B')}, ${rate('A')}, ${rate('B')}))`;
    const p99 = (x: string) => `FILL(p99${x}, 0)`;
    const newP99 = `IF(${both}, IF(${aIsNew}, ${p99('A')}, ${p99('B')}), IF(${judged('A')}, ${p99('A')}, IF(${judged('B')}, ${p99('B')}, 0)))`;
    const oldLimit = `${d.maxLatencyRatio} * IF(${both}, IF(${aIsNew}, ${p99('B')}, ${p99('A')}), 0)`;
    const latencyOverLimit = `${newP99} - IF(${oldLimit} > ${p99Limit}, ${oldLimit}, ${p99Limit})`;
    const alarm = (id: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'>) =>
      new cloudwatch.Alarm(this, id, {
        evaluationPeriods: d.rollbackMinutes,
        datapointsToAlarm: d.rollbackMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
    const alarms = [
      alarm('ErrorRateAlarm', {
        alarmName: `${name}-5xx-rate`,
        alarmDescription: `The new version of ${name} answers more than ${d.maxErrorRegressionPoints} points more 5xx than the version it replaces (or, serving alone, more than ${d.maxErrorRegressionPoints}%) for ${d.rollbackMinutes} minutes, at ${minRequests}+ requests a minute; rolls back a running deployment.`,
        metric: new cloudwatch.MathExpression({
          label: '5xx rate of the new version above the old one (points)',
          expression: errorRegression,
          usingMetrics: {
            reqA: requests(groups.a),
            reqB: requests(groups.b),
            errA: groups.a.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum' }),
            errB: groups.b.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum' }),
          },
          period,
        }),
        threshold: d.maxErrorRegressionPoints,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      alarm('LatencyAlarm', {
        alarmName: `${name}-p99-latency`,
        alarmDescription: `The new version of ${name} has a p99 above ${p99Limit} s and above ${d.maxLatencyRatio} times the p99 of the version it replaces for ${d.rollbackMinutes} minutes; rolls back a running deployment.`,
        metric: new cloudwatch.MathExpression({
          label: 'p99 of the new version above its limit (s)',
          expression: latencyOverLimit,
          usingMetrics: {
            reqA: requests(groups.a),
            reqB: requests(groups.b),
            p99A: groups.a.targetResponseTime({ period, statistic: 'p99' }),
            p99B: groups.b.targetResponseTime({ period, statistic: 'p99' }),
          },
          period,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      alarm('UnhealthyTargetsAlarm', {
        alarmName: `${name}-unhealthy-targets`,
        alarmDescription: `${name} has targets failing the readiness check (either target group); rolls back a running deployment.`,
        metric: new cloudwatch.MathExpression({
          label: 'unhealthy targets, both target groups',
          expression: 'FILL(unhealthyA, 0) + FILL(unhealthyB, 0)',
          usingMetrics: {
            unhealthyA: groups.a.unhealthyHostCount({ period, statistic: 'Maximum' }),
            unhealthyB: groups.b.unhealthyHostCount({ period, statistic: 'Maximum' }),
          },
          period,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
    ];
    for (const a of alarms) {
      a.addAlarmAction(new actions.SnsAction(topic));
      a.addOkAction(new actions.SnsAction(topic));
    }
    return alarms;
  }
}
