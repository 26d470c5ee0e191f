// CloudFront for both tiers: one distribution, cache policy per path, HTTPS to viewers, WAF, logs, origins locked.
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { StageConfig } from '../../config/index.js';
import { SERVICE_DEFAULTS } from '../services/defaults.js';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { emitOutputs } from '../shared/naming.js';
import { EDGE_DEFAULTS } from './defaults.js';

export interface EdgeStackProps extends StackProps {
  readonly config: StageConfig;
  readonly webLoadBalancer: elbv2.IApplicationLoadBalancer;
  readonly apiLoadBalancer: elbv2.IApplicationLoadBalancer;
  /** Secret whose value CloudFront sends as the origin-verify header. */
  readonly originVerifySecret: secretsmanager.ISecret;
  /** ARN of the CLOUDFRONT-scope web ACL (us-east-1). */
  readonly webAclArn: string;
  /** Literal name of the CloudFront access-log bucket (ACLs enabled) in the stage's region. */
  readonly logBucketName: string;
}

/**
 * CloudFront is global: the distribution is managed from the stage's region, next to the ALBs and the origin
 * secret (same-region references); only the WAF web ACL must come from us-east-1.
 */
export class EdgeStack extends Stack {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const prefix = `tier-${config.stage}`;
    const originHeaders = {
      [SERVICE_DEFAULTS.originVerifyHeader]: props.originVerifySecret.secretValue.unsafeUnwrap(),
    };
    // The ALBs are internal: CloudFront reaches them through VPC origins, over AWS's network into the VPC, never the
    // internet. No certificate without a domain, so HTTP inside the VPC; the prefix list and header still apply.
    const albOrigin = (alb: elbv2.IApplicationLoadBalancer, tier: string) =>
      origins.VpcOrigin.withApplicationLoadBalancer(alb, {
        vpcOriginName: `${prefix}-${tier}`,
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        customHeaders: originHeaders,
        keepaliveTimeout: Duration.seconds(30),
        readTimeout: Duration.seconds(30),
      });
    const web = albOrigin(props.webLoadBalancer, 'web');
    const api = albOrigin(props.apiLoadBalancer, 'api');

    const pages = new cloudfront.CachePolicy(this, 'PagePolicy', {
      cachePolicyName: `${prefix}-pages`,
      comment: 'HTML: origin Cache-Control decides, at most a minute; no cookies in the key',
      defaultTtl: Duration.seconds(0),
      minTtl: Duration.seconds(0),
      maxTtl: EDGE_DEFAULTS.pageMaxTtl,
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    const assets = new cloudfront.CachePolicy(this, 'AssetPolicy', {
      cachePolicyName: `${prefix}-assets`,
      comment:
        'Assets: origin Cache-Control decides (a year when fingerprinted); no cookies, headers or query in the key',
      defaultTtl: EDGE_DEFAULTS.longCacheTtl,
      // 0, so the origin's max-age=60 on plain asset paths holds: a MinTTL above 0 overrides Cache-Control (even
      // no-store) per CachePolicyConfig in the CloudFront API reference. Fingerprinted paths say a year themselves.
      minTtl: Duration.seconds(0),
      maxTtl: EDGE_DEFAULTS.longCacheTtl,
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    const assetBehavior: cloudfront.BehaviorOptions = {
      origin: web,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: assets,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      compress: true,
      responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
    };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${prefix} web and api`,
      priceClass: config.edge.priceClass as cloudfront.PriceClass,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      webAclId: props.webAclArn,
      enableLogging: true,
      // Imported by literal name: CloudFront's Logging.Bucket is then a plain string the policy checks can read.
      logBucket: s3.Bucket.fromBucketAttributes(this, 'LogBucket', {
        bucketName: props.logBucketName,
        bucketRegionalDomainName: `${props.logBucketName}.s3.${config.region}.amazonaws.com`,
      }),
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: web,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: pages,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        // The guestbook form POSTs to / and /messages. CloudFront offers GET+HEAD, +OPTIONS, or all seven methods;
        // only GET and HEAD are cached, and the web tier answers 404 to the methods it has no route for.
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        compress: true,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      additionalBehaviors: {
        [EDGE_DEFAULTS.apiPathPattern]: {
          origin: api,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          compress: true,
        },
        ...Object.fromEntries(EDGE_DEFAULTS.longCachePaths.map((p) => [p, assetBehavior])),
      },
    });
    // Cache hit rate and error-rate-by-status metrics need the additional metrics subscription.
    new cloudfront.CfnMonitoringSubscription(this, 'AdditionalMetrics', {
      distributionId: this.distribution.distributionId,
      monitoringSubscription: { realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: 'Enabled' } },
    });
    acknowledge(
      this.distribution,
      'The application serves a global audience; abuse is handled by the WAF rate limit and IP reputation list, not by blocking countries.',
      'AwsSolutions-CFR1',
    );
    acknowledge(
      this.distribution,
      'No custom domain is configured yet, so viewers get the default *.cloudfront.net certificate (TLS policy fixed by CloudFront). Adding a domain and ACM certificate in config replaces this.',
      'AwsSolutions-CFR4',
      guard('cloudfront_custom_ssl_certificate_check'),
      guard('cloudfront_sni_enabled_check'),
      guard('cloudfront_security_policy_check'),
    );
    acknowledge(
      this.distribution,
      'Without an origin certificate (no domain yet) the VPC origins reach the internal ALBs over HTTP inside the VPC (not the internet); the ALBs accept only CloudFront addresses carrying the secret header.',
      'AwsSolutions-CFR5',
      guard('cloudfront_traffic_to_origin_encrypted_check'),
    );
    acknowledge(
      this.distribution,
      "The web tier renders '/' itself; a default root object would rewrite it to a file that does not exist.",
      guard('cloudfront_default_root_object_configured_check'),
    );
    acknowledge(
      this.distribution,
      'Each path has a single origin (one ALB per tier across 2-3 AZs); origin groups fail over GET/HEAD only and a second region is out of scope.',
      guard('cloudfront_origin_failover_enabled_check'),
    );

    emitOutputs(this, config.stage, 'edge', {
      DistributionDomainName: this.distribution.distributionDomainName,
      DistributionId: this.distribution.distributionId,
    });
  }
}
