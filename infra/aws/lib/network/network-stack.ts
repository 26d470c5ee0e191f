// The network of one stage: VPC over 2-3 AZs, three subnet tiers, NAT, flow logs, S3 endpoint, security groups.
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { createManagedKey } from '../shared/keys.js';
import { NETWORK_DEFAULTS } from './defaults.js';
import { SecurityGroupChain } from './security-groups.js';

export interface NetworkStackProps extends StackProps {
  readonly config: StageConfig;
  /** Prefix list of CloudFront's origin-facing addresses in this region. */
  readonly cloudFrontPrefixListId: string;
}

export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly securityGroups: SecurityGroupChain;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.vpcCidr),
      maxAzs: config.maxAzs,
      natGateways: config.natGateways,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        // No auto-assigned public IPs: only the NAT gateways (EIPs) live here; the ALBs are internal (app subnets).
        {
          name: 'public',
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: NETWORK_DEFAULTS.publicCidrMask,
          mapPublicIpOnLaunch: false,
        },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: NETWORK_DEFAULTS.privateCidrMask },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: NETWORK_DEFAULTS.isolatedCidrMask },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    for (const subnet of this.vpc.publicSubnets) {
      acknowledge(
        subnet,
        'Public subnets hold the NAT gateways; the route to the internet gateway makes them public, and CloudFront VPC origins require that gateway on the VPC.',
        'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
      );
    }

    const flowLogKey = createManagedKey(this, 'FlowLogKey', {
      alias: `tier-${config.stage}-flow-logs`,
      description: `VPC flow logs of tier-${config.stage}`,
      forCloudWatchLogs: true,
    });
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: config.observability.logRetentionDays as logs.RetentionDays,
      encryptionKey: flowLogKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const flowLog = this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    acknowledge(
      flowLog,
      'CDK-generated policy of the flow-log delivery role: write access to this one log group, used by nothing else.',
      'NIST.800.53.R5-IAMNoInlinePolicy',
    );
    const restrictDefaultSg = this.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (restrictDefaultSg) {
      acknowledge(
        restrictDefaultSg,
        'CDK-provided one-shot function that strips the rules of the default security group at deploy time; it calls only the EC2 API and needs no VPC placement.',
        guard('lambda_inside_vpc_check'),
      );
    }

    this.securityGroups = new SecurityGroupChain(this, 'SecurityGroups', {
      vpc: this.vpc,
      cloudFrontPrefixListId: props.cloudFrontPrefixListId,
    });
  }
}
