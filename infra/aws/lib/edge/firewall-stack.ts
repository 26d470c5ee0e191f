// The WAF web ACL in front of CloudFront: CLOUDFRONT scope, so this stack always lives in us-east-1.
import { ArnFormat, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { createManagedKey } from '../shared/keys.js';
import { EDGE_DEFAULTS } from './defaults.js';

export interface FirewallStackProps extends StackProps {
  readonly config: StageConfig;
}

export class FirewallStack extends Stack {
  readonly webAcl: wafv2.CfnWebACL;
  /** VisibilityConfig.MetricName of the web ACL: the WebACL dimension of its CloudWatch metrics. */
  readonly webAclMetricName: string;

  constructor(scope: Construct, id: string, props: FirewallStackProps) {
    super(scope, id, props);
    if (this.region !== 'us-east-1') {
      throw new Error(`The firewall stack must be deployed to us-east-1 (CLOUDFRONT scope), not ${this.region}.`);
    }
    const { config } = props;
    const name = `tier-${config.stage}-edge`;
    this.webAclMetricName = name;
    const visibility = (metricName: string) => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });

    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      {
        name: 'RateLimitPerIp',
        priority: 0,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: config.edge.rateLimitPer5Min, aggregateKeyType: 'IP' } },
        visibilityConfig: visibility('RateLimitPerIp'),
      },
      ...EDGE_DEFAULTS.managedRuleGroups.map((group, i) => ({
        name: group,
        priority: i + 1,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: group } },
        visibilityConfig: visibility(group),
      })),
    ];
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(name),
      rules,
    });

    // WAF logs to a log group whose name must start with aws-waf-logs-.
    const key = createManagedKey(this, 'WafLogKey', {
      alias: `${name}-waf-logs`,
      description: `WAF logs of ${name}`,
      forCloudWatchLogs: true,
    });
    const logGroupName = `aws-waf-logs-${name}`;
    const logGroup = new logs.LogGroup(this, 'WafLogs', {
      logGroupName,
      retention: config.observability.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [
        this.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    logging.node.addDependency(logGroup);
  }
}
