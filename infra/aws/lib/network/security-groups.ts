// The security-group chain of the platform, in one place: CloudFront -> ALBs -> tasks -> database.
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { NETWORK_DEFAULTS } from './defaults.js';

export interface SecurityGroupChainProps {
  readonly vpc: ec2.IVpc;
  /** Managed prefix list `com.amazonaws.global.cloudfront.origin-facing` of the region (pl-...). */
  readonly cloudFrontPrefixListId: string;
  /** Public port of the tiers. @default 3000 */
  readonly appPort?: number;
  /** Admin port (health, metrics) of the tiers; only the ALB health checks reach it. @default 9100 */
  readonly adminPort?: number;
  /** PostgreSQL port. @default 5432 */
  readonly databasePort?: number;
}

/**
 * Security groups with no default egress to the world where none is needed, chained tier by tier:
 * CloudFront (prefix list) -> web ALB -> web tasks -> api ALB; CloudFront -> api ALB -> api tasks -> db; the smoke
 * test -> each ALB's test listener.
 */
export class SecurityGroupChain extends Construct {
  readonly webAlb: ec2.SecurityGroup;
  readonly apiAlb: ec2.SecurityGroup;
  readonly webTasks: ec2.SecurityGroup;
  readonly apiTasks: ec2.SecurityGroup;
  readonly database: ec2.SecurityGroup;
  /** The API user's secret rotation function: to PostgreSQL, and to Secrets Manager through NAT. */
  readonly secretRotation: ec2.SecurityGroup;
  /** The pre-traffic smoke test (an ECS lifecycle hook): to the ALBs' test listeners, nothing else. */
  readonly smokeTests: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SecurityGroupChainProps) {
    super(scope, id);
    if (!/^pl-[0-9a-f]{8,17}$/.test(props.cloudFrontPrefixListId)) {
      throw new Error(
        `cloudFrontPrefixListId "${props.cloudFrontPrefixListId}" is not a prefix list id: look it up with ` +
          '`aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing`.',
      );
    }
    const appPort = props.appPort ?? NETWORK_DEFAULTS.appPort;
    const adminPort = props.adminPort ?? NETWORK_DEFAULTS.adminPort;
    const dbPort = props.databasePort ?? NETWORK_DEFAULTS.databasePort;
    const listener = ec2.Port.tcp(NETWORK_DEFAULTS.albListenerPort);
    const testListener = ec2.Port.tcp(NETWORK_DEFAULTS.albTestListenerPort);
    const sg = (name: string, description: string, allowAllOutbound: boolean) =>
      new ec2.SecurityGroup(this, name, { vpc: props.vpc, description, allowAllOutbound });

    this.webAlb = sg('WebAlb', 'web ALB: CloudFront origin-facing only', false);
    this.apiAlb = sg('ApiAlb', 'api ALB: CloudFront origin-facing and the web tasks', false);
    // Tasks reach ECR, Secrets Manager and CloudWatch through NAT/endpoints, so they keep egress.
    this.webTasks = sg('WebTasks', 'web tasks: from the web ALB only', true);
    this.apiTasks = sg('ApiTasks', 'api tasks: from the api ALB only', true);
    this.database = sg('Database', 'PostgreSQL: from the api tasks only', false);
    this.secretRotation = sg('SecretRotation', 'API user secret rotation: to PostgreSQL and Secrets Manager', true);
    this.smokeTests = sg('SmokeTests', 'pre-traffic smoke test: to the ALB test listeners only', false);

    const cloudFront = ec2.Peer.prefixList(props.cloudFrontPrefixListId);
    this.webAlb.addIngressRule(cloudFront, listener, 'CloudFront origin-facing to web ALB');
    this.apiAlb.addIngressRule(cloudFront, listener, 'CloudFront origin-facing to api ALB');

    for (const [alb, tasks, tier] of [
      [this.webAlb, this.webTasks, 'web'],
      [this.apiAlb, this.apiTasks, 'api'],
    ] as const) {
      // Traffic and the health check (/readyz on the admin port) are the only ALB -> task flows.
      alb.addEgressRule(tasks, ec2.Port.tcp(appPort), `${tier} ALB to ${tier} tasks (traffic)`);
      alb.addEgressRule(tasks, ec2.Port.tcp(adminPort), `${tier} ALB to ${tier} tasks (health check)`);
      tasks.addIngressRule(alb, ec2.Port.tcp(appPort), `${tier} ALB traffic`);
      tasks.addIngressRule(alb, ec2.Port.tcp(adminPort), `${tier} ALB health check on the admin port`);
    }
    // Server-side rendering calls the API through its balancer (same hops as locally), on the listener port only.
    this.apiAlb.addIngressRule(this.webTasks, listener, 'web tasks to api ALB (server-side calls)');
    // Only the smoke test reaches a test listener, which ECS points at a new version before production traffic moves.
    for (const [alb, tier] of [
      [this.webAlb, 'web'],
      [this.apiAlb, 'api'],
    ] as const) {
      this.smokeTests.addEgressRule(alb, testListener, `smoke test to the ${tier} ALB test listener`);
      alb.addIngressRule(this.smokeTests, testListener, `smoke test to the ${tier} ALB test listener`);
    }
    this.database.addIngressRule(this.apiTasks, ec2.Port.tcp(dbPort), 'api tasks to PostgreSQL');
    this.database.addIngressRule(this.secretRotation, ec2.Port.tcp(dbPort), 'secret rotation to PostgreSQL');
  }
}
